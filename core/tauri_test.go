package core

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/codes"
	"github.com/isogate/isogate/internal/frameclient"
)

func tauriInvoke(id int, kind, name, args, cmd, extra string) []byte {
	if extra == "" {
		extra = `"headers":{},"raw":false,"channels":[],"target":null`
	}
	return fmt.Appendf(nil, `{"type":"invoke","id":%d,"kind":%q,"name":%q,"args":%s,"tauri":{"cmd":%q,%s}}`, id, kind, name, args, cmd, extra)
}

// A Channel the page passed to an allowed call gets the handler's
// messages in order, with contiguous indexes, bytes as a blob, then the
// end; the handler reaches only the channels its call carried, and sees
// the call's headers.
func TestTauri_ChannelDeliversInOrderThenEnds(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	f.send(c, tauriInvoke(1, "command", "t_chan", `{"onEvent":"__CHANNEL__:17","other":"__CHANNEL__:18"}`, "t_chan",
		`"headers":{"x-who":"ada"},"raw":false,"channels":["/onEvent"],"target":null`))
	var got []string
	for {
		m, err := f.recv(c)
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == "reply" {
			if !m.OK || string(m.Result) != `"ada"` {
				t.Fatalf("reply %+v %s", m.Error, m.Result)
			}
			break
		}
		var ch struct {
			ID, Index int
			End       bool
			Message   json.RawMessage
		}
		json.Unmarshal(m.Raw, &ch)
		got = append(got, fmt.Sprintf("%s %d %d %s %x %v", m.Type, ch.ID, ch.Index, ch.Message, m.Blobs, ch.End))
	}
	want := []string{`channel 17 0 {"n":0}  false`, `channel 17 1 {"n":1}  false`, `channel 17 2 {"n":2}  false`, `channel 17 3 null 010203 false`, `channel 17 4   true`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("channel messages:\n%q\nwant\n%q", got, want)
	}
}

// A Tauri command's error value reaches the page with the code.
func TestTauri_RejectWithAValue(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	f.send(c, tauriInvoke(1, "command", "t_reject", `{}`, "t_reject", ""))
	r, err := f.recv(c)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, r, codes.HandlerError)
	if string(r.Error.Value) != `{"kind":"NotFound"}` {
		t.Fatalf("error value %s", r.Error.Value)
	}
}

// Tauri's emit reaches every page whose listen was allowed, the sender's
// too, with its target; a page that did not listen gets nothing.
func TestTauri_EmitReachesEveryListeningPage(t *testing.T) {
	h := newHarness(t, Limits{})
	listen := tauriInvoke(1, "listen", "t-ev", "null", "plugin:event|listen", `"headers":{},"raw":false,"channels":[],"target":{"kind":"Any"}`)
	type page struct {
		f *fakeFrame
		c *websocket.Conn
	}
	var pages []page
	for i := range 3 {
		f, _ := h.pageLoad(t)
		p := page{f, f.connect()}
		if i < 2 { // the third does not listen
			f.send(p.c, listen)
			if r, err := f.recv(p.c); err != nil || !r.OK {
				t.Fatalf("listen: %+v %v", r, err)
			}
		}
		pages = append(pages, p)
	}
	sender := pages[0]
	sender.f.send(sender.c, tauriInvoke(2, "event", "t-ev", `{"hi":1}`, "plugin:event|emit_to", `"headers":{},"raw":false,"channels":[],"target":{"kind":"AnyLabel","label":"main"}`))
	for i, p := range pages[:2] {
		for {
			m, err := p.f.recv(p.c)
			if err != nil {
				t.Fatalf("page %d: %v", i, err)
			}
			if m.Type == "reply" {
				continue // the sender's emit
			}
			if m.Type != "event" || string(m.Payload) != `{"hi":1}` || !strings.Contains(string(m.Raw), `"target":{"kind":"AnyLabel","label":"main"}`) {
				t.Fatalf("page %d got %s", i, m.Raw)
			}
			break
		}
	}
	// The third page's next message is the reply to its own call: no event came first.
	third := pages[2]
	if r := third.f.call(third.c, 5, "t.echo", `{"msg":"x"}`); !r.OK {
		t.Fatalf("third page: %+v", r)
	}
}

// An emit_to a window label reaches only that window's pages.
func TestTauri_EmitToALabelStaysInThatWindow(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t) // window main
	c := f.connect()
	f.send(c, tauriInvoke(1, "listen", "t-ev", "null", "plugin:event|listen", `"headers":{},"raw":false,"channels":[],"target":{"kind":"Any"}`))
	if r, err := f.recv(c); err != nil || !r.OK {
		t.Fatalf("listen: %+v %v", r, err)
	}
	f.send(c, tauriInvoke(2, "event", "t-ev", `"for other"`, "plugin:event|emit_to", `"headers":{},"raw":false,"channels":[],"target":{"kind":"AnyLabel","label":"other"}`))
	f.send(c, tauriInvoke(3, "event", "t-ev", `"for main"`, "plugin:event|emit_to", `"headers":{},"raw":false,"channels":[],"target":{"kind":"Window","label":"main"}`))
	for {
		m, err := f.recv(c)
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == "event" {
			if string(m.Payload) != `"for main"` {
				t.Fatalf("the main window's page got %s", m.Raw)
			}
			return
		}
	}
}

// In a Tauri app, a page that calls without Tauri's API (window.isogate) is
// put to the policy as the call Tauri would have made, so rules keyed on
// input.tauri hold for it too; outside Tauri mode it has no input.tauri.
func TestTauri_CallsWithoutTheMemberAreDescribedToo(t *testing.T) {
	for _, tauriMode := range []bool{true, false} {
		h := newHarnessWith(t, func(c *Config) {
			if tauriMode {
				c.Tauri = &Tauri{}
			}
		})
		f, _ := h.pageLoad(t)
		c := f.connect()
		f.send(c, frameclient.Listen(1, "t-ev"))
		r, err := f.recv(c)
		if err != nil {
			t.Fatal(err)
		}
		if r.OK != tauriMode {
			t.Fatalf("Tauri mode %v: a plain listen answered %+v", tauriMode, r.Error)
		}
	}
}

// An error's value is for a Tauri page's invoke; any other page gets the
// code and message only (a backend's error.data may be a traceback).
func TestTauri_ErrorValueOnlyForTauriCalls(t *testing.T) {
	h := newHarnessWith(t, func(c *Config) { c.Tauri = &Tauri{} })
	f, _ := h.pageLoad(t)
	c := f.connect()
	f.send(c, invoke(1, "t_reject", `{}`))
	r, err := f.recv(c)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, r, codes.HandlerError)
	if len(r.Error.Value) != 0 {
		t.Fatalf("a plain call got the error value %s", r.Error.Value)
	}
}

// A channel a backend holds a token for closes with its connection: the
// token names nothing from then on, and the table does not keep it.
func TestTauri_ChannelTokensGoWithTheConnection(t *testing.T) {
	h := newHarness(t, Limits{})
	f, c, token := tokenChannel(t, h)
	if _, ok := ChannelByToken(token); !ok {
		t.Fatal("the token names no channel while the call's connection is open")
	}
	c.Close(websocket.StatusNormalClosure, "")
	// The core's read loop ends with the connection and releases the
	// session; a call on a new connection is answered after that.
	c2 := f.connect()
	if r := f.call(c2, 2, "t.echo", `{"msg":"x"}`); !r.OK {
		t.Fatalf("%+v", r)
	}
	if _, ok := ChannelByToken(token); ok {
		t.Fatal("the token still names a channel after its connection closed")
	}
}

// A channel id is the page's own: two pages passing the same
// __CHANNEL__:9 get two channels with tokens of their own, and what a
// backend sends on one page's reaches that page only. A page naming the id
// another page passed (a forged id) names only its own.
func TestTauri_AChannelIDNamesOnlyThePagesOwn(t *testing.T) {
	h := newHarness(t, Limits{})
	fa, ca, ta := tokenChannel(t, h)
	fb, cb, tb := tokenChannel(t, h)
	if ta == tb {
		t.Fatal("two pages' channels share a token")
	}
	chA, okA := ChannelByToken(ta)
	chB, okB := ChannelByToken(tb)
	if !okA || !okB {
		t.Fatal("a token names no channel")
	}
	if err := chA.Send("for A"); err != nil {
		t.Fatal(err)
	}
	if err := chB.Send("for B"); err != nil {
		t.Fatal(err)
	}
	// Each page's first channel message is its own: A's never reaches B.
	for _, p := range []struct {
		f    *fakeFrame
		c    *websocket.Conn
		want string
	}{{fb, cb, `"for B"`}, {fa, ca, `"for A"`}} {
		m, err := p.f.recv(p.c)
		if err != nil {
			t.Fatal(err)
		}
		var ch struct {
			ID      int
			Message json.RawMessage
		}
		json.Unmarshal(m.Raw, &ch)
		if m.Type != "channel" || ch.ID != 9 || string(ch.Message) != p.want {
			t.Fatalf("got %s %d %s, want channel 9 %s", m.Type, ch.ID, ch.Message, p.want)
		}
	}
}

// tokenChannel loads a page whose call passes __CHANNEL__:9 to t_token,
// which answers the channel's backend token.
func tokenChannel(t *testing.T, h *harness) (*fakeFrame, *websocket.Conn, string) {
	t.Helper()
	f, _ := h.pageLoad(t)
	c := f.connect()
	f.send(c, tauriInvoke(1, "command", "t_token", `{"onEvent":"__CHANNEL__:9"}`, "t_token",
		`"headers":{},"raw":false,"channels":["/onEvent"],"target":null`))
	r, err := f.recv(c)
	if err != nil || !r.OK {
		t.Fatalf("%+v %v", r, err)
	}
	var token string
	json.Unmarshal(r.Result, &token)
	return f, c, token
}

// convertFileSrc's URLs answer 403 to every method a page may send
// unsealed, and never reach the app's files, even one at that very path;
// without Tauri the same path is the app's, as any other.
func TestTauri_AssetURLsNeverReachTheApp(t *testing.T) {
	for _, tauriMode := range []bool{true, false} {
		h := newHarnessWith(t, func(c *Config) {
			c.App = fstest.MapFS{"index.html": &fstest.MapFile{Data: []byte("<!doctype html>")}, "__isogate/asset/passwd": &fstest.MapFile{Data: []byte("root:x:0:0")}}
			if tauriMode {
				c.Tauri = &Tauri{}
			}
		})
		h.pageLoad(t) // the launch cookie
		for _, method := range []string{"GET", "HEAD", "OPTIONS"} {
			code, _, body := rawRequest(t, h.c.Origin(), method, tauriAssetPath+"passwd")
			switch {
			case tauriMode && (code != http.StatusForbidden || strings.Contains(body, "root:")):
				t.Errorf("Tauri app: %s %spasswd = %d %q, want 403 and not the file", method, tauriAssetPath, code, body)
			case !tauriMode && method == "GET" && (code != http.StatusOK || body != "root:x:0:0"):
				t.Errorf("no Tauri: GET %spasswd = %d %q, want the app's file", tauriAssetPath, code, body)
			}
		}
	}
}
