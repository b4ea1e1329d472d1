package fuzz

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/isogate/isogate/codes"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/core"
	"github.com/isogate/isogate/internal/frameclient"
	"github.com/isogate/isogate/jsonrpc"
	"github.com/isogate/isogate/policy"
)

// documented is every code a call may be rejected with.
var documented = map[codes.Code]bool{
	codes.Denied: true, codes.InvalidArgs: true, codes.UnknownCommand: true, codes.HookRejected: true,
	codes.TooLarge: true, codes.RateLimited: true, codes.Timeout: true, codes.HandlerError: true,
	codes.Unavailable: true,
}

const fuzzPolicy = `package isogate

allow if input.name in {"f.echo", "f.up"}

deny contains "no secrets" if input.args.secret
`

// live is one core shared by a fuzz target's iterations, with an HTTP
// upstream whose answer the backend fuzzer sets.
type live struct {
	core    *core.Core
	frame   *frameclient.Frame
	mu      sync.Mutex
	backend []byte
}

func start(f *testing.F) *live {
	l := &live{backend: []byte(`{"jsonrpc":"2.0","id":1,"result":"ok"}`)}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID int64 `json:"id"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		l.mu.Lock()
		b := l.backend
		l.mu.Unlock()
		// The fuzzed answer, with "ID" standing for the call's id.
		w.Write(replaceID(b, req.ID))
	}))
	f.Cleanup(up.Close)
	p, err := policy.Load(context.Background(), fstest.MapFS{
		"p.rego":              {Data: []byte(fuzzPolicy)},
		"schemas/f.echo.json": {Data: []byte(`{"type":"object"}`)},
		"schemas/f.up.json":   {Data: []byte(`{}`)},
	})
	if err != nil {
		f.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := core.New(core.Config{App: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}}, Policy: p, Logger: log,
		Limits:   core.Limits{RatePerSecond: 1 << 20, RateBurst: 1 << 20, CallTimeout: 5 * time.Second},
		Upstream: jsonrpc.NewHTTP(up.URL, nil, log)})
	if err != nil {
		f.Fatal(err)
	}
	c.Handle("f.echo", func(_ context.Context, a any) (any, error) { return a, nil })
	ctx, cancel := context.WithCancel(context.Background())
	go c.Serve(ctx)
	f.Cleanup(cancel)
	l.core = c
	if l.frame, err = frameclient.Load(c.URL()); err != nil {
		f.Fatal(err)
	}
	return l
}

func replaceID(b []byte, id int64) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if i+4 <= len(b) && string(b[i:i+4]) == `"ID"` {
			out = append(out, []byte(json.Number(itoa(id)))...)
			i += 3
			continue
		}
		out = append(out, b[i])
	}
	return out
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func (l *live) conn(t *testing.T) *websocket.Conn {
	c, err := l.frame.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var nextID = 1000

// healthy checks that a valid call still works: nothing the fuzzer did left
// the session, the core or the connection handling broken.
func (l *live) healthy(t *testing.T) {
	t.Helper()
	c := l.conn(t)
	defer c.CloseNow()
	nextID++
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := l.frame.Send(ctx, c, frameclient.Invoke(nextID, "f.echo", `{"ok":1}`)); err != nil {
		t.Fatal(err)
	}
	r, err := l.frame.Recv(ctx, c)
	if err != nil || !r.OK || r.ID != nextID {
		t.Fatalf("a valid call after the fuzzed input: %+v %v", r, err)
	}
}

func seedsFromVectors(f *testing.F) [][]byte {
	b, err := os.ReadFile("../crypto/testdata/vectors.json")
	if err != nil {
		f.Fatal(err)
	}
	var vs []struct{ Frame, Plaintext string }
	json.Unmarshal(b, &vs)
	var out [][]byte
	for _, v := range vs {
		fr, _ := hex.DecodeString(v.Frame)
		pt, _ := hex.DecodeString(v.Plaintext)
		out = append(out, fr, pt)
	}
	if len(out) == 0 {
		f.Fatal("no seeds: crypto/testdata/vectors.json is empty")
	}
	return out
}

// FuzzTransportFrame writes arbitrary frames into a live session: each one
// is refused (the connection closes, nothing runs), and a valid call works
// right after.
func FuzzTransportFrame(f *testing.F) {
	for _, s := range seedsFromVectors(f) {
		f.Add(s)
	}
	l := start(f)
	f.Fuzz(func(t *testing.T, frame []byte) {
		c := l.conn(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Write(ctx, websocket.MessageBinary, frame)
		_, _, err := c.Read(ctx)
		switch websocket.CloseStatus(err) {
		case websocket.StatusPolicyViolation, websocket.StatusMessageTooBig:
		default:
			t.Fatalf("an unsealed frame got %v, want the connection closed", err)
		}
		c.CloseNow()
		l.healthy(t)
	})
}

// FuzzSealedPlaintext seals arbitrary plaintexts with the real key: the
// core answers with a result or a documented code, or closes the connection
// for an undecodable message; a valid call works right after.
func FuzzSealedPlaintext(f *testing.F) {
	for _, s := range seedsFromVectors(f) {
		f.Add(s)
	}
	for _, s := range []string{
		`{"type":"invoke","id":1,"kind":"command","name":"f.echo","args":{"secret":true}}`,
		`{"type":"invoke","id":1,"kind":"command","name":"f.nope","args":{}}`,
		`{"type":"invoke","id":1,"kind":"listen","name":"f.echo","args":null}`,
		`{"type":"invoke","id":1,"kind":"command","name":"f.echo","args":{"a":1,"a":1}}`,
		`{"type":"batch","messages":[{"type":"invoke","id":1,"kind":"command","name":"f.echo","args":{}},{"type":"invoke","id":2,"kind":"command","name":"f.nope","args":{}}]}`,
		`{"type":"batch","messages":[{"type":"invoke","id":1,"kind":"command","name":"f.echo","args":{},"x":1}]}`,
	} {
		f.Add([]byte(s))
	}
	l := start(f)
	f.Fuzz(func(t *testing.T, plaintext []byte) {
		c := l.conn(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := l.frame.Send(ctx, c, plaintext); err != nil {
			t.Fatal(err)
		}
		r, err := l.frame.Recv(ctx, c)
		switch {
		case err != nil && websocket.CloseStatus(err) == websocket.StatusPolicyViolation:
		case err != nil:
			t.Fatalf("sealed plaintext %q: %v", plaintext, err)
		case !r.OK && !documented[r.Code()]:
			t.Fatalf("code %q is not documented", r.Code())
		}
		c.CloseNow()
		l.healthy(t)
	})
}

// FuzzBackendOutput makes the upstream answer arbitrary bytes to an
// allowed command: the call settles with a result, handler_error or
// unavailable, and a valid call works right after.
func FuzzBackendOutput(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":"ID","result":{"x":1}}`,
		`{"jsonrpc":"2.0","id":"ID","error":{"code":-1,"message":"boom"}}`,
		`[{"jsonrpc":"2.0","method":"isogate.emit","params":{"event":"e","payload":[1]}},{"jsonrpc":"2.0","id":"ID","result":null}]`,
		`{"jsonrpc":"2.0","id":999,"result":1}`, `<html>`, ``,
	} {
		f.Add([]byte(s))
	}
	l := start(f)
	f.Fuzz(func(t *testing.T, out []byte) {
		l.mu.Lock()
		l.backend = out
		l.mu.Unlock()
		c := l.conn(t)
		defer c.CloseNow()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		nextID++
		if _, err := l.frame.Send(ctx, c, frameclient.Invoke(nextID, "f.up", `{}`)); err != nil {
			t.Fatal(err)
		}
		r, err := l.frame.Recv(ctx, c)
		if err != nil {
			t.Fatalf("backend output %q: %v", out, err)
		}
		if !r.OK && r.Code() != codes.HandlerError && r.Code() != codes.Unavailable {
			t.Fatalf("backend output %q gave code %q", out, r.Code())
		}
		c.CloseNow()
		l.healthy(t)
	})
}
