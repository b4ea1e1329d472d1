package fleet

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/isogate/isogate/internal/fleettest"
	"github.com/isogate/isogate/policy"
	"github.com/open-policy-agent/opa/v1/bundle"
)

func rsaPair(t *testing.T) (private, public string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}

// signedBundle builds rego as a bundle, signs it with key under keyID and
// then lets tamper change it (after signing, as an attacker on the way
// would) before writing it.
func signedBundle(t *testing.T, revision, rego, key, keyID string, tamper func(*bundle.Bundle)) []byte {
	t.Helper()
	b, err := policy.BuildBundle(context.Background(), fstest.MapFS{
		"p.rego":            {Data: []byte(rego)},
		"schemas/t.go.json": {Data: []byte(`{}`)},
	}, revision)
	if err != nil {
		t.Fatal(err)
	}
	var sign *bundle.SigningConfig
	if key != "" {
		sign = bundle.NewSigningConfig(key, "RS256", "")
	}
	if sign != nil {
		if err := b.GenerateSignature(sign, keyID, false); err != nil {
			t.Fatal(err)
		}
	}
	if tamper != nil {
		tamper(b)
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(*b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// With keys and a signing config, OPA's bundle plugin verifies every
// bundle: an unsigned one, one signed with another key, one signed under
// an unknown key id, and one with a file changed or added after signing
// are refused (and OPA's log says so), and the last good revision keeps
// deciding; a good one after them is taken.
func TestFleet_SignedBundlesThroughThePlugin(t *testing.T) {
	priv, pub := rsaPair(t)
	otherPriv, _ := rsaPair(t)
	srv := &fleettest.Bundles{}
	srv.Publish(signedBundle(t, "s1", allowGo, priv, "fleet", nil), `"s1"`)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	// The key is inline PEM: OPA's configuration takes the key itself
	// (keys.ParseKeysConfig), not a path. No keyid is pinned, so the
	// signature's kid names the key (with one pinned, OPA verifies with it
	// whatever the kid says, and a kid of another name is no refusal).
	config, _ := json.Marshal(map[string]any{
		"services": map[string]any{"fleet": map[string]any{"url": hs.URL}},
		"keys":     map[string]any{"fleet": map[string]any{"key": pub, "algorithm": "RS256"}},
		"bundles": map[string]any{"isogate": map[string]any{"service": "fleet", "resource": "/b.tar.gz",
			"signing": map[string]any{}, "polling": map[string]any{"min_delay_seconds": 1, "max_delay_seconds": 1}}},
	})
	logged := newSyncLog()
	policies := make(chan *policy.Policy, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := Start(ctx, config, "test", slog.New(slog.NewTextHandler(logged, nil)),
		func(p *policy.Policy) { policies <- p }, func(err error) { t.Errorf("isogate refused a bundle OPA took: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop(context.Background())
	next := func() *policy.Policy {
		t.Helper()
		select {
		case p := <-policies:
			return p
		case <-time.After(30 * time.Second):
			t.Fatalf("no bundle activated; OPA said:\n%s", logged.String())
		}
		return nil
	}
	if p := next(); p.Revision() != "s1" {
		t.Fatalf("first revision %s", p.Revision())
	}
	srv.Watch()
	changed := func(b *bundle.Bundle) {
		for i := range b.Modules {
			b.Modules[i].Raw = []byte(denyGo)
			b.Modules[i].Parsed = nil
		}
	}
	added := func(b *bundle.Bundle) {
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: "/extra.rego", Path: "/extra.rego", Raw: []byte(denyGo)})
	}
	for _, c := range []struct {
		name, etag string
		body       []byte
	}{
		{"unsigned", `"u"`, signedBundle(t, "u", denyGo, "", "", nil)},
		{"another key", `"k"`, signedBundle(t, "k", denyGo, otherPriv, "fleet", nil)},
		{"an unknown key id", `"i"`, signedBundle(t, "i", denyGo, priv, "stranger", nil)},
		{"a file changed after signing", `"c"`, signedBundle(t, "c", allowGo, priv, "fleet", changed)},
		{"a file added after signing", `"a"`, signedBundle(t, "a", allowGo, priv, "fleet", added)},
	} {
		before := strings.Count(logged.String(), "Bundle load failed")
		srv.Publish(c.body, c.etag)
		srv.WaitServed(t, c.etag)
		for strings.Count(logged.String(), "Bundle load failed") == before {
			select { // OPA logs the refusal after the download it follows
			case <-logged.changed:
			case <-time.After(30 * time.Second):
				t.Fatalf("%s: no refusal logged:\n%s", c.name, logged.String())
			}
		}
		select {
		case p := <-policies:
			t.Fatalf("%s: revision %s became the policy", c.name, p.Revision())
		default:
		}
	}
	srv.Publish(signedBundle(t, "s2", denyGo, priv, "fleet", nil), `"s2"`)
	if p := next(); p.Revision() != "s2" {
		t.Fatalf("after the refused ones, revision %s", p.Revision())
	}
}

// syncLog is a log OPA's plugins write from their goroutines.
type syncLog struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{} // a signal after each write
}

func newSyncLog() *syncLog { return &syncLog{changed: make(chan struct{}, 1)} }

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	n, err := l.b.Write(p)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Decisions go to OPA's decision-log plugin, which uploads them gzip'd to
// the service as OPA decision events: the decision id of isogate's own
// line, the revision, the labels, the input with the policy's masks
// applied, the verdict. The status plugin reports the active revision and
// isogate's own state, ERROR (and which revision still decides) after a
// bundle isogate refused.
func TestFleet_DecisionsAndStatusReachTheServices(t *testing.T) {
	rcv := fleettest.NewReceiver()
	srv := &fleettest.Bundles{}
	mux := http.NewServeMux()
	mux.Handle("/b.tar.gz", srv)
	mux.Handle("/", rcv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	publish := func(revision string, files map[string]string) {
		fsys := fstest.MapFS{}
		for k, v := range files {
			fsys[k] = &fstest.MapFile{Data: []byte(v)}
		}
		b, err := policy.BuildBundle(context.Background(), fsys, revision)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := policy.WriteBundle(&buf, b, nil, ""); err != nil {
			t.Fatal(err)
		}
		srv.Publish(buf.Bytes(), `"`+revision+`"`)
	}
	files := map[string]string{
		"p.rego":             "package isogate\n\nallow if input.name == \"login\"\n",
		"log.rego":           "package system.log\n\nmask contains \"/input/args/password\"\n",
		"schemas/login.json": `{"type": "object"}`,
	}
	publish("r1", files)
	config := fmt.Sprintf(`{
	  "services": {"fleet": {"url": %q}},
	  "bundles": {"isogate": {"service": "fleet", "resource": "/b.tar.gz", "polling": {"min_delay_seconds": 1, "max_delay_seconds": 1}}},
	  "decision_logs": {"service": "fleet", "reporting": {"min_delay_seconds": 1, "max_delay_seconds": 1}},
	  "status": {"service": "fleet"},
	  "labels": {"app": "notes", "version": "1.4.0", "host": "laptop-7"}
	}`, hs.URL)
	policies := make(chan *policy.Policy, 8)
	refused := make(chan error, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := Start(ctx, []byte(config), "test", slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(p *policy.Policy) { policies <- p }, func(err error) { refused <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop(context.Background())
	var p *policy.Policy
	select {
	case p = <-policies:
	case <-time.After(30 * time.Second):
		t.Fatal("no bundle activated")
	}
	var file bytes.Buffer
	dl := policy.NewDecisionLog(&file)
	dl.AddSink(f.Log)
	in := policy.Input{Kind: policy.KindCommand, Name: "login", Args: map[string]any{"user": "ada", "password": "hunter2"}, Session: "s1", Window: "main", Seq: 1}
	if err := dl.Record(ctx, policy.Entry{Policy: p, Input: policy.Prepare(in), Verdict: p.Check(ctx, in), Latency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	// Before the first bundle, and for an unsealed request, no policy
	// decided: the events say so, and name no revision.
	pending := policy.Pending("no bundle yet")
	if err := dl.Record(ctx, policy.Entry{Policy: pending, Input: policy.Prepare(in), Verdict: pending.Check(ctx, in)}); err != nil {
		t.Fatal(err)
	}
	unsealed := policy.Input{Kind: policy.KindHTTP, Name: "DELETE /api/notes/1", Window: "main"}
	if err := dl.Record(ctx, policy.Entry{Policy: p, Input: policy.Prepare(unsealed), Unsealed: true, Suppressed: 7,
		Verdict: policy.Verdict{Code: "denied", Reasons: []string{"unsealed: not through the gate"}}}); err != nil {
		t.Fatal(err)
	}
	var lines []policy.Decision
	for _, raw := range bytes.Split(bytes.TrimSpace(file.Bytes()), []byte("\n")) {
		var d policy.Decision
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, d)
	}
	line := lines[0]
	rcv.Wait(t, "the decision events", func(events, _ []map[string]any) bool { return len(events) >= 3 })
	events, notGzip := rcv.Events()
	byID := map[any]map[string]any{}
	for _, e := range events {
		byID[e["decision_id"]] = e
	}
	for i, want := range []struct {
		unsealed, suppressed any
	}{{nil, nil}, {true, 7.0}} {
		e := byID[lines[i+1].DecisionID]
		if e == nil {
			t.Fatalf("no event for decision %d", i+1)
		}
		if e["revision"] != nil || e["bundles"] != nil {
			t.Errorf("decision %d, decided by no policy, has revision %v, bundles %v", i+1, e["revision"], e["bundles"])
		}
		if u, n := fleettest.At(e, "custom", "isogate", "unsealed"), fleettest.At(e, "custom", "isogate", "suppressed"); u != want.unsealed || n != want.suppressed {
			t.Errorf("decision %d: unsealed %v, suppressed %v; want %v, %v", i+1, u, n, want.unsealed, want.suppressed)
		}
	}
	e := byID[line.DecisionID]
	if notGzip != 0 {
		t.Errorf("%d uploads were not gzip'd", notGzip)
	}
	checks := []struct {
		what string
		got  any
		want any
	}{
		{"decision_id", e["decision_id"], line.DecisionID},
		{"revision", e["revision"], "r1"},
		{"bundle revision", fleettest.At(e, "bundles", "isogate", "revision"), "r1"},
		{"label app", fleettest.At(e, "labels", "app"), "notes"},
		{"label host", fleettest.At(e, "labels", "host"), "laptop-7"},
		{"path", e["path"], "isogate"},
		{"user", fleettest.At(e, "input", "args", "user"), "ada"},
		{"password", fleettest.At(e, "input", "args", "password"), nil},
		{"allow", fleettest.At(e, "result", "allow"), true},
		{"window", fleettest.At(e, "custom", "isogate", "window"), "main"},
		{"erased", fmt.Sprint(fleettest.At(e, "custom", "isogate", "erased")), "[/input/args/password]"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("event %s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if raw, _ := json.Marshal(e); bytes.Contains(raw, []byte("hunter2")) {
		t.Errorf("the masked password reached the service: %s", raw)
	}
	if _, ok := fleettest.At(e, "metrics").(map[string]any)["counter_isogate_decision_latency_ns"]; !ok {
		t.Errorf("event metrics %v", fleettest.At(e, "metrics"))
	}
	status := func(revision, state, message string) func(_, statuses []map[string]any) bool {
		is := fleettest.StatusIs("isogate", revision, state, message)
		return func(_, statuses []map[string]any) bool {
			for _, s := range statuses {
				if is(nil, []map[string]any{s}) && fleettest.At(s, "labels", "app") == "notes" {
					return true
				}
			}
			return false
		}
	}
	rcv.Wait(t, "a status report of r1, OK", status("r1", "OK", "revision r1 is deciding"))
	// A bundle OPA takes but isogate refuses: OPA's bundle status names its
	// revision; isogate's own says it was refused and r1 still decides.
	srv.Publish(rawBundle(t, "r2", map[string]string{"p.rego": files["p.rego"], "log.rego": files["log.rego"]},
		map[string]any{"schemas/login.json": `{"type": 12}`}), `"r2"`)
	select {
	case err := <-refused:
		if !strings.Contains(err.Error(), "r2") {
			t.Fatalf("refused: %v", err)
		}
	case p := <-policies:
		t.Fatalf("a bundle with a bad schema became the policy: %s", p.Revision())
	case <-time.After(30 * time.Second):
		t.Fatal("the bad bundle was neither refused nor taken")
	}
	rcv.Wait(t, "a status report of r2 refused", status("r2", "ERROR", "revision r1 keeps deciding"))
}
