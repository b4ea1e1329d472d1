package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/isogate/isogate/policy"
)

// seedMessages are the decoder's seeds: every shape of message, good and bad.
var seedMessages = []string{
	`{"type":"invoke","id":1,"kind":"command","name":"demo.greet","args":{"name":"Ada"}}`,
	`{"type":"invoke","id":2,"kind":"listen","name":"demo.tick","args":null}`,
	`{"type":"invoke","id":3,"kind":"event","name":"demo.clicked","args":{"button":"x"}}`,
	`{"type":"invoke","id":4,"kind":"command","name":"x","args":{"big":123456789012345678901234567890}}`,
	`{"type":"invoke","id":5,"kind":"command","name":"x","args":{"a":1,"a":2}}`,
	`{"type":"invoke","id":6,"kind":"command","name":"x","args":[[[[[[[[[[1]]]]]]]]]]}`,
	`{"type":"invoke","id":7,"kind":"command","name":"../x","args":null}`,
	"{\"type\":\"invoke\",\"id\":8,\"kind\":\"command\",\"name\":\"x\",\"args\":\"\xff\"}",
	`{"type":"invoke","id":9,"kind":"command","name":"x","args":{"data":null},"bin":[{"path":"/data","len":3}]}`,
	`{"type":"reply","id":1,"ok":true}`,
	`[]`, `null`, ``,
	`{"type":"batch","messages":[{"type":"invoke","id":1,"kind":"command","name":"demo.greet","args":{"name":"Ada"}},{"type":"invoke","id":2,"kind":"listen","name":"demo.tick","args":null}]}`,
	`{"type":"batch","messages":[{"type":"invoke","id":1,"kind":"command","name":"x","args":1,"evil":1},{"type":"invoke","id":1,"kind":"command","name":"x","args":1}]}`,
	`{"type":"batch","messages":[{"type":"batch","messages":[]}]}`,
}

func seeds(f *testing.F, list []string) {
	if len(list) == 0 {
		f.Fatal("no seeds")
	}
	for _, s := range list {
		f.Add([]byte(s))
	}
}

// FuzzDecodeMessage: the strict decoder never panics, what it accepts is
// well formed (every message of a batch), and it decides the same way twice.
func FuzzDecodeMessage(f *testing.F) {
	seeds(f, seedMessages)
	f.Add(joinPlaintext([]byte(seedMessages[8]), [][]byte{[]byte("abc")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		d1, err1 := decodeFrame(b, Limits{MaxDepth: 8}.withDefaults())
		d2, err2 := decodeFrame(b, Limits{MaxDepth: 8}.withDefaults())
		if (err1 == nil) != (err2 == nil) || !reflect.DeepEqual(d1, d2) {
			t.Fatalf("decoded differently twice: %v / %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		if len(d1) == 0 {
			t.Fatal("a frame of no message decoded")
		}
		ids := map[uint64]bool{}
		for _, d := range d1 {
			m := d.m
			if m == nil || m.ID == 0 || (len(d1) > 1 && ids[m.ID]) {
				t.Fatalf("a message without a usable id, or twice the same id in a batch: %+v", d1)
			}
			ids[m.ID] = true
			if d.err != nil {
				if d.err.Code != CodeInvalidArgs && d.err.Code != CodeTooLarge {
					t.Fatalf("a message refused with %q", d.err.Code)
				}
				continue // answered by id
			}
			if len(d1) > MaxBatchMessages {
				t.Fatalf("a message of a %d-message frame accepted", len(d1))
			}
			if !policy.NamePattern.MatchString(m.Name) {
				t.Fatalf("accepted a malformed message: %+v", m)
			}
			if len(d1) > 1 && len(m.Bins) > 0 {
				t.Fatal("accepted binary values inside a batch")
			}
			switch m.Kind {
			case policy.KindCommand, policy.KindEvent:
			case policy.KindListen:
				if m.Args != nil {
					t.Fatal("accepted a listen with args")
				}
			default:
				t.Fatalf("accepted kind %q", m.Kind)
			}
		}
	})
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// FuzzStdioUpstreamOutput feeds arbitrary backend output to the stdio
// reader with one call in flight: no panic; the call gets a result, a
// handler_error or unavailable; garbage ends the read with an error.
func FuzzStdioUpstreamOutput(f *testing.F) {
	seeds(f, []string{
		`{"jsonrpc":"2.0","id":1,"result":{"ok":true}}` + "\n",
		`{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"no"}}` + "\n",
		`{"jsonrpc":"2.0","method":"isogate.emit","params":{"event":"e","payload":1}}` + "\n" + `{"jsonrpc":"2.0","id":1,"result":2}` + "\n",
		"garbage\n", `{"jsonrpc":"1.0","id":1,"result":1}` + "\n", `{"jsonrpc":"2.0","id":1}` + "\n",
	})
	f.Fuzz(func(t *testing.T, out []byte) {
		u := NewStdioUpstream([]string{"none"}, io.Discard, func(Target, string, any) int { return 0 }, discard)
		ch := make(chan rpcMessage, 1)
		u.pending[1] = ch
		readErr := u.read(bytes.NewReader(out))
		select {
		case m := <-ch:
			if _, err := m.outcome(); err != nil {
				var e *Error
				if !errors.As(err, &e) || (e.Code != CodeHandler && e.Code != CodeUnavailable) {
					t.Fatalf("outcome error %v outside the documented set", err)
				}
			}
		default:
			_ = readErr // no answer for the call: the core fails it unavailable when the child goes
		}
	})
}

// FuzzHTTPUpstreamReply: whatever an HTTP backend answers, Call returns a
// result or an *Error with handler_error or unavailable.
func FuzzHTTPUpstreamReply(f *testing.F) {
	seeds(f, []string{
		`{"jsonrpc":"2.0","id":1,"result":{"ok":true}}`,
		`[{"jsonrpc":"2.0","method":"isogate.emit","params":{"event":"e","payload":1}},{"jsonrpc":"2.0","id":1,"result":2}]`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"no"}}`,
		`{"jsonrpc":"2.0","id":2,"result":1}`, `[]`, `not json`,
	})
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	u := NewHTTPUpstream(srv.URL, func(Target, string, any) int { return 0 }, discard)
	f.Fuzz(func(t *testing.T, b []byte) {
		body = b
		u.nextID.Store(0) // every call is id 1, as the seeds expect
		res, err := u.Call(context.Background(), "m", nil)
		if err == nil {
			if !json.Valid(res) {
				t.Fatalf("result %q is not JSON", res)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || (e.Code != CodeHandler && e.Code != CodeUnavailable) {
			t.Fatalf("error %v outside the documented set", err)
		}
	})
}
