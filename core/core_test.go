package core

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/isogate/isogate/codes"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/crypto"
	"github.com/isogate/isogate/internal/frameclient"
	"github.com/isogate/isogate/policy"
)

// These tests play the isolation iframe from Go against a real core over
// real loopback sockets: they fetch a page, take the iframe URL, fetch the
// iframe page for the session secret and speak the wire protocol.

const testPolicy = `package isogate

allow if {
	input.kind == "command"
	input.name in {"t.echo", "t.panic", "t.slow", "t.fail", "t.public", "t.blob", "t.download", "t.stall", "t.pipe", "t.panicreader", "t.tworeaders"}
}

deny contains "t.secret is never allowed" if input.name == "t.secret"

allow if {
	input.kind == "listen"
	input.name in {"t.note", "t.big"}
}

allow if {
	input.kind == "command"
	input.name in {"t.mainonly", "t.emitnote"}
}

deny contains "t.mainonly only in the main window" if {
	input.name == "t.mainonly"
	input.window != "main"
}

# Tauri calls: by the permission Tauri would check.
allow if input.tauri.permission in {"allow-t-chan", "allow-t-reject", "allow-t-token", "core:event:allow-listen", "core:event:allow-emit", "core:event:allow-emit-to"}
`

type harness struct {
	c     *Core
	calls atomic.Int64
	stop  func() // ends Serve and waits for it; also run at cleanup
}

func newHarness(t *testing.T, limits Limits) *harness {
	t.Helper()
	return newHarnessWith(t, func(c *Config) { c.Limits = limits })
}

func newHarnessWith(t *testing.T, configure func(*Config)) *harness {
	t.Helper()
	schema := `{"type":"object"}`
	p, err := policy.Load(context.Background(), fstest.MapFS{
		"p.rego":                {Data: []byte(testPolicy)},
		"schemas/t.echo.json":   {Data: []byte(`{"type":"object","properties":{"msg":{"type":"string"}},"required":["msg"],"additionalProperties":false}`)},
		"schemas/t.secret.json": {Data: []byte(schema)},
		// The schema sees a blob as {"$binary": length}.
		"schemas/t.blob.json":        {Data: []byte(`{"type":"object","properties":{"data":{"type":"object","properties":{"$binary":{"type":"integer","maximum":8}},"required":["$binary"]}},"required":["data"]}`)},
		"schemas/t.panic.json":       {Data: []byte(schema)},
		"schemas/t.slow.json":        {Data: []byte(schema)},
		"schemas/t.fail.json":        {Data: []byte(schema)},
		"schemas/t.public.json":      {Data: []byte(schema)},
		"schemas/t.mainonly.json":    {Data: []byte(schema)},
		"schemas/t.emitnote.json":    {Data: []byte(schema)},
		"schemas/t.download.json":    {Data: []byte(schema)},
		"schemas/t.stall.json":       {Data: []byte(schema)},
		"schemas/t.pipe.json":        {Data: []byte(schema)},
		"schemas/t_chan.json":        {Data: []byte(schema)},
		"schemas/t_reject.json":      {Data: []byte(schema)},
		"schemas/t_token.json":       {Data: []byte(schema)},
		"schemas/t-ev.json":          {Data: []byte(`{}`)},
		"schemas/t.panicreader.json": {Data: []byte(schema)},
		"schemas/t.tworeaders.json":  {Data: []byte(schema)},
	})
	if err != nil {
		t.Fatal(err)
	}
	app := fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>t</title>")}}
	cfg := Config{App: app, Policy: p, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	configure(&cfg)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{c: c}
	count := func(fn Handler) Handler {
		return func(ctx context.Context, a any) (any, error) { h.calls.Add(1); return fn(ctx, a) }
	}
	c.Handle("t.echo", count(func(_ context.Context, a any) (any, error) { return a, nil }))
	c.Handle("t.blob", count(func(_ context.Context, a any) (any, error) {
		if _, ok := a.(map[string]any)["data"].([]byte); !ok {
			return nil, Errorf("data is %T, not bytes", a.(map[string]any)["data"])
		}
		return a, nil
	}))
	c.Handle("t.secret", count(func(context.Context, any) (any, error) { return "leaked", nil }))
	c.Handle("t.panic", count(func(context.Context, any) (any, error) { panic("boom") }))
	c.Handle("t.fail", count(func(context.Context, any) (any, error) { return nil, errors.New("disk on fire at /secret/path") }))
	// t.public answers with a result whose encoding panics.
	c.Handle("t.public", count(func(context.Context, any) (any, error) { return explodingJSON{}, nil }))
	c.Handle("t.mainonly", count(func(ctx context.Context, _ any) (any, error) {
		who, _ := CallerFrom(ctx)
		return who, nil
	}))
	// t.emitnote sends t.note to the page that called it, and only to it.
	c.Handle("t.emitnote", count(func(ctx context.Context, a any) (any, error) {
		who, _ := CallerFrom(ctx)
		return c.EmitToSession(who.Session, "t.note", a), nil
	}))
	c.Handle("t.slow", count(func(ctx context.Context, _ any) (any, error) { <-ctx.Done(); return nil, ctx.Err() }))
	// t.download answers {"name", "data": a reader of n pattern bytes},
	// one that says its length when sized is set.
	c.Handle("t.download", count(func(_ context.Context, a any) (any, error) {
		n, _ := a.(map[string]any)["n"].(json.Number).Int64()
		if a.(map[string]any)["sized"] == true {
			return map[string]any{"name": "x", "data": bytes.NewReader(pattern(int(n)))}, nil
		}
		return map[string]any{"name": "x", "data": io.LimitReader(&patternReader{}, n)}, nil
	}))
	// t.pipe's reader gives "first", then blocks for ever (unless closed).
	c.Handle("t.pipe", count(func(context.Context, any) (any, error) {
		pr, pw := io.Pipe()
		go pw.Write([]byte("first"))
		return pr, nil
	}))
	c.Handle("t.panicreader", count(func(context.Context, any) (any, error) { return panicReader{}, nil }))
	// t_chan sends three messages and some bytes on the Channel at
	// args.onEvent, then closes it; args.other names one it did not get.
	c.Handle("t_chan", count(func(ctx context.Context, a any) (any, error) {
		args := a.(map[string]any)
		if _, err := ChannelOf(ctx, args["other"]); err == nil {
			return nil, Errorf("a channel the call did not carry")
		}
		ch, err := ChannelOf(ctx, args["onEvent"])
		if err != nil {
			return nil, err
		}
		for i := range 3 {
			if err := ch.Send(map[string]any{"n": i}); err != nil {
				return nil, err
			}
		}
		ch.Send([]byte{1, 2, 3})
		ch.Close()
		if ch.Send("late") != ErrChannelClosed {
			return nil, Errorf("sent after close")
		}
		t, _ := TauriFrom(ctx)
		return t.Headers["x-who"], nil
	}))
	c.Handle("t_token", count(func(ctx context.Context, a any) (any, error) {
		ch, err := ChannelOf(ctx, a.(map[string]any)["onEvent"])
		if err != nil {
			return nil, err
		}
		return ch.Token(), nil
	}))
	c.Handle("t_reject", count(func(context.Context, any) (any, error) {
		return nil, &Error{Code: codes.HandlerError, Message: "no such file", Value: map[string]any{"kind": "NotFound"}}
	}))
	c.Handle("t.tworeaders", count(func(context.Context, any) (any, error) {
		a, b := &closeTracker{}, &closeTracker{}
		closedBoth.Store(false)
		a.other, b.other = b, a
		return map[string]any{"a": a, "b": b}, nil
	}))
	// t.stall's reader gives 1.5 MiB, then nothing until the call ends.
	c.Handle("t.stall", count(func(ctx context.Context, _ any) (any, error) {
		return io.MultiReader(io.LimitReader(&patternReader{}, 3<<19), stalled{ctx}), nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Serve(ctx) }()
	var once sync.Once
	h.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(h.stop)
	return h
}

// fakeFrame is the Go stand-in for one page load's isolation iframe.
type fakeFrame struct {
	*frameclient.Frame
	t *testing.T
}

var frameURL = regexp.MustCompile(`data-isogate-frame="([^"]+)"`)

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	code, body, err := frameclient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

func (h *harness) pageLoad(t *testing.T) (*fakeFrame, string) {
	t.Helper()
	f, err := frameclient.Load(h.c.URL())
	if err != nil {
		t.Fatal(err)
	}
	return &fakeFrame{Frame: f, t: t}, f.IframeURL
}

func (f *fakeFrame) wsURL(auth []byte) string { return f.URL(auth) }

func dial(url, origin string) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return frameclient.Dial(ctx, url, origin)
}

func (f *fakeFrame) connect() *websocket.Conn {
	f.t.Helper()
	c, err := f.Connect(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.CloseNow() })
	return c
}

var invoke = frameclient.Invoke

func (f *fakeFrame) send(c *websocket.Conn, plaintext []byte) []byte {
	f.t.Helper()
	frame, err := f.Send(context.Background(), c, plaintext)
	if err != nil {
		f.t.Fatal(err)
	}
	return frame
}

type replyMsg = frameclient.Reply

// recv reads one reply, or returns the error that ended the connection.
func (f *fakeFrame) recv(c *websocket.Conn) (*replyMsg, error) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := f.Recv(ctx, c)
	if err != nil && strings.Contains(err.Error(), "does not open") {
		f.t.Fatal(err)
	}
	return r, err
}

func (f *fakeFrame) call(c *websocket.Conn, id int, name, args string) *replyMsg {
	f.t.Helper()
	f.send(c, invoke(id, name, args))
	r, err := f.recv(c)
	if err != nil {
		f.t.Fatalf("call %s: %v", name, err)
	}
	if r.ID != id {
		f.t.Fatalf("reply id %d, want %d", r.ID, id)
	}
	return r
}

// recvFrame reads and opens one frame and returns the replies in it: one,
// or a batch's.
func (f *fakeFrame) recvFrame(c *websocket.Conn) []frameclient.Reply {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, frame, err := c.Read(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	pt, _, err := f.Opener.Open(nil, frame)
	if err != nil {
		f.t.Fatal(err)
	}
	var b struct {
		Type     string
		Messages []frameclient.Reply
	}
	if err := json.Unmarshal(pt, &b); err != nil {
		f.t.Fatal(err)
	}
	if b.Type == "batch" {
		return b.Messages
	}
	var one frameclient.Reply
	if err := json.Unmarshal(pt, &one); err != nil {
		f.t.Fatal(err)
	}
	return []frameclient.Reply{one}
}

// batchOf is the plaintext of a batch of messages.
func batchOf(ms ...string) []byte {
	return []byte(`{"type":"batch","messages":[` + strings.Join(ms, ",") + `]}`)
}

func wantCode(t *testing.T, r *replyMsg, code codes.Code) {
	t.Helper()
	if r.OK || r.Code() != code {
		t.Fatalf("reply = ok:%v result:%s error:%+v, want code %s", r.OK, r.Result, r.Error, code)
	}
}

func TestInvoke_RoundTrip(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	r := f.call(c, 1, "t.echo", `{"msg":"hi"}`)
	if !r.OK || string(r.Result) != `{"msg":"hi"}` {
		t.Fatalf("reply = %+v %s", r, r.Result)
	}
}

func TestInvoke_CoreChecksAgainWhatTheIframeChecked(t *testing.T) {
	// A frame sealed with the right key but built without the iframe's checks
	// still meets the schema and the policy in the core.
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	wantCode(t, f.call(c, 1, "t.echo", `{"msg":7}`), codes.InvalidArgs)
	wantCode(t, f.call(c, 2, "t.echo", `{"msg":"x","extra":1}`), codes.InvalidArgs)
	wantCode(t, f.call(c, 3, "t.nothing", `{}`), codes.UnknownCommand)
	r := f.call(c, 4, "t.secret", `{}`)
	wantCode(t, r, codes.Denied)
	if !strings.Contains(r.Error.Message, "t.secret is never allowed") {
		t.Fatalf("deny reason not reported: %q", r.Error.Message)
	}
	if n := h.calls.Load(); n != 0 {
		t.Fatalf("%d handlers ran for rejected calls", n)
	}
}

func TestTransport_FrameWithoutTheKeyRejected(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	// Same session id and a valid transport token, but sealed with a key of
	// another secret: what an attacker without the iframe's key can do.
	secret, _ := crypto.NewSession()
	forged, _ := crypto.DeriveKeys(secret[:], f.Keys.ID)
	frame, _ := crypto.NewSealer(forged, crypto.ToCore).Seal(nil, invoke(1, "t.echo", `{"msg":"x"}`))
	c.Write(context.Background(), websocket.MessageBinary, frame)
	if _, err := f.recv(c); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("forged frame: connection ended with %v, want policy violation close", err)
	}
	if n := h.calls.Load(); n != 0 {
		t.Fatalf("forged frame reached a handler (%d calls)", n)
	}
}

func TestTransport_ReplayedFrameOnNewConnectionRejected(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	frame := f.send(c, invoke(1, "t.echo", `{"msg":"once"}`))
	if r, err := f.recv(c); err != nil || !r.OK {
		t.Fatalf("first call: %+v %v", r, err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	c2 := f.connect()
	c2.Write(context.Background(), websocket.MessageBinary, frame)
	if _, err := f.recv(c2); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("replayed frame: connection ended with %v, want policy violation close", err)
	}
	if n := h.calls.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
}

func TestTransport_HandshakeRefusals(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	wrong := make([]byte, crypto.AuthSize)
	for name, c := range map[string]struct{ url, origin string }{
		"foreign origin":  {f.wsURL(f.Keys.Auth[:]), "http://evil.example"},
		"app origin":      {f.wsURL(f.Keys.Auth[:]), h.c.Origin()},
		"no origin":       {f.wsURL(f.Keys.Auth[:]), ""},
		"wrong token":     {f.wsURL(wrong), "null"},
		"no token":        {fmt.Sprintf("%s?s=%s", f.WS, f.Session), "null"},
		"unknown session": {fmt.Sprintf("%s?s=%s&a=%s", f.WS, strings.Repeat("0", 32), base64.RawURLEncoding.EncodeToString(f.Keys.Auth[:])), "null"},
	} {
		t.Run(name, func(t *testing.T) {
			conn, resp, err := dial(c.url, c.origin)
			if err == nil {
				conn.CloseNow()
				t.Fatal("handshake accepted")
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("response %v, want 403", resp)
			}
		})
	}
	// A second connection to a session that has one is refused too.
	f.connect()
	conn, resp, err := dial(f.wsURL(f.Keys.Auth[:]), "null")
	if err == nil {
		conn.CloseNow()
		t.Fatal("second connection to a connected session accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("second connection: %v, want 409", resp)
	}
}

func TestIsolation_IframeURLIsSingleUse(t *testing.T) {
	h := newHarness(t, Limits{})
	_, iframeURL := h.pageLoad(t)
	if code, body := httpGet(t, iframeURL); code != http.StatusGone || strings.Contains(body, "secret") {
		t.Fatalf("second GET: %d %q", code, body)
	}
}

func TestHostHeaderOfAnotherNameRefused(t *testing.T) {
	h := newHarness(t, Limits{})
	_, page := httpGet(t, h.c.URL())
	iframeURL := frameURL.FindStringSubmatch(page)[1]
	editor, err := h.c.OpenWindow("editor") // every window's origin is guarded alike
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{h.c.URL(), editor, iframeURL} {
		req, _ := http.NewRequest("GET", u, nil)
		req.Host = "evil.example"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Fatalf("%s with Host evil.example: %d", u, resp.StatusCode)
		}
	}
	// The iframe page was not consumed by the refused request.
	if code, _ := httpGet(t, iframeURL); code != http.StatusOK {
		t.Fatalf("iframe after refused request: %d", code)
	}
}

func TestHandler_PanicBecomesHandlerError(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	wantCode(t, f.call(c, 1, "t.panic", `{}`), codes.HandlerError)
	r := f.call(c, 2, "t.fail", `{}`)
	wantCode(t, r, codes.HandlerError)
	if strings.Contains(r.Error.Message, "/secret/path") {
		t.Fatalf("internal error text reached the page: %q", r.Error.Message)
	}
	if r := f.call(c, 3, "t.echo", `{"msg":"still here"}`); !r.OK {
		t.Fatalf("core stopped answering after a panic: %+v", r)
	}
}

func TestHandler_TimeoutRejects(t *testing.T) {
	h := newHarness(t, Limits{CallTimeout: 50 * time.Millisecond})
	f, _ := h.pageLoad(t)
	c := f.connect()
	wantCode(t, f.call(c, 1, "t.slow", `{}`), codes.Timeout)
}

func TestInFlightLimitRejectsRateLimited(t *testing.T) {
	h := newHarness(t, Limits{MaxInFlight: 2})
	f, _ := h.pageLoad(t)
	c := f.connect()
	for i := 1; i <= 3; i++ {
		f.send(c, invoke(i, "t.slow", `{}`))
	}
	r, err := f.recv(c)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != 3 {
		t.Fatalf("first reply is for call %d, want the third (rejected at once)", r.ID)
	}
	wantCode(t, r, codes.RateLimited)
}

func TestTransport_FrameSizeLimitAtBoundary(t *testing.T) {
	const limit = 256
	h := newHarness(t, Limits{MaxMessageBytes: limit, MaxBinaryBytes: 64})
	f, _ := h.pageLoad(t)
	c := f.connect()
	plaintext := func(id, size int) []byte {
		base := invoke(id, "t.echo", `{"msg":""}`)
		pad := strings.Repeat("x", size-len(base))
		return invoke(id, "t.echo", `{"msg":"`+pad+`"}`)
	}
	for i, size := range []int{limit - 1, limit} {
		f.send(c, plaintext(i+1, size))
		if r, err := f.recv(c); err != nil || !r.OK {
			t.Fatalf("%d-byte message: %+v %v", size, r, err)
		}
	}
	// One byte over is not decoded past its id: that call alone is answered
	// too_large, and the connection goes on.
	f.send(c, plaintext(3, limit+1))
	r, err := f.recv(c)
	if err != nil || r.ID != 3 {
		t.Fatalf("%d-byte message: %+v %v, want the reply to call 3", limit+1, r, err)
	}
	wantCode(t, r, codes.TooLarge)
	f.send(c, plaintext(5, limit))
	if r, err := f.recv(c); err != nil || !r.OK {
		t.Fatalf("a call after the one too large: %+v %v", r, err)
	}
	// A frame past both limits together is not even read.
	f.send(c, plaintext(4, limit+64+5+1))
	if _, err := f.recv(c); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("frame past both limits: connection ended with %v, want message too big", err)
	}
}

// A call nested deeper than the core's limit, sent past the iframe, is
// answered invalid_args on its own; the connection and the calls after it
// go on. Only a frame nothing in which can be answered ends it.
func TestTransport_DepthOverLimitAnswersThatCallOnly(t *testing.T) {
	h := newHarness(t, Limits{MaxDepth: 4})
	f, _ := h.pageLoad(t)
	c := f.connect()
	f.send(c, invoke(1, "t.echo", `{"msg":[[[["x"]]]]}`))
	r, err := f.recv(c)
	if err != nil || r.ID != 1 {
		t.Fatalf("5-deep call under MaxDepth 4: %+v %v", r, err)
	}
	wantCode(t, r, codes.InvalidArgs)
	if !strings.Contains(r.Error.Message, "nested more than 4 deep") {
		t.Fatalf("refused for %q, want the depth limit", r.Error.Message)
	}
	f.send(c, invoke(2, "t.echo", `{"msg":"x"}`))
	if r, err := f.recv(c); err != nil || !r.OK || r.ID != 2 {
		t.Fatalf("the call after it: %+v %v", r, err)
	}
}

func TestTransport_TextFrameClosesConnection(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	c.Write(context.Background(), websocket.MessageText, invoke(1, "t.echo", `{"msg":"x"}`))
	if _, err := f.recv(c); websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
		t.Fatalf("text frame: connection ended with %v", err)
	}
	if h.calls.Load() != 0 {
		t.Fatal("a text frame reached a handler")
	}
}

type brokenDisk struct{}

func (brokenDisk) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestDecisionLog_UnloggableDecisionRejected(t *testing.T) {
	h := newHarnessWith(t, func(c *Config) { c.DecisionLog = policy.NewDecisionLog(brokenDisk{}) })
	f, _ := h.pageLoad(t)
	c := f.connect()
	wantCode(t, f.call(c, 1, "t.echo", `{"msg":"x"}`), codes.Unavailable)
	if h.calls.Load() != 0 {
		t.Fatal("a handler ran for a decision that was not logged")
	}
}

// lockedBuffer is a decision log destination the test can read while the
// core writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Messages sent back to back, without waiting for replies, are decided and
// logged in the order they were sent: an auditor reading the log sees each
// session's messages in sequence.
func TestDecisionLog_InSequenceOrder(t *testing.T) {
	var buf lockedBuffer
	h := newHarnessWith(t, func(c *Config) { c.DecisionLog = policy.NewDecisionLog(&buf) })
	f, _ := h.pageLoad(t)
	c := f.connect()
	const n = 200
	for i := 1; i <= n; i++ {
		f.send(c, frameclient.Invoke(i, "t.echo", `{"msg":"x"}`))
	}
	for range n {
		if _, err := f.recv(c); err != nil {
			t.Fatal(err)
		}
	}
	var last uint64
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != n {
		t.Fatalf("%d decisions logged, want %d", len(lines), n)
	}
	for _, line := range lines {
		var d policy.Decision
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatal(err)
		}
		if d.Seq != last+1 {
			t.Fatalf("decision for seq %d logged after seq %d", d.Seq, last)
		}
		last = d.Seq
	}
}

func TestDryRun_DeniedCallReachesHandler(t *testing.T) {
	var buf strings.Builder
	h := newHarnessWith(t, func(c *Config) {
		c.DryRun = true
		c.DecisionLog = policy.NewDecisionLog(&buf)
	})
	f, _ := h.pageLoad(t)
	c := f.connect()
	if r := f.call(c, 1, "t.secret", `{}`); !r.OK {
		t.Fatalf("dry run rejected: %+v", r.Error)
	}
	if !strings.Contains(buf.String(), `"dry_run":true`) || !strings.Contains(buf.String(), `"allow":false`) {
		t.Fatalf("decision log = %s", buf.String())
	}
}

func TestBinary_RawBytesRoundTripAndSchemaSeesPlaceholder(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	blob := []byte{0, 1, 2, 0xff, 0xfe}
	js := []byte(`{"type":"invoke","id":1,"kind":"command","name":"t.blob","args":{"data":null},"bin":[{"path":"/data","len":5}]}`)
	f.send(c, joinPlaintext(js, [][]byte{blob}))
	_, frame, err := c.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pt, _, err := f.Opener.Open(nil, frame)
	if err != nil {
		t.Fatal(err)
	}
	jsonPart, blobs, err := splitPlaintext(pt)
	if err != nil || string(blobs) != string(blob) {
		t.Fatalf("reply blobs %x, %v; want the bytes back raw", blobs, err)
	}
	if !strings.Contains(string(jsonPart), `"bin":[{"path":"/data","len":5}]`) {
		t.Fatalf("reply JSON %s", jsonPart)
	}
	// The schema limits the blob's length through its placeholder.
	f.send(c, joinPlaintext([]byte(`{"type":"invoke","id":2,"kind":"command","name":"t.blob","args":{"data":null},"bin":[{"path":"/data","len":9}]}`), [][]byte{make([]byte, 9)}))
	r, err := f.recv(c)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, r, codes.InvalidArgs)
}

func TestBinary_MalformedTablesRejected(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	for i, tc := range []struct{ json, blob string }{
		{`"args":{"msg":"m","data":"not null"},"bin":[{"path":"/data","len":1}]`, "x"},
		{`"args":{"msg":"m","data":null},"bin":[{"path":"/data","len":2}]`, "x"},
		{`"args":{"msg":"m","data":null},"bin":[{"path":"/data","len":1}]`, "xy"},
		{`"args":{"msg":"m","data":null},"bin":[{"path":"/nowhere/deep","len":1}]`, "x"},
		{`"args":{"msg":"m","data":null},"bin":"nope"`, "x"},
	} {
		js := fmt.Sprintf(`{"type":"invoke","id":%d,"kind":"command","name":"t.echo",%s}`, i+1, tc.json)
		f.send(c, joinPlaintext([]byte(js), [][]byte{[]byte(tc.blob)}))
		r, err := f.recv(c)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		wantCode(t, r, codes.InvalidArgs)
	}
	if h.calls.Load() != 0 {
		t.Fatal("a malformed binary message reached a handler")
	}
}

func TestHandler_TypedNilErrorIsHandlerError(t *testing.T) {
	h := newHarness(t, Limits{})
	h.c.Handle("t.fail", func(context.Context, any) (any, error) {
		var e *Error
		return nil, e
	})
	f, _ := h.pageLoad(t)
	c := f.connect()
	wantCode(t, f.call(c, 1, "t.fail", `{}`), codes.HandlerError)
	if r := f.call(c, 2, "t.echo", `{"msg":"alive"}`); !r.OK {
		t.Fatalf("core not answering after a typed nil error: %+v", r)
	}
}

// POST /__isogate/frame gives a page a new session. A page of another site
// cannot send the custom header without a preflight that is never granted,
// and a fetch marked cross-site is refused even with it.
func TestNewFrame_RefusedWithoutHeaderOrCrossSite(t *testing.T) {
	h := newHarness(t, Limits{})
	httpGet(t, h.c.URL()) // the launch cookie, as the launched browser has it
	post := func(header map[string]string) (int, string) {
		req, _ := http.NewRequest("POST", h.c.Origin()+"/__isogate/frame", nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := frameclient.Browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for name, hdr := range map[string]map[string]string{
		"no header":            {},
		"wrong header value":   {"X-Isogate": "yes"},
		"cross-site with it":   {"X-Isogate": "1", "Sec-Fetch-Site": "cross-site"},
		"same-site but not us": {"X-Isogate": "1", "Sec-Fetch-Site": "same-site"},
	} {
		if code, body := post(hdr); code != http.StatusForbidden || strings.Contains(body, "frame") {
			t.Errorf("%s: %d %q, want 403", name, code, body)
		}
	}
	code, body := post(map[string]string{"X-Isogate": "1", "Sec-Fetch-Site": "same-origin"})
	var got struct{ Frame string }
	if json.Unmarshal([]byte(body), &got); code != http.StatusOK || !strings.Contains(got.Frame, "/frame/") {
		t.Fatalf("same-origin request: %d %q", code, body)
	}
	if c, _ := httpGet(t, got.Frame); c != http.StatusOK {
		t.Fatalf("the new frame URL does not serve: %d", c)
	}
}

// Pages loaded in a loop get no more than MaxSessions live sessions: past
// that the oldest session that never connected makes room, and when every
// session is connected a page is refused, not served without a gate.
func TestSessions_BoundedByMaxSessions(t *testing.T) {
	h := newHarness(t, Limits{MaxSessions: 2})
	first, _ := h.pageLoad(t)
	h.pageLoad(t)
	third, _ := h.pageLoad(t) // evicts first, which never connected
	if _, _, err := frameclient.Dial(context.Background(), first.URL(first.Keys.Auth[:]), "null"); err == nil {
		t.Fatal("the evicted session still connects")
	}
	third.connect()
	fourth, _ := h.pageLoad(t) // evicts the second
	fourth.connect()
	code, body := httpGet(t, h.c.URL())
	if code != http.StatusServiceUnavailable || strings.Contains(body, "data-isogate-frame") {
		t.Fatalf("page with every session connected: %d %q", code, body)
	}
}

// Each message of a batch frame meets every check on its own: schema,
// policy and the rate limit count it as if it had come alone.
func TestBatch_EachMessageCheckedAndAnswered(t *testing.T) {
	h := newHarness(t, Limits{RatePerSecond: 1, RateBurst: 3})
	f, _ := h.pageLoad(t)
	c := f.connect()
	f.send(c, batchOf(
		string(frameclient.Invoke(1, "t.echo", `{"msg":"hi"}`)),
		string(frameclient.Invoke(2, "t.echo", `{"msg":7}`)),
		string(frameclient.Invoke(3, "t.secret", `{}`)),
		string(frameclient.Invoke(4, "t.echo", `{"msg":"over the rate"}`))))
	got := map[int]codes.Code{}
	for range 4 {
		r, err := f.recv(c)
		if err != nil {
			t.Fatal(err)
		}
		got[r.ID] = r.Code()
	}
	want := map[int]codes.Code{1: "", 2: codes.InvalidArgs, 3: codes.Denied, 4: codes.RateLimited}
	if !maps.Equal(got, want) {
		t.Fatalf("codes = %v, want %v", got, want)
	}
	if n := h.calls.Load(); n != 1 {
		t.Fatalf("%d handlers ran, want 1", n)
	}
}

// The replies to a batch's messages leave together, and a slow handler does
// not hold back the others: they leave in a frame of their own, before the
// slow one times out. The hold is widened from 2 ms to 100 ms so that the
// three fast replies are ready within it even under the race detector on
// a busy machine (at 2 ms they once left in two frames); the slow one takes
// 300 ms.
func TestBatch_RepliesLeaveTogetherWithoutWaitingForSlowOnes(t *testing.T) {
	h := newHarnessWith(t, func(c *Config) {
		c.Limits = Limits{CallTimeout: 300 * time.Millisecond}
		c.groupWait = 100 * time.Millisecond
	})
	f, _ := h.pageLoad(t)
	c := f.connect()
	f.send(c, batchOf(
		string(frameclient.Invoke(1, "t.echo", `{"msg":"a"}`)),
		string(frameclient.Invoke(2, "t.slow", `{}`)),
		string(frameclient.Invoke(3, "t.echo", `{"msg":"b"}`)),
		string(frameclient.Invoke(4, "t.echo", `{"msg":"c"}`))))
	var frames [][]int
	for got := 0; got < 4; {
		var ids []int
		for _, r := range f.recvFrame(c) {
			ids = append(ids, r.ID)
		}
		slices.Sort(ids)
		got += len(ids)
		frames = append(frames, ids)
	}
	if len(frames) != 2 || !slices.Equal(frames[0], []int{1, 3, 4}) || !slices.Equal(frames[1], []int{2}) {
		t.Fatalf("frames = %v, want the three fast replies together, then the slow one", frames)
	}
}

type explodingDisk struct{}

func (explodingDisk) Write([]byte) (int, error) { panic("disk driver bug") }

// A panic on the read loop (here in the decision log's writer) closes the
// connection instead of killing the process or leaving the iframe waiting
// on a silent socket; the session takes a new connection.
func TestReadLoop_PanicClosesTheConnection(t *testing.T) {
	h := newHarnessWith(t, func(c *Config) { c.DecisionLog = policy.NewDecisionLog(explodingDisk{}) })
	f, _ := h.pageLoad(t)
	c := f.connect()
	f.send(c, frameclient.Invoke(1, "t.echo", `{"msg":"x"}`))
	if r, err := f.recv(c); websocket.CloseStatus(err) != websocket.StatusInternalError {
		t.Fatalf("got %+v, %v; want the connection closed by the core", r, err)
	}
	if h.calls.Load() != 0 {
		t.Fatal("the handler ran")
	}
	c2 := f.connect()
	defer c2.CloseNow()
}

// Refusals inside a batch cost rate tokens like any message, and leave
// together in one frame: a frame cannot buy more replies than messages, nor
// messages for free.
func TestBatch_RefusalsCostTokensAndLeaveTogether(t *testing.T) {
	h := newHarness(t, Limits{RatePerSecond: 1, RateBurst: 2})
	f, _ := h.pageLoad(t)
	c := f.connect()
	bad := func(id int) string {
		return fmt.Sprintf(`{"type":"invoke","id":%d,"kind":"command","name":"t.echo","args":{},"evil":1}`, id)
	}
	f.send(c, batchOf(bad(1), bad(2), bad(3), bad(4)))
	got := map[int]codes.Code{}
	for _, r := range f.recvFrame(c) {
		got[r.ID] = r.Code()
	}
	want := map[int]codes.Code{1: codes.InvalidArgs, 2: codes.InvalidArgs, 3: codes.RateLimited, 4: codes.RateLimited}
	if !maps.Equal(got, want) {
		t.Fatalf("codes in the first frame = %v, want all four: %v", got, want)
	}
}

// panicsOnWrite panics on its nth write.
type panicsOnWrite struct {
	n     int
	count atomic.Int64
}

func (p *panicsOnWrite) Write(b []byte) (int, error) {
	if p.count.Add(1) == int64(p.n) {
		panic("disk driver bug")
	}
	return len(b), nil
}

// A panic while a batch is being admitted gives back the in-flight slots of
// the messages admitted before it (found in review: they leaked, and after a
// reconnect every call was rate_limited).
func TestReadLoop_PanicMidBatchReturnsTheSlots(t *testing.T) {
	h := newHarnessWith(t, func(c *Config) {
		c.Limits = Limits{MaxInFlight: 2}
		c.DecisionLog = policy.NewDecisionLog(&panicsOnWrite{n: 2})
	})
	f, _ := h.pageLoad(t)
	c := f.connect()
	f.send(c, batchOf(string(frameclient.Invoke(1, "t.echo", `{"msg":"a"}`)), string(frameclient.Invoke(2, "t.echo", `{"msg":"b"}`))))
	if _, err := f.recv(c); websocket.CloseStatus(err) != websocket.StatusInternalError {
		t.Fatalf("got %v, want the connection closed by the core", err)
	}
	c = f.connect()
	defer c.CloseNow()
	for id := 3; id <= 4; id++ {
		if r := f.call(c, id, "t.echo", `{"msg":"after"}`); !r.OK {
			t.Fatalf("call %d after the panic: %+v", id, r.Error)
		}
	}
}

type explodingJSON struct{}

func (explodingJSON) MarshalJSON() ([]byte, error) { panic("bad MarshalJSON") }

// A panic outside the handler itself (here encoding its result) answers the
// call handler_error; the connection and the process go on.
func TestDispatch_PanicEncodingAResultIsHandlerError(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	wantCode(t, f.call(c, 1, "t.public", `{}`), codes.HandlerError)
	if r := f.call(c, 2, "t.echo", `{"msg":"still here"}`); !r.OK {
		t.Fatalf("after the panic: %+v", r.Error)
	}
}

// A cancel from the page ends a call's context: the handler stops and the
// call is answered unavailable at once, whether the cancel comes in a frame
// of its own or in the same batch as the call. A cancel for no call in
// flight does nothing.
func TestCancel_EndsTheCallsContext(t *testing.T) {
	h := newHarness(t, Limits{CallTimeout: time.Hour}) // only the cancel can end t.slow
	f, _ := h.pageLoad(t)
	c := f.connect()
	f.send(c, invoke(1, "t.slow", `{}`))
	f.send(c, []byte(`{"type":"cancel","id":1}`))
	r, err := f.recv(c)
	if err != nil || r.ID != 1 {
		t.Fatalf("the cancelled call: %+v %v", r, err)
	}
	wantCode(t, r, codes.Unavailable)
	if !strings.Contains(r.Error.Message, "cancelled") {
		t.Fatalf("answered %q, want cancelled", r.Error.Message)
	}
	f.send(c, batchOf(string(invoke(2, "t.slow", `{}`)), `{"type":"cancel","id":2}`, `{"type":"cancel","id":99}`))
	r, err = f.recv(c)
	if err != nil || r.ID != 2 {
		t.Fatalf("a call cancelled in its own batch: %+v %v", r, err)
	}
	wantCode(t, r, codes.Unavailable)
	if r := f.call(c, 3, "t.echo", `{"msg":"after"}`); !r.OK {
		t.Fatalf("a call after the cancels: %+v", r)
	}
}

// What the core sends is held to what the iframe accepts: a raw result that
// is not valid JSON (a lone surrogate) is answered handler_error instead of
// making the iframe drop the connection, and an event payload nested deeper
// than MaxDepth is not sent at all.
func TestAnswer_InvalidRawResultAndDeepPayloadRefused(t *testing.T) {
	h := newHarness(t, Limits{MaxDepth: 4})
	h.c.Handle("t.fail", func(context.Context, any) (any, error) { return json.RawMessage(`{"s":"\ud800"}`), nil })
	f, _ := h.pageLoad(t)
	c := f.connect()
	wantCode(t, f.call(c, 1, "t.fail", `{}`), codes.HandlerError)
	if r := f.call(c, 2, "t.echo", `{"msg":"still connected"}`); !r.OK {
		t.Fatalf("the call after the invalid result: %+v", r)
	}
	f.listen(c, 3, "t.note")
	if n := h.c.Emit("t.note", [][][][][]int{{{{{1}}}}}); n != 0 {
		t.Fatalf("a payload 5 deep under MaxDepth 4 was sent to %d pages", n)
	}
	if n := h.c.Emit("t.note", [][][][]int{{{{1}}}}); n != 1 {
		t.Fatalf("a payload 4 deep was sent to %d pages, want 1", n)
	}
}

// An event's depth is its payload's, as a reply's is its result's: the
// blob table isogate adds beside the payload does not count against the
// app's limit.
func TestEmit_DepthIsThePayloads(t *testing.T) {
	h := newHarness(t, Limits{MaxDepth: 1})
	f, _ := h.pageLoad(t)
	c := f.connect()
	f.listen(c, 1, "t.note")
	if n := h.c.Emit("t.note", map[string]any{"data": []byte{1, 2}}); n != 1 {
		t.Fatalf("a payload 1 deep with bytes, under MaxDepth 1, was sent to %d pages, want 1", n)
	}
	if n := h.c.Emit("t.note", map[string]any{"a": map[string]any{"b": 1}}); n != 0 {
		t.Fatalf("a payload 2 deep under MaxDepth 1 was sent to %d pages", n)
	}
}

// An event's []byte values go raw in the binary form, as a reply's do: the
// payload's JSON has null where each goes and the table says where, and
// every page listening gets the same bytes.
func TestEmit_BytesGoRaw(t *testing.T) {
	h := newHarness(t, Limits{})
	var conns []*websocket.Conn
	var frames []*fakeFrame
	for range 2 {
		f, _ := h.pageLoad(t)
		c := f.connect()
		f.listen(c, 1, "t.note")
		frames, conns = append(frames, f), append(conns, c)
	}
	blob := []byte{0, 1, 2, 0xff}
	if n := h.c.Emit("t.note", map[string]any{"data": blob, "n": 1}); n != 2 {
		t.Fatalf("sent to %d pages, want 2", n)
	}
	for i, f := range frames {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, frame, err := conns[i].Read(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		pt, _, err := f.Opener.Open(nil, frame)
		if err != nil {
			t.Fatal(err)
		}
		js, blobs, err := splitPlaintext(pt)
		if err != nil || string(blobs) != string(blob) {
			t.Fatalf("page %d: blobs %x, %v; want the bytes raw", i, blobs, err)
		}
		if want := `{"type":"event","name":"t.note","payload":{"data":null,"n":1},"bin":[{"path":"/data","len":4}]}`; string(js) != want {
			t.Fatalf("page %d: event JSON %s, want %s", i, js, want)
		}
	}
}
