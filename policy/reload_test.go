package policy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Two whole versions and a broken one. Each version's reasons come from two
// files, so a decision made by a mix of versions would show reasons of both.
var versions = map[string]map[string]string{
	"A": {
		"a1.rego":        "package isogate\n\nallow if input.name == \"x\"\n\ndeny contains \"A1\" if input.args.n > 0\n",
		"a2.rego":        "package isogate\n\ndeny contains \"A2\" if input.args.n > 0\n",
		"schemas/x.json": `{"type":"object","properties":{"n":{"type":"integer"}}}`,
	},
	"B": {
		"b1.rego":        "package isogate\n\nallow if input.name == \"x\"\n\ndeny contains \"B1\" if input.args.n > 0\n",
		"b2.rego":        "package isogate\n\ndeny contains \"B2\" if input.args.n > 0\n",
		"schemas/x.json": `{"type":"object","properties":{"n":{"type":"integer"}}}`,
	},
	"broken": {
		"a1.rego":        "package isogate\n\nallow if {\n",
		"b2.rego":        "package isogate\n\ndeny contains \"B2\" if input.args.n > 0\n",
		"schemas/x.json": `{"type":"object"}`,
	},
}

func writeVersion(t *testing.T, dir, name string) {
	t.Helper()
	entries, _ := filepath.Glob(filepath.Join(dir, "*.rego"))
	for _, e := range entries {
		os.Remove(e)
	}
	os.MkdirAll(filepath.Join(dir, "schemas"), 0o755)
	for f, src := range versions[name] {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReload_UnderLoadEveryDecisionFromOneWholeVersion(t *testing.T) {
	dir := t.TempDir()
	writeVersion(t, dir, "A")
	first, err := Load(context.Background(), os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[Policy]
	current.Store(first)
	var refused atomic.Int64
	w := NewWatcher(os.DirFS(dir), first,
		func(p *Policy) { current.Store(p) },
		func(error) { refused.Add(1) })

	stop := make(chan struct{})
	var decided, bad atomic.Int64
	var mu sync.Mutex
	var firstBad string
	var wg sync.WaitGroup
	seen := [2]atomic.Int64{}
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			in := Input{Kind: KindCommand, Name: "x", Args: map[string]any{"n": 1}}
			for {
				select {
				case <-stop:
					return
				default:
				}
				v := current.Load().Check(context.Background(), in)
				decided.Add(1)
				got := strings.Join(v.Reasons, ",")
				switch got {
				case "A1,A2":
					seen[0].Add(1)
				case "B1,B2":
					seen[1].Add(1)
				default:
					if bad.Add(1) == 1 {
						mu.Lock()
						firstBad = got
						mu.Unlock()
					}
				}
			}
		})
	}
	order := []string{"B", "broken", "A"}
	for i := 0; i < 100; i++ {
		writeVersion(t, dir, order[i%3])
		w.Poll(context.Background())
	}
	close(stop)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d of %d decisions came from no whole version (first: %q)", bad.Load(), decided.Load(), firstBad)
	}
	if seen[0].Load() == 0 || seen[1].Load() == 0 {
		t.Fatalf("decisions saw A %d times and B %d times; both versions must have served", seen[0].Load(), seen[1].Load())
	}
	if refused.Load() != 33 {
		t.Fatalf("broken version refused %d times, want 33", refused.Load())
	}
}

func TestReload_BrokenPolicyKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	writeVersion(t, dir, "A")
	p, _ := Load(context.Background(), os.DirFS(dir))
	var got *Policy
	var errs []error
	w := NewWatcher(os.DirFS(dir), p, func(n *Policy) { got = n }, func(err error) { errs = append(errs, err) })
	writeVersion(t, dir, "broken")
	w.Poll(context.Background())
	w.Poll(context.Background()) // the same broken files are reported once
	if got != nil || len(errs) != 1 || !strings.Contains(errs[0].Error(), "a1.rego") {
		t.Fatalf("broken reload: loaded %v, errors %v", got, errs)
	}
	writeVersion(t, dir, "B")
	w.Poll(context.Background())
	if got == nil || got.revision == p.revision {
		t.Fatal("a fixed policy was not loaded after a broken one")
	}
}
