package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func readDecisions(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("decision log line %q: %v", line, err)
		}
		out = append(out, d)
	}
	return out
}

func TestDecisionLog_SurvivesSIGKILL(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "decisions.jsonl")
	p := startIsogate(t, "demo", "--browser", "--decision-log", logPath)
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	base := len(readDecisions(t, logPath)) // what the page did on load
	const n = 25
	answered := 0
	for i := 0; i < n; i++ {
		name := "Ada"
		if i%5 == 0 {
			name = "root" // denied decisions are logged too
		}
		invoke(t, ctx, `'demo.greet'`, `{name: '`+name+`'}`)
		answered++
	}
	// Every call above has settled in the page. Kill without warning.
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	ds := readDecisions(t, logPath)[base:]
	if len(ds) != answered {
		t.Fatalf("decision log holds %d lines after SIGKILL, want the %d answered", len(ds), answered)
	}
	denied := 0
	for _, d := range ds {
		if d["name"] != "demo.greet" || d["revision"] == "" || d["decision_id"] == "" || d["session"] == "" {
			t.Fatalf("incomplete decision: %v", d)
		}
		if r := d["result"].(map[string]any); r["allow"] == false {
			denied++
		}
	}
	if denied != n/5 {
		t.Fatalf("%d denied decisions logged, want %d", denied, n/5)
	}
}

func TestDryRun_LogsDenialsAndLetsThemThrough(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "decisions.jsonl")
	p := startIsogate(t, "demo", "--browser", "--dry-run", "--decision-log", logPath)
	// Written to stderr before the URL line to stdout; the pipes are read apart.
	eventually(t, "the dry-run announcement", func() bool { return strings.Contains(p.stderr.String(), "DRY RUN") })
	ctx := browser(t)
	openApp(t, ctx, p.URL)
	o := invoke(t, ctx, `'demo.greet'`, `{name: 'root'}`)
	if !o.OK || o.get("greeting") != "Hello, root!" {
		t.Fatalf("dry run blocked a denied call: %+v", o)
	}
	var root []map[string]any
	for _, d := range readDecisions(t, logPath) {
		if d["dry_run"] != true {
			t.Fatalf("a dry-run decision not marked: %v", d)
		}
		if args, _ := d["input"].(map[string]any)["args"].(map[string]any); args != nil && args["name"] == "root" {
			root = append(root, d)
		}
	}
	if len(root) != 1 || root[0]["result"].(map[string]any)["allow"] != false {
		t.Fatalf("dry-run decisions for root = %v", root)
	}
}

// windowsDecided returns the window labels of the decisions logged for name.
func windowsDecided(t *testing.T, path, name string) map[string]bool {
	t.Helper()
	labels := map[string]bool{}
	for _, d := range readDecisions(t, path) {
		if in, _ := d["input"].(map[string]any); in != nil && d["name"] == name {
			labels[fmt.Sprint(in["window"])] = true
		}
	}
	return labels
}
