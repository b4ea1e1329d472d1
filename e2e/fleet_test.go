package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isogate/isogate/internal/fleettest"
	"github.com/open-policy-agent/opa/v1/bundle"
)

// fleetKeys writes an RSA key pair: the private key's file (for policy
// build) and the public key's PEM (for the OPA configuration).
func fleetKeys(t *testing.T, dir, name string) (privateFile, public string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	privateFile = filepath.Join(dir, name+".pem")
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(privateFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return privateFile, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}

// policyDir copies the demo's policy to a new directory and adds extra
// files to it.
func policyDir(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	src := "../demo/policy"
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755)
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range extra {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// buildBundle runs `isogate policy build` and returns the bundle.
func buildBundle(t *testing.T, dir, revision string, sign ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bundle.tar.gz")
	args := append([]string{"policy", "build", dir, "-o", out, "--revision", revision}, sign...)
	if b, err := exec.Command(binary, args...).CombinedOutput(); err != nil {
		t.Fatalf("policy build %s: %v\n%s", revision, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tamper changes one file of a bundle after it was signed, as someone on
// the way between the server and the install would.
func tamper(t *testing.T, raw []byte, suffix string, edit func([]byte) []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	changed := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if strings.HasSuffix(h.Name, suffix) {
			b, changed = edit(b), true
		}
		h.Size = int64(len(b))
		tw.WriteHeader(h)
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	if !changed {
		t.Fatalf("no %s in the bundle", suffix)
	}
	return out.Bytes()
}

const fleetDeny = `package isogate

deny contains "greetings are stopped by the fleet" if input.name == "demo.greet"
`

// isogate with --config in Chromium against a real bundle server and a
// real decision-log and status service: the first bundle allows a call; a
// new revision denies it with no restart; bundles with bad Rego, a bad
// signature or a file changed after signing are refused and the previous
// revision keeps deciding; the service gets gzip'd decision events, masked
// fields erased, each with the revision that decided; status reports it.
func TestFleet_PolicyFromABundleServerInChromium(t *testing.T) {
	dir := t.TempDir()
	key, pub := fleetKeys(t, dir, "fleet")
	otherKey, _ := fleetKeys(t, dir, "other")
	sign := func(key string) []string {
		return []string{"--signing-key", key, "--signing-alg", "RS256", "--signing-key-id", "fleet"}
	}
	bundles := &fleettest.Bundles{}
	rcv := fleettest.NewReceiver()
	mux := http.NewServeMux()
	mux.Handle("/bundles/", bundles)
	mux.Handle("/", rcv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	bundles.Publish(buildBundle(t, policyDir(t, nil), "r1", sign(key)...), `"r1"`)
	config, _ := json.Marshal(map[string]any{
		"services": map[string]any{"fleet": map[string]any{"url": hs.URL}},
		"keys":     map[string]any{"fleet": map[string]any{"key": pub, "algorithm": "RS256"}},
		"bundles": map[string]any{"isogate": map[string]any{"service": "fleet", "resource": "/bundles/isogate.tar.gz",
			"signing": map[string]any{"keyid": "fleet"}, "polling": map[string]any{"min_delay_seconds": 1, "max_delay_seconds": 1}}},
		"decision_logs": map[string]any{"service": "fleet", "reporting": map[string]any{"min_delay_seconds": 1, "max_delay_seconds": 1}},
		"status":        map[string]any{"service": "fleet"},
		"labels":        map[string]any{"app": "demo", "version": "1.0.0", "host": "e2e"},
	})
	configFile := filepath.Join(dir, "opa.json")
	if err := os.WriteFile(configFile, config, 0o600); err != nil {
		t.Fatal(err)
	}
	p := startLogged(t, "demo", "--browser", "--config", configFile, "--audit", "127.0.0.1:0")
	activated := func(revision string) func() bool {
		return func() bool {
			return strings.Contains(p.stderr.String(), `msg="policy bundle activated" revision=`+revision)
		}
	}
	eventually(t, "revision r1 activated", activated("r1"))
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	if o := invoke(t, ctx, `'demo.greet'`, `{name: 'Ada'}`); !o.OK {
		t.Fatalf("under r1, demo.greet = %+v", o)
	}
	if o := invoke(t, ctx, `'demo.notes.write'`, `{path: 'fleet.txt', text: 'the words of a note'}`); !o.OK {
		t.Fatalf("under r1, demo.notes.write = %+v", o)
	}
	// A new revision on the server: the running app denies the call, with
	// no restart and no reload of the page.
	bundles.Watch()
	bundles.Publish(buildBundle(t, policyDir(t, map[string]string{"fleet.rego": fleetDeny}), "r2", sign(key)...), `"r2"`)
	eventually(t, "revision r2 activated", activated("r2"))
	denied := func() {
		t.Helper()
		o := invoke(t, ctx, `'demo.greet'`, `{name: 'Ada'}`)
		if o.OK || o.Code != "denied" || !strings.Contains(o.Message, "stopped by the fleet") {
			t.Fatalf("under r2, demo.greet = %+v", o)
		}
	}
	denied()
	// Refused bundles: Rego that does not compile (signed, so only the
	// compiler stops it), one signed with another key, one with a file
	// changed after signing. Each is fetched, refused, and r2 still decides.
	good := buildBundle(t, policyDir(t, nil), "r3", sign(key)...)
	for _, c := range []struct {
		name, etag, why string // why: how OPA's log line says it
		body            []byte
	}{
		{"a server error", "status-500", "server replied with Internal Server Error", nil},
		{"garbage", `"garbage"`, "bundle read failed: archive read failed: gzip: invalid header", []byte("this is not a bundle")},
		{"bad Rego", `"bad-rego"`, "1 error occurred: /p.rego:3: rego_type_error", badRegoSigned(t, key, "bad")},
		{"another key", `"other-key"`, "failed to verify JWT signature", buildBundle(t, policyDir(t, nil), "r4", sign(otherKey)...)},
		{"a file changed after signing", `"tampered"`, "demo.rego: digest mismatch", tamper(t, good, "demo.rego", func(b []byte) []byte {
			return append(b, []byte("\nallow if true\n")...)
		})},
	} {
		// OPA logs "Bundle load failed" (download, signature) or "Bundle
		// activation failed" (compile) after the download it follows.
		refusals := func() int {
			return strings.Count(p.stderr.String(), `msg="Bundle load failed: `+c.why) +
				strings.Count(p.stderr.String(), `msg="Bundle activation failed: `+c.why)
		}
		before := refusals()
		if c.body != nil {
			bundles.Publish(c.body, c.etag)
		} else {
			bundles.Fail(http.StatusInternalServerError)
		}
		bundles.WaitServed(t, c.etag)
		eventually(t, c.name+" refused", func() bool { return refusals() > before })
		denied()
	}
	// What the service got: every decision of the session, gzip'd, each
	// with the revision that decided it; the note's text masked away.
	decisions := readDecisions(t, p.decisionLog)
	ids := map[string]map[string]any{}
	for _, d := range decisions {
		ids[d["decision_id"].(string)] = d
	}
	rcv.Wait(t, "every decision of the log", func(events, _ []map[string]any) bool {
		seen := 0
		for _, e := range events {
			if _, ok := ids[e["decision_id"].(string)]; ok {
				seen++
			}
		}
		return seen >= len(ids)
	})
	events, notGzip := rcv.Events()
	if notGzip != 0 {
		t.Errorf("%d uploads were not gzip'd", notGzip)
	}
	greets := map[string]int{}
	for _, e := range events {
		d := ids[e["decision_id"].(string)]
		if d == nil {
			t.Errorf("an event with no line in the local log: %v", e)
			continue
		}
		if e["revision"] != d["revision"] || fleettest.At(e, "bundles", "isogate", "revision") != d["revision"] {
			t.Errorf("event %v: revision %v, the log says %v", e["decision_id"], e["revision"], d["revision"])
		}
		if fleettest.At(e, "labels", "app") != "demo" || fleettest.At(e, "labels", "host") != "e2e" {
			t.Errorf("event labels %v", e["labels"])
		}
		name := fleettest.At(e, "custom", "isogate", "name")
		if name == "demo.greet" {
			greets[e["revision"].(string)+" "+map[bool]string{true: "allow", false: "deny"}[fleettest.At(e, "result", "allow") == true]]++
		}
		if name == "demo.notes.write" {
			if fleettest.At(e, "input", "args", "path") != "fleet.txt" || fleettest.At(e, "input", "args", "text") != nil {
				t.Errorf("the note's event input %v: the path kept, the text erased", e["input"])
			}
		}
	}
	raw, _ := json.Marshal(events)
	if bytes.Contains(raw, []byte("the words of a note")) {
		t.Error("the masked text of the note reached the service")
	}
	if greets["r1 allow"] == 0 || greets["r2 deny"] == 0 || greets["r1 deny"]+greets["r2 allow"] != 0 {
		t.Errorf("demo.greet decisions by revision and verdict: %v", greets)
	}
	rcv.Wait(t, "status with r2 active", fleettest.StatusIs("isogate", "r2", "OK", "revision r2 is deciding"))
	// The audit page's metrics count what the fleet's queue dropped: here,
	// with the service up throughout, nothing.
	_, origin, token := auditURL(t, p)
	if m := metrics(t, origin, token)["isogate_decisions_dropped_total"]; m == nil || m.GetMetric()[0].GetCounter().GetValue() != 0 {
		t.Errorf("isogate_decisions_dropped_total = %v, want 0 with the service up", m)
	}
}

// badRegoSigned is a bundle of Rego that does not compile, signed with
// key: it passes the signature check, and only the compiler can refuse it.
// policy build refuses such Rego, so OPA's bundle package writes it.
func badRegoSigned(t *testing.T, key, revision string) []byte {
	t.Helper()
	src := []byte("package isogate\n\nallow if undefined_function(1)\n")
	b := bundle.Bundle{Manifest: bundle.Manifest{Revision: revision}, Data: map[string]any{},
		Modules: []bundle.ModuleFile{{URL: "/p.rego", Path: "/p.rego", Raw: src}}}
	if err := b.GenerateSignature(bundle.NewSigningConfig(key, "RS256", ""), "fleet", false); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).DisableFormat(true).Write(b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
