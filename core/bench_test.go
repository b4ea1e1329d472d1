package core

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isogate/isogate/codes"

	"github.com/isogate/isogate/crypto"
	"github.com/isogate/isogate/fleet"
	"github.com/isogate/isogate/internal/fleettest"
	"github.com/isogate/isogate/policy"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

var refSecret, refID = crypto.NewSession()

// refMessages is a realistic mix for the reference policy: allowed calls,
// role checks, data lookups and each deny reason.
var refMessages = []string{
	`{"type":"invoke","id":1,"kind":"command","name":"docs.read","args":{"user":"cy","path":"workspace/plan.md"}}`,
	`{"type":"invoke","id":2,"kind":"command","name":"docs.write","args":{"user":"bo","path":"workspace/plan.md","text":"hello"}}`,
	`{"type":"invoke","id":3,"kind":"command","name":"docs.write","args":{"user":"cy","path":"workspace/plan.md","text":"hello"}}`,
	`{"type":"invoke","id":4,"kind":"command","name":"docs.read","args":{"user":"bo","path":"../etc/passwd"}}`,
	`{"type":"invoke","id":5,"kind":"command","name":"admin.users","args":{"user":"ada"}}`,
	`{"type":"invoke","id":6,"kind":"command","name":"share.create","args":{"user":"dee","path":"workspace/a","with":"x@evil.example"}}`,
	`{"type":"invoke","id":7,"kind":"command","name":"docs.search","args":{"user":"cy","q":"quarterly report"}}`,
	`{"type":"invoke","id":8,"kind":"command","name":"settings.set","args":{"user":"ada","key":"sso","value":true}}`,
	`{"type":"invoke","id":9,"kind":"listen","name":"docs.changed","args":null}`,
	`{"type":"invoke","id":10,"kind":"command","name":"user.me","args":{"user":"bo"}}`,
}

func refPolicy(tb testing.TB) *policy.Policy {
	p, err := policy.Load(context.Background(), os.DirFS("testdata/refpolicy"))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// sealedRef seals each reference message once.
func sealedRef(tb testing.TB) (*crypto.Keys, [][]byte) {
	keys, _ := crypto.DeriveKeys(refSecret[:], refID)
	s := crypto.NewSealer(keys, crypto.ToCore)
	var frames [][]byte
	for _, m := range refMessages {
		f, _ := s.Seal(nil, []byte(m))
		frames = append(frames, f)
	}
	return keys, frames
}

// isogatePath is the core's per-message work up to the verdict.
func isogatePath(tb testing.TB) func(i int) policy.Verdict { return isogatePathWith(tb, refPolicy(tb)) }

// isogatePathWith is isogatePath deciding with p.
func isogatePathWith(tb testing.TB, p *policy.Policy) func(i int) policy.Verdict {
	keys, frames := sealedRef(tb)
	ctx := context.Background()
	buf := make([]byte, 0, 4096)
	return func(i int) policy.Verdict {
		o := crypto.NewOpener(keys, crypto.ToCore) // a fresh window: the same frame opens every time
		pt, seq, err := o.Open(buf[:0], frames[i%len(frames)])
		if err != nil {
			tb.Fatal(err)
		}
		m, err := decodeOne(pt, DefaultLimits().MaxDepth)
		if err != nil {
			tb.Fatal(err)
		}
		in := policy.Input{Kind: m.Kind, Name: m.Name, Args: m.Args, Window: DefaultWindow, Session: "s", Seq: seq}
		return p.Check(ctx, in)
	}
}

// naivePath is the same work built plainly from the same libraries: AEAD
// open, encoding/json into any, jsonschema Validate, one prepared OPA query
// over the whole input.
func naivePath(tb testing.TB) func(i int) policy.Verdict {
	keys, frames := sealedRef(tb)
	_ = keys
	dir := "testdata/refpolicy"
	c := jsonschema.NewCompiler()
	schemas := map[string]*jsonschema.Schema{}
	entries, _ := os.ReadDir(filepath.Join(dir, "schemas"))
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".json")
		schemas[name] = c.MustCompile(filepath.Join(dir, "schemas", e.Name()))
	}
	src, _ := os.ReadFile(filepath.Join(dir, "ref.rego"))
	dataBytes, _ := os.ReadFile(filepath.Join(dir, "data.json"))
	var data map[string]any
	json.Unmarshal(dataBytes, &data)
	pq, err := rego.New(rego.Query("data.isogate"), rego.Module("ref.rego", string(src)),
		rego.Store(inmem.NewFromObject(data))).PrepareForEval(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	aead := naiveAEAD(tb, keys)
	ctx := context.Background()
	return func(i int) policy.Verdict {
		f := frames[i%len(frames)]
		pt, err := aead.Open(nil, append(make([]byte, 4), f[18:26]...), f[crypto.HeaderSize:], f[:crypto.HeaderSize])
		if err != nil {
			tb.Fatal(err)
		}
		var msg map[string]any
		if err := json.Unmarshal(pt, &msg); err != nil {
			tb.Fatal(err)
		}
		name, _ := msg["name"].(string)
		if msg["kind"] != "listen" {
			s, ok := schemas[name]
			if !ok {
				return policy.Verdict{Code: codes.UnknownCommand}
			}
			if err := s.Validate(msg["args"]); err != nil {
				return policy.Verdict{Code: codes.InvalidArgs}
			}
		}
		rs, err := pq.Eval(ctx, rego.EvalInput(map[string]any{"kind": msg["kind"], "name": name, "args": msg["args"], "window": "main", "session": "s", "seq": 1}))
		if err != nil || len(rs) != 1 {
			return policy.Verdict{Code: codes.Denied}
		}
		doc, _ := rs[0].Expressions[0].Value.(map[string]any)
		deny, _ := doc["deny"].([]any)
		v := policy.Verdict{Allow: doc["allow"] == true && len(deny) == 0}
		if !v.Allow {
			v.Code = codes.Denied
		}
		return v
	}
}

func BenchmarkP1Isogate(b *testing.B) {
	run := isogatePath(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		run(i)
	}
}

// refBundlePolicy is the reference policy as a fleet gets it: built into
// a bundle, served by a bundle server on loopback, activated by OPA's
// bundle plugin and built from what the plugin stored.
func refBundlePolicy(tb testing.TB) *policy.Policy {
	b, err := policy.BuildBundle(context.Background(), os.DirFS("testdata/refpolicy"), "ref")
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := policy.WriteBundle(&buf, b, nil, ""); err != nil {
		tb.Fatal(err)
	}
	srv := &fleettest.Bundles{}
	srv.Publish(buf.Bytes(), `"ref"`)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	got := make(chan *policy.Policy, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := fleet.Start(ctx, fmt.Appendf(nil, `{"services": {"s": {"url": %q}}, "bundles": {"isogate": {"service": "s", "resource": "/b"}}}`, hs.URL),
		"bench", slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(p *policy.Policy) {
			select {
			case got <- p:
			default:
			}
		}, func(err error) { tb.Errorf("the reference bundle was refused: %v", err) })
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Stop(context.Background())
	select {
	case p := <-got:
		return p
	case <-time.After(30 * time.Second):
		tb.Fatal("the reference bundle was never activated")
	}
	return nil
}

func BenchmarkP1Bundle(b *testing.B) {
	run := isogatePathWith(b, refBundlePolicy(b))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		run(i)
	}
}

func BenchmarkP1Naive(b *testing.B) {
	run := naivePath(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		run(i)
	}
}

// TestP1Report prints the P1 figure for make bench (ISOGATE_BENCH=1): both
// paths measured in this run, on the same machine, as a ratio.
func TestP1Report(t *testing.T) {
	if os.Getenv("ISOGATE_BENCH") == "" {
		t.Skip("make bench runs this")
	}
	// The two paths must agree before their speed means anything.
	fast, naive := isogatePath(t), naivePath(t)
	for i := range refMessages {
		if a, b := fast(i), naive(i); a.Allow != b.Allow || a.Code != b.Code {
			t.Fatalf("message %d: isogate %+v, naive %+v", i, a, b)
		}
	}
	// Five rounds, alternating; each figure is the median of its five, so a
	// moment of noise on the machine does not decide the ratio.
	var isoNs, naiNs []float64
	var iso, nai testing.BenchmarkResult
	for range 5 {
		iso = testing.Benchmark(BenchmarkP1Isogate)
		nai = testing.Benchmark(BenchmarkP1Naive)
		isoNs = append(isoNs, float64(iso.NsPerOp()))
		naiNs = append(naiNs, float64(nai.NsPerOp()))
	}
	slices.Sort(isoNs)
	slices.Sort(naiNs)
	fi, fn := isoNs[2]/1e3, naiNs[2]/1e3
	fmt.Fprintf(io.Writer(os.Stdout), "P1 verdict ratio isogate/naive = %.2f (isogate %.1f µs, naive %.1f µs, medians of 5; %d vs %d allocs)\n",
		fi/fn, fi, fn, iso.AllocsPerOp(), nai.AllocsPerOp())

	// The same policy from a bundle, as a fleet gets it, against the same
	// from its directory: the same verdicts, then the same speed.
	bundled := isogatePathWith(t, refBundlePolicy(t))
	for i := range refMessages {
		if a, b := fast(i), bundled(i); a.Allow != b.Allow || a.Code != b.Code || !slices.Equal(a.Reasons, b.Reasons) {
			t.Fatalf("message %d: directory %+v, bundle %+v", i, a, b)
		}
	}
	var bunNs, dirNs []float64
	for range 5 {
		bunNs = append(bunNs, float64(testing.Benchmark(BenchmarkP1Bundle).NsPerOp()))
		dirNs = append(dirNs, float64(testing.Benchmark(BenchmarkP1Isogate).NsPerOp()))
	}
	slices.Sort(bunNs)
	slices.Sort(dirNs)
	fb, fd := bunNs[2]/1e3, dirNs[2]/1e3
	fmt.Fprintf(io.Writer(os.Stdout), "P1 bundle-loaded/directory-loaded policy = %.2f (bundle %.1f µs, directory %.1f µs, medians of 5)\n", fb/fd, fb, fd)
}

// naiveAEAD derives the to-core key itself, with the standard library.
func naiveAEAD(tb testing.TB, _ *crypto.Keys) cipher.AEAD {
	prk, _ := hkdf.Extract(sha256.New, refSecret[:], refID[:])
	key, _ := hkdf.Expand(sha256.New, prk, "isogate v1 key to-core", 32)
	block, err := aes.NewCipher(key)
	if err != nil {
		tb.Fatal(err)
	}
	aead, _ := cipher.NewGCM(block)
	return aead
}
