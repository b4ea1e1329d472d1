package e2e

import (
	"context"
	"strings"
	"testing"
)

// outcome runs an invoke in the page and reports how it settled.
const outcomeJS = `(async (cmd, args) => {
  try { return {ok: true, result: await isogate.invoke(cmd, args)}; }
  catch (e) { return {ok: false, code: e.code, message: e.message, isError: e instanceof Error}; }
})`

type outcome struct {
	OK      bool   `json:"ok"`
	Result  any    `json:"result"`
	Code    string `json:"code"`
	Message string `json:"message"`
	IsError bool   `json:"isError"`
}

// get reads a field of an object result.
func (o outcome) get(key string) any {
	m, _ := o.Result.(map[string]any)
	return m[key]
}

func invoke(t *testing.T, ctx context.Context, cmd, args string) outcome {
	t.Helper()
	return eval[outcome](t, ctx, outcomeJS+`(`+cmd+`, `+args+`)`)
}

func TestDemo_GreetRoundTripThroughTheWholePath(t *testing.T) {
	p := startIsogate(t, "demo", "--browser", "--port", "0")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	o := invoke(t, ctx, `'demo.greet'`, `{name: 'Ada'}`)
	if !o.OK || o.get("greeting") != "Hello, Ada!" {
		t.Fatalf("invoke demo.greet = %+v", o)
	}
	// The iframe is sandboxed and cross-origin: the page can reach neither
	// its document nor anything in it.
	sandboxed := eval[bool](t, ctx, `(() => {
	  const f = document.querySelector('iframe[sandbox]');
	  if (!f || f.getAttribute('sandbox') !== 'allow-scripts') return false;
	  try { return f.contentDocument === null; } catch { return true; }
	})()`)
	if !sandboxed {
		t.Fatal("isolation iframe is missing, not sandboxed, or its document is reachable")
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit status after SIGTERM = %d, want 0", code)
	}
}

func TestDemo_RejectionsSettleWithCodes(t *testing.T) {
	p := startIsogate(t, "demo", "--browser")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	for _, c := range []struct{ name, cmd, args, code string }{
		{"schema breach", `'demo.greet'`, `{name: 42}`, "invalid_args"},
		{"extra field", `'demo.greet'`, `{name: 'a', admin: true}`, "invalid_args"},
		{"not JSON", `'demo.greet'`, `new Map()`, "invalid_args"},
		{"no schema", `'fs.readFile'`, `{path: '/etc/passwd'}`, "unknown_command"},
		{"policy denies command", `'demo.secret'`, `{}`, "denied"},
		{"policy deny rule", `'demo.greet'`, `{name: 'root'}`, "denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := invoke(t, ctx, c.cmd, c.args)
			if o.OK || o.Code != c.code || !o.IsError || o.Message == "" {
				t.Fatalf("outcome = %+v, want an Error with code %s", o, c.code)
			}
		})
	}
	// And the page still works after all that.
	if o := invoke(t, ctx, `'demo.greet'`, `{name: 'Bo'}`); !o.OK {
		t.Fatalf("greet after rejections: %+v", o)
	}
}

func TestDemo_PageCannotOpenTheTransport(t *testing.T) {
	// The main frame knows the isolation origin (from the iframe's src) and
	// can try the WebSocket itself. Its Origin is the app's, and it has no
	// transport token: the handshake fails.
	p := startIsogate(t, "demo", "--browser")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	got := eval[string](t, ctx, `new Promise((resolve) => {
	  const src = new URL(document.querySelector('iframe[sandbox]').src);
	  const ws = new WebSocket('ws://' + src.host + '/ws?s=' + '00'.repeat(16) + '&a=' + 'A'.repeat(43));
	  ws.onopen = () => resolve('open');
	  ws.onerror = () => resolve('refused');
	})`)
	if got != "refused" {
		t.Fatalf("WebSocket from the main frame: %s", got)
	}
}

func TestDemo_PageRunsItsAttackPanelAndAllAreBlocked(t *testing.T) {
	p := startIsogate(t, "demo", "--browser")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	eventually(t, "the attack panel to finish", func() bool {
		return eval[int](t, ctx, `document.querySelectorAll('#attacks td.pill').length`) == 9
	})
	rows := eval[[]string](t, ctx, `[...document.querySelectorAll('#attacks tr')].map((tr) => tr.innerText.replace(/\s+/g, ' '))`)
	for _, r := range rows {
		if !strings.Contains(r, "blocked ·") || strings.Contains(r, "NOT BLOCKED") {
			t.Errorf("attack not blocked: %s", r)
		}
	}
	t.Logf("attack panel:\n%s", strings.Join(rows, "\n"))
	if n := eval[int](t, ctx, `document.querySelectorAll('#notes li').length`); n < 1 {
		t.Fatal("the notes list is empty")
	}
	eventually(t, "ticks on the page", func() bool { return eval[string](t, ctx, `document.getElementById('tick-n').textContent`) != "–" })
}
