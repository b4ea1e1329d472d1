package e2e

import (
	"strings"
	"testing"
)

func TestEvents_ListenEmitOnceThroughTheGate(t *testing.T) {
	p := startIsogate(t, "demo", "--browser")
	ctx := browser(t)
	openApp(t, ctx, p.URL)

	// Core -> page: demo.tick every second, to a listener the policy allowed.
	collectEvents(t, ctx, "demo.tick")
	eventually(t, "a demo.tick event", func() bool { return eval[int](t, ctx, `window.got['demo.tick'].length`) >= 1 })

	// A listen the policy refuses rejects denied, and nothing arrives.
	if code := eval[string](t, ctx, `isogate.listen('demo.secret', () => {}).then(() => 'ok', (e) => e.code)`); code != "denied" {
		t.Fatalf("listen to a refused event: %s", code)
	}

	// Page -> core: demo.clicked passes schema and policy and reaches the Go
	// subscriber, which answers with demo.clicks; once() fires once.
	eval[bool](t, ctx, `(async () => {
	  window.onceCount = 0;
	  await isogate.once('demo.clicks', () => { window.onceCount++; });
	  collected = [];
	  await isogate.listen('demo.clicks', (e) => collected.push(e.payload));
	  return true;
	})()`)
	for i := 0; i < 2; i++ {
		if r := eval[string](t, ctx, `isogate.emit('demo.clicked', {button: 'hello'}).then((v) => 'ok:' + v, (e) => e.code)`); r != "ok:undefined" {
			t.Fatalf("emit demo.clicked: %s", r)
		}
	}
	eventually(t, "two demo.clicks events", func() bool { return eval[int](t, ctx, `collected.length`) == 2 })
	if n := eval[int](t, ctx, `window.onceCount`); n != 1 {
		t.Fatalf("once() handler ran %d times", n)
	}
	if last := eval[string](t, ctx, `collected[1].last`); last != "hello" {
		t.Fatalf("event payload: %q", last)
	}
	// A frontend event breaking its schema, or one the policy does not allow.
	if code := eval[string](t, ctx, `isogate.emit('demo.clicked', {button: 7}).then(() => 'ok', (e) => e.code)`); code != "invalid_args" {
		t.Fatalf("emit with bad payload: %s", code)
	}
	if code := eval[string](t, ctx, `isogate.emit('demo.greet', {name: 'x'}).then(() => 'ok', (e) => e.code)`); code != "denied" {
		t.Fatalf("a command name emitted as an event: %s", code)
	}
	// unlisten stops delivery.
	before := eval[int](t, ctx, `(async () => { const un = await isogate.listen('demo.tick', () => { window.afterUnlisten = (window.afterUnlisten || 0) + 1; }); un(); return window.got['demo.tick'].length; })()`)
	eventually(t, "more ticks", func() bool { return eval[int](t, ctx, `window.got['demo.tick'].length`) >= before+2 })
	if n := eval[int](t, ctx, `window.afterUnlisten || 0`); n != 0 {
		t.Fatalf("an unlistened handler ran %d times", n)
	}
}

func TestLimits_FloodOf3000CallsAllSettle(t *testing.T) {
	p := startIsogate(t, "demo", "--browser")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	type result struct {
		Fulfilled int            `json:"fulfilled"`
		Codes     map[string]int `json:"codes"`
	}
	r := eval[result](t, ctx, `(async () => {
	  const calls = [];
	  for (let i = 0; i < 3000; i++) calls.push(isogate.invoke('demo.greet', {name: 'n' + i}));
	  const out = await Promise.allSettled(calls);
	  const codes = {};
	  let fulfilled = 0;
	  for (const o of out) {
	    if (o.status === 'fulfilled') fulfilled++;
	    else codes[o.reason.code] = (codes[o.reason.code] || 0) + 1;
	  }
	  return {fulfilled, codes};
	})()`)
	settled := r.Fulfilled
	for code, n := range r.Codes {
		if code != "rate_limited" {
			t.Errorf("%d calls rejected %s; only rate_limited is expected from a flood", n, code)
		}
		settled += n
	}
	if settled != 3000 || r.Fulfilled == 0 {
		t.Fatalf("settled %d of 3000 (%d fulfilled, %v)", settled, r.Fulfilled, r.Codes)
	}
	t.Logf("flood: %d fulfilled, %v", r.Fulfilled, r.Codes)
	if o := invoke(t, ctx, `'demo.greet'`, `{name: 'after'}`); !o.OK {
		t.Fatalf("the core does not answer after the flood: %+v", o)
	}
}

func TestLimits_RateLimitedAndTooLargeFromThePage(t *testing.T) {
	p := startIsogate(t, "demo", "--browser", "--rate", "5", "--burst", "5", "--max-message-bytes", "4096")
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	// The iframe answers too_large itself: no token of the core's is spent.
	o := invoke(t, ctx, `'demo.notes.write'`, `{path: 'big.txt', text: 'x'.repeat(5000)}`)
	if o.Code != "too_large" {
		t.Fatalf("a 5000-byte note with --max-message-bytes 4096: %+v", o)
	}
	// The page's own start-up may have drained the bucket: the note under
	// the limit goes through once a token is back.
	eventually(t, "a note under the limit to go through", func() bool {
		o := invoke(t, ctx, `'demo.notes.write'`, `{path: 'small.txt', text: 'x'.repeat(3000)}`)
		if !o.OK && o.Code != "rate_limited" {
			t.Fatalf("a note under the limit: %+v", o)
		}
		return o.OK
	})
	codes := eval[[]string](t, ctx, `Promise.allSettled(Array.from({length: 20}, (_, i) => isogate.invoke('demo.greet', {name: 'r' + i})))
	  .then((out) => out.map((o) => o.status === 'fulfilled' ? 'ok' : o.reason.code))`)
	limited := 0
	for _, c := range codes {
		if c == "rate_limited" {
			limited++
		} else if c != "ok" {
			t.Fatalf("unexpected code %s", c)
		}
	}
	if limited == 0 {
		t.Fatalf("20 calls at once with --rate 5 --burst 5: none rate_limited (%v)", codes)
	}
}

func TestIframeRemoved_CallsSettleUnavailableThenWorkAgain(t *testing.T) {
	logPath := t.TempDir() + "/backend.log"
	p := startIsogate(t, "run", "--browser", "--app", "testdata/wrap/app", "--policy", "testdata/wrap/policy",
		"--upstream-cmd", python(t)+" testdata/backend.py "+logPath)
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	eventually(t, "the backend to start", func() bool { return invoke(t, ctx, `'app.echo'`, `{}`).OK })
	code := eval[string](t, ctx, `(async () => {
	  const slow = isogate.invoke('app.sleep', {ms: 3000}).then(() => 'ok', (e) => e.code);
	  await new Promise((r) => setTimeout(r, 200));
	  document.querySelector('iframe[sandbox]').remove();
	  return slow;
	})()`)
	if code != "unavailable" {
		t.Fatalf("call in flight when the iframe was removed: %s", code)
	}
	if o := invoke(t, ctx, `'app.echo'`, `{again: true}`); !o.OK {
		t.Fatalf("a call after the iframe was replaced: %+v", o)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('iframe[sandbox]').length`); n != 1 {
		t.Fatalf("%d isolation iframes after the replacement", n)
	}
}

// With --max-depth 4, a call nested 5 deep is refused on its own, by the
// iframe holding the core's own limit, while a call in flight on the same
// connection completes. (The iframe once held a copied limit of 64: the
// call reached the core, which closed the connection and failed every call
// in flight with unavailable.)
func TestLimits_DepthFromTheCoreRefusesOneCallOnly(t *testing.T) {
	logPath := t.TempDir() + "/backend.log"
	p := startIsogate(t, "run", "--browser", "--app", "testdata/wrap/app", "--policy", "testdata/wrap/policy",
		"--max-depth", "4", "--upstream-cmd", python(t)+" testdata/backend.py "+logPath)
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	eventually(t, "the backend to start", func() bool { return invoke(t, ctx, `'app.echo'`, `{}`).OK })
	got := eval[[]string](t, ctx, `Promise.allSettled([
	    isogate.invoke('app.sleep', {ms: 300}),
	    isogate.invoke('app.echo', {a: [[[[1]]]]}),
	    isogate.invoke('app.echo', {a: [[1]]}), // echoed inside {"echo": ...}: the result is 4 deep
	  ]).then((out) => out.map((o) => o.status === 'fulfilled' ? 'ok' : o.reason.code + ': ' + o.reason.message))`)
	if len(got) != 3 || got[0] != "ok" || !strings.HasPrefix(got[1], "invalid_args: args are nested more than 4 deep") || got[2] != "ok" {
		t.Fatalf("sleep, 5-deep echo, 3-deep echo under --max-depth 4 = %q; want ok, invalid_args (nested more than 4 deep), ok", got)
	}
}
