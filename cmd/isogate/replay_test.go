package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isogate/isogate/policy"
)

// recordLog decides inputs with the demo's policy and writes its decision
// log, as a running isogate would.
func recordLog(t *testing.T, inputs []policy.Input) string {
	t.Helper()
	p, err := policy.Load(context.Background(), os.DirFS("../../demo/policy"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "decisions.jsonl")
	dl, err := policy.OpenDecisionLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	for _, in := range inputs {
		pr := policy.Prepare(in)
		if err := dl.Record(context.Background(), policy.Entry{Policy: p, Input: pr, Verdict: p.CheckPrepared(context.Background(), pr)}); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func httpGet(path string) policy.Input {
	in := policy.Input{Kind: policy.KindHTTP, Name: "GET " + path, Window: "main", Session: "s"}
	in.Attributes = &policy.Attributes{}
	in.Attributes.Request.HTTP = policy.HTTPRequest{Method: "GET", Path: path, Headers: map[string]string{}}
	in.ParsedPath = strings.Split(strings.TrimPrefix(path, "/"), "/")
	return in
}

// A week of traffic, and a change that widens one rule (every GET of the
// API, not only /api/status): replay reports exactly that rule's newly
// allowed inputs, nothing else; masked inputs are counted, not guessed;
// --fail-on allow fails on it and passes on the unchanged policy.
func TestPolicyReplay_ReportsWhatAWidenedRuleNewlyAllows(t *testing.T) {
	var inputs []policy.Input
	for i := range 20 {
		inputs = append(inputs,
			policy.Input{Kind: policy.KindCommand, Name: "demo.greet", Args: map[string]any{"name": fmt.Sprintf("user%d", i)}, Window: "main"},
			policy.Input{Kind: policy.KindCommand, Name: "demo.greet", Args: map[string]any{"name": "root"}, Window: "main"},
			policy.Input{Kind: policy.KindCommand, Name: "demo.secret", Args: map[string]any{}, Window: "main"},
			policy.Input{Kind: policy.KindCommand, Name: "demo.notes.write", Args: map[string]any{"path": "a.txt", "text": "secret words"}, Window: "main"},
			httpGet("/api/status"),
			httpGet(fmt.Sprintf("/api/notes/n%d.txt", i%4)),
		)
	}
	log := recordLog(t, inputs)
	widened := copyPolicy(t, "../../demo/policy", map[string]string{"widen.rego": `package isogate

allow if {
	input.kind == "http"
	input.attributes.request.http.method == "GET"
	input.parsed_path[0] == "api"
}
`})
	var out, errb bytes.Buffer
	if code := runCode([]string{"policy", "replay", "--log", log, "--format", "json", "--fail-on", "allow", widened}, &out, &errb); code != 1 {
		t.Fatalf("--fail-on allow with a widened rule: exit %d\n%s%s", code, out.String(), errb.String())
	}
	var r policy.Replay
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Decisions != 120 || r.Masked != 20 || r.Replayed != 100 || r.Changed != 20 || r.Unchanged != 80 {
		t.Fatalf("counts %+v", r)
	}
	names := map[string]int{}
	for _, g := range r.Groups {
		if g.Change != policy.NewlyAllowed || g.Kind != "http" || !strings.HasPrefix(g.Name, "GET /api/notes/") {
			t.Errorf("a change outside the widened rule: %+v", g)
		}
		if len(g.Examples) == 0 || g.Examples[0].Name != g.Name {
			t.Errorf("group %s: examples %+v", g.Name, g.Examples)
		}
		names[g.Name] += g.Count
	}
	if len(names) != 4 || names["GET /api/notes/n0.txt"] != 5 {
		t.Fatalf("newly allowed by name: %v", names)
	}
	// The text report says the same, and the policy as it was changes
	// nothing, so the gate passes.
	out.Reset()
	if code := runCode([]string{"policy", "replay", "--log", log, widened}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "20 changed (20 newly allowed)") || !strings.Contains(out.String(), "20 with a masked or withheld input") {
		t.Fatalf("text report (exit %d):\n%s", code, out.String())
	}
	out.Reset()
	if code := runCode([]string{"policy", "replay", "--log", log, "--fail-on", "change", "../../demo/policy"}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "100 unchanged, 0 changed") {
		t.Fatalf("the same policy (exit %d):\n%s", code, out.String())
	}
	// Other reasons for the same verdict are a change of their own.
	reworded := copyPolicy(t, "../../demo/policy", nil)
	demo, _ := os.ReadFile(filepath.Join(reworded, "demo.rego"))
	os.WriteFile(filepath.Join(reworded, "demo.rego"), bytes.ReplaceAll(demo, []byte("is for administrators only"), []byte("is for admins")), 0o644)
	out.Reset()
	if code := runCode([]string{"policy", "replay", "--log", log, "--fail-on", "allow", "--format", "json", reworded}, &out, &errb); code != 0 {
		t.Fatalf("reworded: exit %d %s", code, errb.String())
	}
	json.Unmarshal(out.Bytes(), &r)
	if len(r.Groups) != 1 || r.Groups[0].Change != policy.OtherReasons || r.Groups[0].Name != "demo.secret" || r.Groups[0].Count != 20 {
		t.Fatalf("reworded groups %+v", r.Groups)
	}
	// Bad input: one line, exit 2; a log that is not one, exit 1 naming the line.
	if code := runCode([]string{"policy", "replay", widened}, &out, &errb); code != 2 {
		t.Fatalf("no --log: exit %d", code)
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte("{\"name\":\"x\"}\nnot json\n"), 0o644)
	errb.Reset()
	if code := runCode([]string{"policy", "replay", "--log", bad, widened}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "line 2") {
		t.Fatalf("a broken log: exit %d %s", code, errb.String())
	}
}

// TestP7Report prints the P7 figure for make bench (ISOGATE_BENCH=1): a
// replay of 100 000 logged decisions against the new policy, and the same
// inputs decided by plain Checks in the same run.
func TestP7Report(t *testing.T) {
	if os.Getenv("ISOGATE_BENCH") == "" {
		t.Skip("make bench runs this")
	}
	const n = 100_000
	inputs := make([]policy.Input, 0, n)
	for i := range n {
		switch i % 4 {
		case 0:
			inputs = append(inputs, policy.Input{Kind: policy.KindCommand, Name: "demo.greet", Args: map[string]any{"name": fmt.Sprintf("user%d", i)}, Window: "main"})
		case 1:
			inputs = append(inputs, policy.Input{Kind: policy.KindCommand, Name: "demo.notes.read", Args: map[string]any{"path": fmt.Sprintf("n%d.txt", i)}, Window: "main"})
		case 2:
			inputs = append(inputs, policy.Input{Kind: policy.KindCommand, Name: "demo.secret", Args: map[string]any{}, Window: "main"})
		default:
			inputs = append(inputs, httpGet(fmt.Sprintf("/api/notes/n%d.txt", i)))
		}
	}
	log := recordLog(t, inputs)
	widened := copyPolicy(t, "../../demo/policy", map[string]string{"widen.rego": "package isogate\n\nallow if input.parsed_path[0] == \"api\"\n"})
	ctx := context.Background()
	p, err := policy.Load(ctx, os.DirFS(widened))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	r, err := policy.ReplayLog(ctx, p, f, 3)
	if err != nil {
		t.Fatal(err)
	}
	replay := time.Since(start)
	if r.Replayed != n || r.Changed != n/4 {
		t.Fatalf("replay %+v", r)
	}
	start = time.Now()
	for _, in := range inputs {
		p.Check(ctx, in)
	}
	plain := time.Since(start)
	fmt.Printf("P7 replay of %d logged decisions = %.2f s (%.1f µs each) = %.2f × plain Checks of the same inputs (%.2f s); %d newly allowed found\n",
		n, replay.Seconds(), float64(replay.Microseconds())/n, replay.Seconds()/plain.Seconds(), plain.Seconds(), r.NewlyAllowed())
}
