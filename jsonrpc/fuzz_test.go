package jsonrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/isogate/isogate/codes"

	"github.com/isogate/isogate/core"
)

func seeds(f *testing.F, list ...string) {
	for _, s := range list {
		f.Add([]byte(s))
	}
}

// expectRead is what the stdio reader must make of out, line by line, with
// call 1 in flight: the first response to id 1 before any garbage is the
// call's, and garbage (a line that is not JSON-RPC 2.0, or a response
// without an id) ends the read with an error.
func expectRead(out []byte) (reply *message, garbage bool) {
	for _, line := range bytes.Split(out, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var m message
		if err := json.Unmarshal(line, &m); err != nil || m.JSONRPC != "2.0" {
			return reply, true
		}
		if m.ID == nil && m.Method != "" {
			continue // a notification
		}
		if m.ID == nil {
			return reply, true
		}
		if *m.ID == 1 && reply == nil {
			reply = &m
		}
	}
	return reply, false
}

// FuzzStdioOutput feeds arbitrary backend output to the stdio reader with
// one call in flight. The properties: no panic; the read ends with an error
// exactly when the output holds garbage; the call gets exactly the first
// response to its id that came before the garbage, and its outcome is a
// result, a handler_error carrying the backend's message, or unavailable.
func FuzzStdioOutput(f *testing.F) {
	seeds(f,
		`{"jsonrpc":"2.0","id":1,"result":{"ok":true}}`+"\n",
		`{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"no"}}`+"\n",
		`{"jsonrpc":"2.0","method":"isogate.emit","params":{"event":"e","payload":1}}`+"\n"+`{"jsonrpc":"2.0","id":1,"result":2}`+"\n",
		"garbage\n", `{"jsonrpc":"1.0","id":1,"result":1}`+"\n", `{"jsonrpc":"2.0","id":1}`+"\n",
		`{"jsonrpc":"2.0","id":2,"result":1}`+"\n"+`{"jsonrpc":"2.0","result":1}`+"\n",
	)
	f.Fuzz(func(t *testing.T, out []byte) {
		if len(out) > MaxReply {
			return // one line past the scanner's bound is garbage too; not worth the memory here
		}
		u := NewStdio([]string{"none"}, nil, discard)
		u.emit = noEmit
		ch := make(chan message, 1)
		u.pending[1] = ch
		readErr := u.read(bytes.NewReader(out))
		want, garbage := expectRead(out)
		if (readErr != nil) != garbage {
			t.Fatalf("read error %v, want one: %v", readErr, garbage)
		}
		select {
		case m := <-ch:
			if want == nil {
				t.Fatalf("the call got %+v, but no response to it came before the garbage", m)
			}
			got, gotErr := m.outcome()
			exp, expErr := want.outcome()
			if !bytes.Equal(got, exp) || (gotErr == nil) != (expErr == nil) || (gotErr != nil && gotErr.Error() != expErr.Error()) {
				t.Fatalf("outcome %q %v, want %q %v", got, gotErr, exp, expErr)
			}
			var e *core.Error
			if gotErr != nil && (!errors.As(gotErr, &e) || (e.Code != codes.HandlerError && e.Code != codes.Unavailable)) {
				t.Fatalf("outcome error %v outside the documented set", gotErr)
			}
		default:
			if want != nil {
				t.Fatalf("the response %+v did not reach the call", want)
			}
		}
	})
}

// FuzzHTTPReply: whatever an HTTP backend answers, Call returns valid JSON
// or an *Error with handler_error or unavailable.
func FuzzHTTPReply(f *testing.F) {
	seeds(f,
		`{"jsonrpc":"2.0","id":1,"result":{"ok":true}}`,
		`[{"jsonrpc":"2.0","method":"isogate.emit","params":{"event":"e","payload":1}},{"jsonrpc":"2.0","id":1,"result":2}]`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"no"}}`,
		`{"jsonrpc":"2.0","id":2,"result":1}`, `[]`, `not json`,
	)
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	u := NewHTTP(srv.URL, nil, discard)
	u.Start(context.Background(), noEmit)
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
		var e *core.Error
		if !errors.As(err, &e) || (e.Code != codes.HandlerError && e.Code != codes.Unavailable) {
			t.Fatalf("error %v outside the documented set", err)
		}
	})
}
