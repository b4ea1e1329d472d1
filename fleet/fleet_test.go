package fleet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/isogate/isogate/internal/fleettest"
	"github.com/isogate/isogate/policy"
	"github.com/open-policy-agent/opa/v1/bundle"
)

// publish builds rego as a bundle and publishes it under its revision.
func publish(t *testing.T, s *fleettest.Bundles, revision, rego string) {
	t.Helper()
	s.Publish(bundleBytes(t, revision, rego), `"`+revision+`"`)
}

// bundleBytes is rego with a schema for t.go, as a bundle.
func bundleBytes(t *testing.T, revision, rego string) []byte {
	t.Helper()
	b, err := policy.BuildBundle(context.Background(), fstest.MapFS{
		"p.rego":            {Data: []byte(rego)},
		"schemas/t.go.json": {Data: []byte(`{}`)},
	}, revision)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := policy.WriteBundle(&buf, b, nil, ""); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const allowGo = "package isogate\n\nallow if input.name == \"t.go\"\n"
const denyGo = "package isogate\n\ndeny contains \"stopped by the fleet\" if input.name == \"t.go\"\n\nallow if input.name == \"t.go\"\n"

// OPA's bundle plugin polls a real bundle server; each revision it
// activates becomes the whole policy, and one that does not build (bad
// Rego) is refused while the last good one keeps deciding.
func TestFleet_BundlesFromAServerBecomeThePolicy(t *testing.T) {
	srv := &fleettest.Bundles{}
	publish(t, srv, "r1", allowGo)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	config := fmt.Sprintf(`{
	  "services": {"fleet": {"url": %q}},
	  "bundles": {"isogate": {"service": "fleet", "resource": "/bundle.tar.gz", "polling": {"min_delay_seconds": 1, "max_delay_seconds": 1}}},
	  "labels": {"app": "t", "version": "1"}
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
	next := func() *policy.Policy {
		t.Helper()
		select {
		case p := <-policies:
			return p
		case err := <-refused:
			t.Fatalf("refused: %v", err)
		case <-time.After(30 * time.Second): // a hang fails instead of blocking CI
			t.Fatal("no bundle activated")
		}
		return nil
	}
	in := policy.Input{Kind: policy.KindCommand, Name: "t.go", Args: map[string]any{}}
	p := next()
	if p.Revision() != "r1" || !p.Check(ctx, in).Allow {
		t.Fatalf("first bundle: revision %s, %+v", p.Revision(), p.Check(ctx, in))
	}
	publish(t, srv, "r2", denyGo)
	p = next()
	if v := p.Check(ctx, in); p.Revision() != "r2" || v.Allow || !strings.Contains(strings.Join(v.Reasons, ";"), "stopped by the fleet") {
		t.Fatalf("second bundle: revision %s, %+v", p.Revision(), v)
	}
	// Garbage, then a bundle whose Rego does not compile: OPA's plugin
	// refuses both and activates nothing, so nothing reaches the core. A
	// bundle OPA takes but isogate cannot build (a schema that is not JSON)
	// is refused here. After each, the r2 policy is still the last.
	srv.Watch()
	for _, c := range []struct {
		body []byte
		etag string
	}{
		{[]byte("this is not a bundle"), `"garbage"`},
		{rawBundle(t, "r4", map[string]string{"p.rego": "package isogate\n\nallow if undefined_function(1)\n"}, nil), `"r4"`},
	} {
		srv.Publish(c.body, c.etag)
		srv.WaitServed(t, c.etag)
	}
	srv.Publish(rawBundle(t, "r5", map[string]string{"p.rego": allowGo}, map[string]any{"schemas/t.go.json": "{not json"}), `"r5"`)
	select {
	case err := <-refused:
		if !strings.Contains(err.Error(), "r5") {
			t.Fatalf("refused: %v", err)
		}
	case p := <-policies:
		t.Fatalf("a broken bundle became the policy: %s", p.Revision())
	case <-time.After(30 * time.Second):
		t.Fatal("the broken bundle was neither refused nor taken")
	}
	select {
	case p := <-policies:
		t.Fatalf("revision %s reached the core", p.Revision())
	default:
	}
	publish(t, srv, "r6", allowGo)
	if p := next(); p.Revision() != "r6" {
		t.Fatalf("after the broken ones, revision %s", p.Revision())
	}
}

// rawBundle writes a bundle as given, unchecked: what a broken publisher
// might serve.
func rawBundle(t *testing.T, revision string, modules map[string]string, files map[string]any) []byte {
	t.Helper()
	b := bundle.Bundle{Manifest: bundle.Manifest{Revision: revision}, Data: map[string]any{}}
	for name, src := range modules {
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: name, Path: name, Raw: []byte(src)})
	}
	if files != nil {
		b.Data[policy.FilesKey] = files
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).DisableFormat(true).Write(b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
