package jsonrpc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/isogate/isogate/codes"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/core"
	"github.com/isogate/isogate/internal/frameclient"
	"github.com/isogate/isogate/policy"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func noEmit(core.Target, string, any) int { return 0 }

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	var e *core.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("err = %v, want a *core.Error with code %s", err, code)
	}
}

// A backend that stops reading its stdin must not block every call behind
// one write: the write times out, the call rejects unavailable and the child
// is killed and restarted.
func TestStdio_ChildNotReadingIsKilledAndRestarted(t *testing.T) {
	u := NewStdio([]string{"sleep", "60"}, nil, discard)
	started := make(chan struct{}, 4)
	u.onStart = func() { started <- struct{}{} }
	if err := u.Start(context.Background(), noEmit); err != nil {
		t.Fatal(err)
	}
	defer u.Stop()
	if u.starts.Load() != 1 || u.Health() != nil {
		t.Fatalf("after Start: %d starts, health %v", u.starts.Load(), u.Health())
	}
	big := strings.Repeat("x", 1<<20) // more than a pipe holds
	_, err := u.Call(context.Background(), "m", big)
	wantCode(t, err, codes.Unavailable)
	<-started // the first child
	<-started // the stuck child's replacement (the test's timeout bounds the wait)
}

// A command that cannot start fails Start, with the reason, and nothing is
// left running.
func TestStdio_StartFailsForAMissingCommand(t *testing.T) {
	u := NewStdio([]string{"/nonexistent/backend"}, nil, discard)
	err := u.Start(context.Background(), noEmit)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/backend") {
		t.Fatalf("Start = %v, want an error naming the command", err)
	}
	if u.Health() == nil {
		t.Fatal("a backend that never started reports healthy")
	}
	if _, err := u.Call(context.Background(), "m", nil); err == nil {
		t.Fatal("a call to a backend that never started succeeded")
	}
	u.Stop() // returns: the supervisor has already ended
}

// Stop kills the child and waits: afterwards no call succeeds and Health
// says so.
func TestStdio_StopEndsTheChild(t *testing.T) {
	u := NewStdio([]string{"cat"}, nil, discard) // cat echoes a request, which is not a response: the child is restarted
	if err := u.Start(context.Background(), noEmit); err != nil {
		t.Fatal(err)
	}
	u.Stop()
	if u.Health() == nil {
		t.Fatal("healthy after Stop")
	}
	_, err := u.Call(context.Background(), "m", nil)
	wantCode(t, err, codes.Unavailable)
}

// A backend answering more than MaxReply is cut off: the call rejects
// unavailable instead of the core buffering it all.
func TestHTTP_OversizedReplyUnavailable(t *testing.T) {
	big := `{"jsonrpc":"2.0","id":1,"result":"` + strings.Repeat("x", MaxReply) + `"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) }))
	defer srv.Close()
	u := NewHTTP(srv.URL, nil, discard)
	u.Start(context.Background(), noEmit)
	_, err := u.Call(context.Background(), "m", nil)
	wantCode(t, err, codes.Unavailable)
}

// An isogate.emit that names a target but leaves it empty is dropped, not
// sent to everyone; one with no target is sent to every allowed listener.
func TestNotification_EmptyTargetIsNotEveryone(t *testing.T) {
	var got []core.Target
	emit := func(tg core.Target, _ string, _ any) int { got = append(got, tg); return 0 }
	for _, params := range []string{
		`{"event":"e","payload":1,"session":""}`,
		`{"event":"e","payload":1,"window":""}`,
		`{"event":"e","payload":1,"session":"ab","window":""}`,
	} {
		notification(&message{JSONRPC: "2.0", Method: "isogate.emit", Params: json.RawMessage(params)}, emit, discard)
	}
	if len(got) != 0 {
		t.Fatalf("empty targets were emitted as %v", got)
	}
	notification(&message{JSONRPC: "2.0", Method: "isogate.emit", Params: json.RawMessage(`{"event":"e","payload":1}`)}, emit, discard)
	notification(&message{JSONRPC: "2.0", Method: "isogate.emit", Params: json.RawMessage(`{"event":"e","window":"editor"}`)}, emit, discard)
	if len(got) != 2 || got[0] != (core.Target{}) || got[1] != (core.Target{Window: "editor"}) {
		t.Fatalf("targets %v, want everyone then the editor window", got)
	}
}

const testPolicy = `package isogate

allow if input.name == "t.up"

allow if {
	input.kind == "listen"
	input.name == "t.note"
}
`

// Through a real core: a backend learns which page a call came from (meta),
// and an isogate.emit it addresses to that session reaches that page and no
// other.
func TestHTTP_MetaNamesThePageAndTargetedEmitReachesOnlyIt(t *testing.T) {
	metas := make(chan core.Caller, 4)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID   int64
			Meta core.Caller
		}
		json.NewDecoder(r.Body).Decode(&req)
		metas <- req.Meta
		note, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "isogate.emit",
			"params": map[string]any{"event": "t.note", "payload": req.Meta.Session, "session": req.Meta.Session}})
		reply, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": "ok"})
		w.Write([]byte("[" + string(note) + "," + string(reply) + "]"))
	}))
	defer up.Close()
	p, err := policy.Load(context.Background(), fstest.MapFS{"p.rego": {Data: []byte(testPolicy)}, "schemas/t.up.json": {Data: []byte(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := core.New(core.Config{App: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}}, Policy: p,
		Logger: discard, Upstream: NewHTTP(up.URL, nil, discard)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Serve(ctx)
	browser := frameclient.NewBrowser()
	a, err := frameclient.LoadWith(browser, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	b, err := frameclient.LoadWith(browser, c.Origin()+"/")
	if err != nil {
		t.Fatal(err)
	}
	ac, err := a.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := b.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type page struct {
		f    *frameclient.Frame
		conn *websocket.Conn
	}
	pa, pb := page{a, ac}, page{b, bc}
	for _, pg := range []page{pa, pb} {
		if _, err := pg.f.Send(ctx, pg.conn, frameclient.Listen(1, "t.note")); err != nil {
			t.Fatal(err)
		}
		if r, err := pg.f.Recv(ctx, pg.conn); err != nil || !r.OK {
			t.Fatalf("listen: %+v %v", r, err)
		}
	}
	// Each page calls the backend in turn. The notes it gets before its
	// reply must all be its own: the backend addressed each to the caller.
	for _, pg := range []page{pa, pb} {
		if _, err := pg.f.Send(ctx, pg.conn, frameclient.Invoke(2, "t.up", `{}`)); err != nil {
			t.Fatal(err)
		}
		if m := <-metas; m.Session != pg.f.Session || m.Window != core.DefaultWindow {
			t.Fatalf("meta = %+v, want session %s in window main", m, pg.f.Session)
		}
		notes := 0
		for {
			r, err := pg.f.Recv(ctx, pg.conn)
			if err != nil {
				t.Fatal(err)
			}
			if r.Type == "event" {
				if string(r.Payload) != `"`+pg.f.Session+`"` {
					t.Fatalf("page %s got the note meant for %s", pg.f.Session, r.Payload)
				}
				notes++
				continue
			}
			if !r.OK || r.ID != 2 {
				t.Fatalf("reply %+v", r)
			}
			break
		}
		if notes != 1 {
			t.Fatalf("page %s got %d notes for its call, want 1", pg.f.Session, notes)
		}
	}
}

// An isogate.channel for a token no open channel has (made up, or one a
// call never carried) is dropped, as is a malformed one: nothing panics,
// nothing is sent.
func TestNotification_ChannelTokenMustBeOpen(t *testing.T) {
	for _, params := range []string{
		`{"channel":"00000000000000000000000000000000","message":1}`,
		`{"channel":"","message":1}`,
		`{"channel":"x","message":1,"end":true}`,
		`{"channel":"x"}`,
		`[]`,
	} {
		if !notification(&message{JSONRPC: "2.0", Method: "isogate.channel", Params: json.RawMessage(params)}, nil, discard) {
			t.Fatalf("%s not taken as a notification", params)
		}
	}
	if _, ok := core.ChannelByToken("00000000000000000000000000000000"); ok {
		t.Fatal("a made-up token names a channel")
	}
}
