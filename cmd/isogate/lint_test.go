package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// runCode runs the CLI as main does: the exit code, and the message on
// stderr.
func runCode(args []string, stdout, stderr *bytes.Buffer) int {
	err := run(args, stdout, stderr)
	if err == nil {
		return 0
	}
	stderr.WriteString(err.Error())
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// copyPolicy copies a policy directory to a new one and adds files.
func copyPolicy(t *testing.T, src string, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
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
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type lintFinding struct {
	Title, Category string
	Location        struct {
		File string
		Row  int `json:"row"`
	}
}

func lintJSONOf(t *testing.T, dir string, wantCode int) []lintFinding {
	t.Helper()
	var out, errb bytes.Buffer
	if code := runCode([]string{"policy", "lint", "--format", "json", dir}, &out, &errb); code != wantCode {
		t.Fatalf("policy lint exit %d, want %d\n%s%s", code, wantCode, out.String(), errb.String())
	}
	var r struct{ Violations []lintFinding }
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return r.Violations
}

// The planted problems of a lint: an unused rule, a shadowed input, an
// unformatted file.
var planted = map[string]string{
	"planted.rego": `package isogate

# A typo where it is used leaves this rule reached from nowhere.
blocked_comands := {"demo.secret"}

deny contains "no note may be named after the message's window" if {
	input.name == "demo.notes.write"
	some input in ["main"]
	input == "main"
}
`,
	"unformatted.rego": "package isogate\n\ndeny contains   \"no greeting of root\"   if {\n  input.name == \"demo.greet\"\n  input.args.name == \"root\"\n}\n",
}

// On the demo's policy lint finds nothing; with three problems planted in
// it, it finds exactly those three, each where it was planted.
func TestPolicyLint_FindsExactlyThePlantedProblems(t *testing.T) {
	if got := lintJSONOf(t, "../../demo/policy", 0); len(got) != 0 {
		t.Fatalf("the demo policy: %+v", got)
	}
	got := lintJSONOf(t, copyPolicy(t, "../../demo/policy", planted), 1)
	var keys []string
	for _, f := range got {
		keys = append(keys, f.Category+"/"+f.Title+" "+f.Location.File)
	}
	slices.Sort(keys)
	want := []string{"bugs/input-shadowed planted.rego", "bugs/unused-rule planted.rego", "style/opa-fmt unformatted.rego"}
	if !slices.Equal(keys, want) {
		t.Fatalf("findings %q, want %q", keys, want)
	}
	for _, f := range got {
		if f.Title == "unused-rule" && f.Location.Row != 4 || f.Title == "input-shadowed" && f.Location.Row != 8 {
			t.Errorf("%s at row %d", f.Title, f.Location.Row)
		}
	}
}

// The text format is a line per finding, file:row:col: category/rule:
// description, then a summary line; exit 1 with findings, 0 without.
func TestPolicyLint_TextFormat(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runCode([]string{"policy", "lint", copyPolicy(t, "../../demo/policy", planted)}, &out, &errb); code != 1 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.HasSuffix(lines[3], " files linted, 3 findings") {
		t.Fatalf("want 3 findings and a summary:\n%s", out.String())
	}
	for _, want := range []string{"planted.rego:4:", "bugs/unused-rule: ", "planted.rego:8:", "bugs/input-shadowed: ", "unformatted.rego:", "style/opa-fmt: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := runCode([]string{"policy", "lint", "../../demo/policy"}, &out, &errb); code != 0 || !strings.HasSuffix(strings.TrimSpace(out.String()), " files linted, 0 findings") {
		t.Fatalf("the demo policy: exit %d\n%s", code, out.String())
	}
}

// .regal/config.yaml configures the lint as Regal's users expect: a rule at
// level ignore is not reported, isogate's own rules included.
func TestPolicyLint_RegalConfigInThePolicyDir(t *testing.T) {
	cfg := "rules:\n  bugs:\n    unused-rule:\n      level: ignore\n  style:\n    opa-fmt:\n      level: ignore\n"
	got := lintJSONOf(t, copyPolicy(t, "../../demo/policy", map[string]string{
		"planted.rego": planted["planted.rego"], "unformatted.rego": planted["unformatted.rego"], ".regal/config.yaml": cfg,
	}), 1)
	if len(got) != 1 || got[0].Title != "input-shadowed" {
		t.Fatalf("findings %+v", got)
	}
	var out, errb bytes.Buffer
	dir := copyPolicy(t, "../../demo/policy", map[string]string{".regal/config.yaml": "rules: [not, a, map"})
	if code := runCode([]string{"policy", "lint", dir}, &out, &errb); code != 1 || !strings.Contains(errb.String(), ".regal/config.yaml") {
		t.Fatalf("a broken config: exit %d, %s", code, errb.String())
	}
}

// --format sarif is SARIF 2.1.0: it validates against the specification's
// own JSON schema (shipped in the npm package @microsoft/jest-sarif,
// installed by make js-deps) and holds the findings.
func TestPolicyLint_SARIFValidatesAgainstTheSchema(t *testing.T) {
	const schema = "../../sandbox-js/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"
	if _, err := os.Stat(schema); err != nil {
		t.Fatalf("the SARIF schema (make js-deps installs it): %v", err)
	}
	c := jsonschema.NewCompiler()
	s, err := c.Compile(schema)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := runCode([]string{"policy", "lint", "--format", "sarif", copyPolicy(t, "../../demo/policy", planted)}, &out, &errb); code != 1 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var doc any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(doc); err != nil {
		t.Fatalf("the SARIF output does not validate: %v\n%s", err, out.String())
	}
	var sarif struct {
		Version string
		Runs    []struct{ Results []struct{ RuleID string } }
	}
	json.Unmarshal(out.Bytes(), &sarif)
	if sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) != 3 {
		t.Fatalf("SARIF %+v", sarif)
	}
	if code := runCode([]string{"policy", "lint", "--format", "xml", "../../demo/policy"}, &out, &errb); code != 2 {
		t.Fatalf("--format xml: exit %d", code)
	}
}
