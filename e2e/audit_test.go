package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var auditLine = regexp.MustCompile(`(?m)^audit: (http://(127\.0\.0\.1:\d+)/\?token=([0-9a-f]{64}))$`)

// auditURL waits for the audit line on isogate's stderr.
func auditURL(t *testing.T, p *proc) (page, origin, token string) {
	t.Helper()
	var m []string
	eventually(t, "the audit line", func() bool { m = auditLine.FindStringSubmatch(p.stderr.String()); return m != nil })
	return m[1], "http://" + m[2], m[3]
}

// metrics scrapes /metrics with the token and parses Prometheus's text
// format with Prometheus's own parser.
func metrics(t *testing.T, origin, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", origin+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics with the token: %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// decided is the value of isogate_decisions_total for name and verdict.
func decided(fams map[string]*dto.MetricFamily, name, verdict string) float64 {
	total := 0.0
	for _, m := range fams["isogate_decisions_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["name"] == name && labels["verdict"] == verdict {
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// The audit page in real Chromium while the demo is driven: it shows the
// calls as they are decided, its filters work, its plots render; it needs
// its token, cannot be framed and has a strict CSP; /metrics counts what
// happened, as Prometheus's parser reads it.
func TestAudit_LivePageAndMetrics(t *testing.T) {
	p := startLogged(t, "demo", "--browser", "--audit", "127.0.0.1:0")
	page, origin, token := auditURL(t, p)

	// Without the token (or with another), nothing.
	for _, u := range []string{origin + "/", origin + "/decisions", origin + "/metrics", origin + "/?token=" + strings.Repeat("0", 64)} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", strings.Replace(u, token, "TOKEN", 1), resp.StatusCode)
		}
	}
	resp, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(csp, "frame-ancestors 'none'") ||
		!strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("the page: %d, headers %v", resp.StatusCode, resp.Header)
	}

	ctx := browser(t, chromedp.WindowSize(1280, 900))
	openApp(t, ctx, p.URL)
	before := metrics(t, origin, token)
	const secrets = 3
	for range secrets {
		if o := invoke(t, ctx, `'demo.secret'`, `{}`); o.OK || o.Code != "denied" {
			t.Fatalf("demo.secret = %+v", o)
		}
	}
	if o := invoke(t, ctx, `'demo.greet'`, `{name: 'Ada'}`); !o.OK {
		t.Fatalf("demo.greet = %+v", o)
	}

	// Every demo.secret call the log has (the demo page makes some itself
	// on load) shows on the page.
	loggedSecrets := p.decisions(t, "demo.secret")
	// The page, in another tab of the same browser.
	actx, cancel := chromedp.NewContext(ctx)
	defer cancel()
	if _, err := chromedp.Run(actx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}
	rows := func(sel string) int {
		return eval[int](t, actx, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
	}
	waitRows := func(what, cond string) {
		t.Helper()
		eval[bool](t, actx, `new Promise((resolve) => { const poll = () => (`+cond+`) ? resolve(true) : requestAnimationFrame(poll); poll(); })`)
		_ = what
	}
	waitRows("the backlog", `[...document.querySelectorAll('#decisions tbody tr')].filter((tr) => tr.querySelector('.name').textContent === 'demo.secret').length === `+fmt.Sprint(loggedSecrets))
	if got := eval[string](t, actx, `document.getElementById('status').textContent`); got != "live" {
		t.Errorf("status %q", got)
	}
	// A call made while the page is open arrives live; how long it took is
	// logged (the test waits for the row, it does not time it).
	eval[bool](t, actx, `(window.seenAt = 0, new MutationObserver(() => { if (!window.seenAt) window.seenAt = Date.now(); }).observe(document.querySelector('#decisions tbody'), {childList: true}), true)`)
	sent := eval[float64](t, ctx, `Date.now()`)
	if o := invoke(t, ctx, `'demo.greet'`, `{name: 'Live'}`); !o.OK {
		t.Fatalf("demo.greet = %+v", o)
	}
	waitRows("the live call", `window.seenAt > 0`)
	t.Logf("a live decision reached the audit page %.0f ms after the call was sent", eval[float64](t, actx, `window.seenAt`)-sent)

	// The page gets decisions with the policy's masks applied: a note's text
	// (demo/policy/log.rego masks /input/args/text) never reaches it.
	const secret = "masked-SECRET-7731"
	invoke(t, ctx, `'demo.notes.write'`, `{path: 'audit.txt', text: '`+secret+`'}`)
	waitRows("the note's decision", `[...document.querySelectorAll('#decisions tbody tr')].some((tr) => tr.querySelector('.name').textContent === 'demo.notes.write')`)
	stream, err := http.Get(origin + "/decisions?token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	var sse strings.Builder
	for sc := bufio.NewScanner(stream.Body); sc.Scan() && sc.Text() != "event: ready"; {
		sse.WriteString(sc.Text() + "\n")
	}
	stream.Body.Close()
	if !strings.Contains(sse.String(), `"demo.notes.write"`) || strings.Contains(sse.String(), secret) {
		t.Errorf("the page's stream has the write %v and the masked text %v, want the write without its text", strings.Contains(sse.String(), `"demo.notes.write"`), strings.Contains(sse.String(), secret))
	}
	if strings.Contains(eval[string](t, actx, `document.documentElement.outerHTML`), secret) {
		t.Error("the masked text is on the audit page")
	}

	// Filters: verdict, command, window, reason.
	total := rows("#decisions tbody tr")
	set := func(id, value, event string) {
		t.Helper()
		eval[bool](t, actx, fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event(%q)); return true; })()`, id, value, event))
	}
	visible := `#decisions tbody tr:not(.hidden)`
	set("f-verdict", "deny", "change")
	if n, deny := rows(visible), rows("#decisions tbody tr.deny"); n != deny || n == 0 || n == total {
		t.Errorf("verdict deny: %d rows visible, %d denials of %d", n, deny, total)
	}
	set("f-name", "demo.secret", "input")
	if n := rows(visible); n != loggedSecrets {
		t.Errorf("denied demo.secret: %d rows visible, want %d", n, loggedSecrets)
	}
	set("f-reason", "administrators", "input")
	if n := rows(visible); n != loggedSecrets {
		t.Errorf("reason filter: %d rows", n)
	}
	set("f-reason", "no such reason", "input")
	if n := rows(visible); n != 0 {
		t.Errorf("a reason nobody gave: %d rows", n)
	}
	set("f-reason", "", "input")
	set("f-name", "", "input")
	set("f-verdict", "", "change")
	if eval[bool](t, actx, `[...document.querySelectorAll('#f-window option')].some((o) => o.value === 'main')`) {
		set("f-window", "main", "change")
		if n := rows(visible); n != total {
			t.Errorf("window main: %d of %d rows", n, total)
		}
		set("f-window", "", "change")
	} else {
		t.Error("the window filter does not offer main")
	}

	// The plots render: a screenshot, kept, with more than a blank canvas
	// where each plot is.
	eval[bool](t, actx, `new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
	shot, err := chromedp.Run(actx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("ISOGATE_SCREENSHOT_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "isogate-artefacts")
		os.MkdirAll(dir, 0o755)
	}
	path := filepath.Join(dir, "audit-page.png")
	if err := os.WriteFile(path, shot, 0o644); err == nil {
		t.Logf("screenshot: %s", path)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	type rect struct{ X, Y, W, H float64 }
	dpr := eval[float64](t, actx, `window.devicePixelRatio`)
	for _, id := range []string{"p-reasons", "p-latency"} {
		r := eval[rect](t, actx, fmt.Sprintf(`(() => { const b = document.querySelector('#%s canvas').getBoundingClientRect(); return {X: b.x, Y: b.y, W: b.width, H: b.height}; })()`, id))
		sub := img.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(int(r.X*dpr), int(r.Y*dpr), int((r.X+r.W)*dpr), int((r.Y+r.H)*dpr)))
		if n := distinctColors(sub); n < 4 {
			t.Errorf("plot %s: %d colours in its %v", id, n, sub.Bounds())
		}
	}
	if n := eval[int](t, actx, `document.querySelector('#p-latency .u-legend') ? document.querySelectorAll('#p-latency .u-legend .u-series').length : 0`); n < 2 {
		t.Errorf("the latency plot has %d series (x and the commands)", n)
	}

	// Metrics: what the log says happened, and exactly the calls made.
	after := metrics(t, origin, token)
	if got := decided(after, "demo.secret", "deny") - decided(before, "demo.secret", "deny"); got != secrets {
		t.Errorf("isogate_decisions_total{name=demo.secret,verdict=deny} rose by %v, want %d", got, secrets)
	}
	if got := decided(after, "demo.greet", "allow") - decided(before, "demo.greet", "allow"); got != 2 {
		t.Errorf("demo.greet allowed rose by %v, want 2", got)
	}
	if got, logged := decided(after, "demo.greet", "allow"), p.decisions(t, "demo.greet"); got != float64(logged) {
		t.Errorf("demo.greet: %v counted, %d logged", got, logged)
	}
	for _, name := range []string{"isogate_sessions", "isogate_sessions_connected", "isogate_calls_in_flight", "isogate_upstream_errors_total", "isogate_policy_revision", "isogate_decision_latency_seconds"} {
		if after[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if v := after["isogate_sessions_connected"].GetMetric()[0].GetGauge().GetValue(); v < 1 {
		t.Errorf("isogate_sessions_connected = %v with the app open", v)
	}
	if h := after["isogate_decision_latency_seconds"]; h != nil {
		n := uint64(0)
		for _, m := range h.GetMetric() {
			n += m.GetHistogram().GetSampleCount()
		}
		if n == 0 {
			t.Error("the latency histogram is empty")
		}
	}
}

// `isogate audit FILE` serves the same page over a decision log: the
// stream holds every line of the file, and then each line appended to it
// (the file is followed, as tail -F does).
func TestAudit_OverALogFile(t *testing.T) {
	log := filepath.Join(t.TempDir(), "decisions.jsonl")
	var b strings.Builder
	for i := range 7 {
		fmt.Fprintf(&b, `{"time":"2026-12-02T07:00:0%dZ","decision_id":"d%d","window":"main","kind":"command","name":"demo.greet","seq":%d,"input":{},"result":{"allow":%v,"reasons":[]},"revision":"r1","latency_ns":1000}`+"\n", i, i, i, i%2 == 0)
	}
	os.WriteFile(log, []byte(b.String()), 0o600)
	cmd := exec.Command(binary, "audit", log)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	page, _, _ := auditURL(t, &proc{stderr: stderr})
	ctx := browser(t)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}
	eval[bool](t, ctx, `new Promise((resolve) => { const poll = () => document.querySelectorAll('#decisions tbody tr').length === 7 ? resolve(true) : requestAnimationFrame(poll); poll(); })`)
	if got := eval[string](t, ctx, `document.getElementById('counts').textContent`); !strings.Contains(got, "4 allowed, 3 denied") {
		t.Fatalf("counts %q", got)
	}
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, `{"time":"2026-12-02T07:00:09Z","decision_id":"d9","window":"main","kind":"command","name":"demo.appended","seq":9,"input":{},"result":{"allow":false,"code":"denied","reasons":["late"]},"revision":"r1","latency_ns":1000}`)
	f.Close()
	eval[bool](t, ctx, `new Promise((resolve) => { const poll = () => [...document.querySelectorAll('#decisions tbody tr')].some((tr) => tr.querySelector('.name').textContent === 'demo.appended') ? resolve(true) : requestAnimationFrame(poll); poll(); })`)
	if got := eval[string](t, ctx, `document.getElementById('counts').textContent`); !strings.Contains(got, "4 allowed, 4 denied") {
		t.Fatalf("counts after a line was appended %q", got)
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte("not a log\n"), 0o600)
	if out, err := exec.Command(binary, "audit", bad).CombinedOutput(); err == nil || !strings.Contains(string(out), "not a decision log") {
		t.Fatalf("a file that is not a log: %v %s", err, out)
	}
}
