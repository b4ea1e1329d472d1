package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/open-policy-agent/opa/v1/topdown"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/isogate/isogate/codes"
)

func demo(t *testing.T) *Policy {
	t.Helper()
	p, err := Load(context.Background(), os.DirFS("../demo/policy"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func args(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCheck_DemoVerdicts(t *testing.T) {
	p := demo(t)
	for _, c := range []struct {
		name, kind, cmd, args string
		allow                 bool
		code                  codes.Code
	}{
		{"greet allowed", KindCommand, "demo.greet", `{"name":"Ada"}`, true, ""},
		{"blocked name denied", KindCommand, "demo.greet", `{"name":"ROOT"}`, false, codes.Denied},
		{"schema breach", KindCommand, "demo.greet", `{"name":7}`, false, codes.InvalidArgs},
		{"extra field", KindCommand, "demo.greet", `{"name":"a","admin":true}`, false, codes.InvalidArgs},
		{"no schema", KindCommand, "fs.readAll", `{}`, false, codes.UnknownCommand},
		{"secret denied", KindCommand, "demo.secret", `{}`, false, codes.Denied},
		{"listen allowed by a rule", KindListen, "demo.tick", `null`, true, ""},
		{"listen with no rule denied", KindListen, "demo.secret", `null`, false, codes.Denied},
		{"allowed command name sent as event denied", KindEvent, "demo.greet", `{"name":"Ada"}`, false, codes.Denied},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := p.Check(context.Background(), Input{Kind: c.kind, Name: c.cmd, Args: args(t, c.args), Window: "main"})
			if v.Allow != c.allow || v.Code != c.code {
				t.Fatalf("verdict = %+v, want allow=%v code=%q", v, c.allow, c.code)
			}
			if !v.Allow && len(v.Reasons) == 0 {
				t.Fatal("a refusal carries no reason")
			}
		})
	}
}

func TestCheck_DenyReasonsReported(t *testing.T) {
	v := demo(t).Check(context.Background(), Input{Kind: KindCommand, Name: "demo.secret", Args: map[string]any{}})
	if strings.Join(v.Reasons, "|") != "demo.secret is for administrators only|no allow rule matched" {
		t.Fatalf("reasons = %q", v.Reasons)
	}
}

func loadMap(files map[string]string) (*Policy, error) {
	m := fstest.MapFS{}
	for n, s := range files {
		m[n] = &fstest.MapFile{Data: []byte(s)}
	}
	return Load(context.Background(), m)
}

func TestDecide_NonBooleanAllowDenied(t *testing.T) {
	p, err := loadMap(map[string]string{"p.rego": "package isogate\nallow := \"yes\"\n", "schemas/x.json": `{}`})
	if err != nil {
		t.Fatal(err)
	}
	if v := p.Check(context.Background(), Input{Kind: KindCommand, Name: "x"}); v.Allow {
		t.Fatalf("allow = \"yes\" allowed: %+v", v)
	}
}

func TestDecide_EvaluationErrorDenied(t *testing.T) {
	// With strict builtin errors, a failing builtin is an error, and an error denies.
	p, err := loadMap(map[string]string{"p.rego": "package isogate\nallow if to_number(input.args.n) > 0\n", "schemas/x.json": `{}`})
	if err != nil {
		t.Fatal(err)
	}
	v := p.Check(context.Background(), Input{Kind: KindCommand, Name: "x", Args: map[string]any{"n": "not a number"}})
	if v.Allow || v.Code != codes.Denied || !strings.Contains(v.Reasons[0], "evaluation failed") {
		t.Fatalf("verdict = %+v, want denied by evaluation error", v)
	}
}

func TestDecide_EvaluationTimeoutDenied(t *testing.T) {
	// The first is computed whole at load and takes the generic path; the
	// second depends on the args, so the fast path's residual runs it.
	for _, c := range []struct {
		rule string
		fast bool
	}{
		{"allow if count([x | some x in numbers.range(1, 100000000)]) > 0", false},
		{"allow if count([x | some x in numbers.range(1, input.args.n)]) > 0", true},
	} {
		p, err := loadMap(map[string]string{"p.rego": "package isogate\n" + c.rule + "\n", "schemas/x.json": `{}`})
		if err != nil {
			t.Fatal(err)
		}
		if s := p.fast[[2]string{KindCommand, "x"}]; (s != nil && s.constant == nil) != c.fast {
			t.Fatalf("%s: fast path in use = %v, want %v", c.rule, !c.fast, c.fast)
		}
		p.evalTimeout = 1
		v := p.Check(context.Background(), Input{Kind: KindCommand, Name: "x", Args: map[string]any{"n": json.Number("100000000")}})
		if v.Allow || v.Code != codes.Denied || len(v.Reasons) != 1 || !strings.HasPrefix(v.Reasons[0], "policy evaluation failed: evaluation timed out") {
			t.Fatalf("%s: timed-out evaluation: %+v, want denied as timed out", c.rule, v)
		}
	}
}

// An evaluation ends when its call's context does: a context already over
// denies at once on both paths, and one that ends mid-evaluation is seen
// within 16 of OPA's checks, named as the context's end, not a timeout.
// An evaluation past its bound is denied even when it asked the cancel
// too few times to see it, or spent the time in one step that never asks
// (a sort of a long list): found in review, where such a call was allowed.
func TestDecide_SlowStepPastTheBoundDenied(t *testing.T) {
	p, err := loadMap(map[string]string{"p.rego": "package isogate\nallow if { s := sort(input.args.xs); count(s) > 0 }\n", "schemas/x.json": `{}`})
	if err != nil {
		t.Fatal(err)
	}
	xs := make([]any, 50000)
	for i := range xs {
		xs[i] = json.Number(fmt.Sprint(len(xs) - i))
	}
	in := Input{Kind: KindCommand, Name: "x", Args: map[string]any{"xs": xs}}
	p.evalTimeout = time.Hour
	if v := p.Check(context.Background(), in); !v.Allow {
		t.Fatalf("within the bound: %+v, want allowed", v)
	}
	p.evalTimeout = -time.Second // past before the evaluation starts: seen at the first check
	for _, v := range []Verdict{p.Check(context.Background(), in), p.checkGeneric(context.Background(), in)} {
		if v.Allow || len(v.Reasons) != 1 || !strings.HasPrefix(v.Reasons[0], "policy evaluation failed: evaluation timed out") {
			t.Fatalf("an evaluation past its bound: %+v, want denied as timed out", v)
		}
	}
	// An evaluation that never asks (as one slow step does not) and ends
	// past its bound: seen when it ends.
	if err := p.bounded(context.Background(), func(topdown.Cancel) error { return nil }); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("an evaluation that never asked, past its bound: %v, want timed out", err)
	}
	p.evalTimeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.bounded(ctx, func(topdown.Cancel) error { cancel(); return nil }); err != context.Canceled {
		t.Fatalf("an evaluation whose call ended while it ran, never asking: %v, want context canceled", err)
	}
}

func TestDecide_EndedContextStopsTheEvaluation(t *testing.T) {
	p, err := loadMap(map[string]string{"p.rego": "package isogate\nallow if count([x | some x in numbers.range(1, input.args.n)]) > 0\n", "schemas/x.json": `{}`})
	if err != nil {
		t.Fatal(err)
	}
	p.evalTimeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := Input{Kind: KindCommand, Name: "x", Args: map[string]any{"n": json.Number("100000000")}}
	for _, v := range []Verdict{p.Check(ctx, in), p.checkGeneric(ctx, in)} {
		if v.Allow || len(v.Reasons) != 1 || v.Reasons[0] != "policy evaluation failed: context canceled" {
			t.Fatalf("an evaluation for an ended call: %+v, want denied as context canceled", v)
		}
	}
	ctx, cancel = context.WithCancel(context.Background())
	b := &evalBound{ctx: ctx, deadline: time.Now().Add(time.Hour)}
	b.asked.Store(1) // past the first check, which looks at once
	for i := 0; i < 15; i++ {
		if b.Cancelled() {
			t.Fatalf("cancelled at check %d with the context running", i)
		}
	}
	cancel()
	seen := 0
	for seen = 1; seen <= 16 && !b.Cancelled(); seen++ {
	}
	if seen > 16 || b.state.Load() != boundCancelled || !b.Cancelled() {
		t.Fatalf("the context's end seen after %d checks, state %d", seen, b.state.Load())
	}
	past := &evalBound{ctx: context.Background(), deadline: time.Now().Add(-time.Second)}
	for seen = 1; seen <= 16 && !past.Cancelled(); seen++ {
	}
	if seen > 16 || past.state.Load() != boundTimedOut {
		t.Fatalf("a passed deadline seen after %d checks, state %d", seen, past.state.Load())
	}
}

func TestLoad_RefusesUnsafePolicies(t *testing.T) {
	for dir, want := range map[string]string{
		"testdata/remote-ref":  "refused",
		"testdata/net-builtin": "http.send",
		"testdata/bad-package": "package is other",
	} {
		t.Run(dir, func(t *testing.T) {
			_, err := Load(context.Background(), os.DirFS(dir))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Load error = %v, want one mentioning %q", err, want)
			}
		})
	}
}

func TestLoad_TestFilesAreNotPolicy(t *testing.T) {
	// A test file defining allow must not make the policy allow.
	p, err := loadMap(map[string]string{
		"p.rego":         "package isogate\nallow if false\n",
		"p_test.rego":    "package isogate\nallow if true\n",
		"schemas/x.json": `{}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := p.Check(context.Background(), Input{Kind: KindCommand, Name: "x"}); v.Allow {
		t.Fatal("a _test.rego file was loaded as policy")
	}
}

// Numbers past OPA's range deny, on the fast path and the generic one, and
// a validator that panics on one denies too (found in review: -1e100000
// once passed `n < 10`, and 1e20000000 panicked the schema validator).
func TestCheck_OutOfRangeNumbersDeny(t *testing.T) {
	p, err := loadMap(map[string]string{
		"p.rego":         "package isogate\nallow if input.args.n < 10\nallow if input.name == \"z\"\n",
		"schemas/x.json": `{"type":"object","properties":{"n":{"type":"number"}}}`,
		"schemas/y.json": `{"type":"object","properties":{"n":{"type":"number","maximum":10}}}`,
		"schemas/z.json": `{}`, // allowed whatever its args: a constant verdict on the fast path
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, n string }{
		{"x", "-1e100000"}, {"x", "1e20000000"}, {"x", "1e-100000"}, {"y", "1e20000000"}, {"y", "-1e100000"}, {"z", "1e20000000"},
	} {
		in := Input{Kind: KindCommand, Name: c.name, Args: map[string]any{"n": json.Number(c.n)}}
		for path, check := range map[string]func(context.Context, Input) Verdict{"fast": p.Check, "generic": p.checkGeneric} {
			if v := check(context.Background(), in); v.Allow {
				t.Errorf("%s n=%s allowed on the %s path: %+v", c.name, c.n, path, v)
			}
		}
	}
	// A number in range still passes.
	if v := p.Check(context.Background(), Input{Kind: KindCommand, Name: "x", Args: map[string]any{"n": json.Number("-1e300")}}); !v.Allow {
		t.Fatalf("n=-1e300 denied: %+v", v)
	}
}

// Input is a plain value: changing the args between two checks changes what
// both the schema and the policy see. (Input once cached its OPA value, so
// the policy kept deciding on the first args.)
func TestCheck_InputIsReadAfresh(t *testing.T) {
	p, err := loadMap(map[string]string{
		"p.rego":         "package isogate\n\nallow if input.args.n < 10\n",
		"schemas/x.json": `{"type":"object","properties":{"n":{"type":"number"}}}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Kind: KindCommand, Name: "x", Args: map[string]any{"n": json.Number("1")}}
	if v := p.Check(context.Background(), in); !v.Allow {
		t.Fatalf("n=1: %+v, want allowed", v)
	}
	in.Args = map[string]any{"n": json.Number("100")}
	if v := p.Check(context.Background(), in); v.Allow {
		t.Fatalf("n=100 after n=1 on the same Input: allowed, want denied (stale policy input)")
	}
}

// One Input checked from many goroutines is not a data race (go test -race).
func TestCheck_SharedInputConcurrently(t *testing.T) {
	p := demo(t)
	in := Input{Kind: KindCommand, Name: "demo.greet", Args: map[string]any{"name": "Ada"}, Window: "main"}
	done := make(chan Verdict)
	for range 8 {
		go func() { done <- p.Check(context.Background(), in) }()
	}
	for range 8 {
		if v := <-done; !v.Allow {
			t.Fatalf("verdict = %+v, want allowed", v)
		}
	}
}

// A policy that does not load says where and why, as a *LoadError that
// still prints one line.
func TestLoad_ErrorsAreTyped(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		file  string
		line  int
		code  string
	}{
		{"rego syntax", map[string]string{"p.rego": "package isogate\n\nallow if {\n"}, "p.rego", 4, "rego_parse_error"}, // OPA places it at the end of the file,
		{"wrong package", map[string]string{"p.rego": "\npackage other\n"}, "p.rego", 2, CodePackage},
		{"schema json", map[string]string{"p.rego": "package isogate\n", "schemas/x.json": "{\n\"type\": }"}, "schemas/x.json", 2, CodeJSON},
		{"schema name", map[string]string{"p.rego": "package isogate\n", "schemas/-x.json": "{}"}, "schemas/-x.json", 0, CodeSchema},
		{"schema name encoded needlessly", map[string]string{"p.rego": "package isogate\n", "schemas/%61bc.json": "{}"}, "schemas/%61bc.json", 0, CodeSchema},
		{"schema name twice", map[string]string{"p.rego": "package isogate\n", "schemas/a:b.json": "{}", "schemas/a%3Ab.json": "{}"}, "schemas/a:b.json", 0, CodeSchema},
		{"no rego", map[string]string{"schemas/x.json": "{}"}, "", 0, CodeNoRego},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadMap(c.files)
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %v (%T) is not a *LoadError", err, err)
			}
			if le.File != c.file || le.Line != c.line || le.Code != c.code {
				t.Fatalf("LoadError = %s:%d %s, want %s:%d %s", le.File, le.Line, le.Code, c.file, c.line, c.code)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is more than one line: %q", err)
			}
		})
	}
}

// An OpenAPI document that does not parse, is not valid, or refers to
// anything outside itself does not load.
func TestLoad_OpenAPIRefused(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":   `{"openapi": `,
		"invalid":    `{"openapi": "3.0.3", "info": {"title": "x"}, "paths": {"/a": {"get": {}}}}`,
		"remote ref": `{"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {"/a": {"$ref": "https://example.com/evil.json#/a"}}}`,
		"file ref":   `{"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {"/a": {"$ref": "other.json#/a"}}}`,
	} {
		_, err := loadMap(map[string]string{"p.rego": "package isogate\n", "openapi.json": doc})
		var le *LoadError
		if !errors.As(err, &le) || le.File != "openapi.json" || le.Code != CodeOpenAPI {
			t.Errorf("%s: %v, want an openapi_error in openapi.json", name, err)
		}
	}
	p, err := loadMap(map[string]string{"p.rego": "package isogate\n", "openapi.yaml": "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {'200': {description: ok}}\n"})
	if err != nil || p.OpenAPI() == nil {
		t.Fatalf("a valid YAML document: %v", err)
	}
}

// Tauri's names: plugin commands and event names with '/' are valid, and
// their schema files percent-encode ':', '|' and '/'.
func TestLoad_TauriNamesAndTheirSchemaFiles(t *testing.T) {
	for _, n := range []string{"plugin:path|join", "plugin:event|listen", "tauri://resize", "download-progress", "greet", "demo.greet", "a:b"} {
		if !ValidName(n) {
			t.Errorf("%q is not valid", n)
		}
	}
	for _, n := range []string{"", "-x", "plugin:|x", "plugin:a|b|c", "a b", "a|b", "../x", "plugin:a|b-c", strings.Repeat("a", 129)} {
		if ValidName(n) {
			t.Errorf("%q is valid", n)
		}
	}
	if f := SchemaFile("plugin:path|join"); f != "schemas/plugin%3Apath%7Cjoin.json" {
		t.Fatalf("SchemaFile = %s", f)
	}
	p, err := loadMap(map[string]string{
		"p.rego":                            "package isogate\n",
		"schemas/plugin%3Apath%7Cjoin.json": `{"type":"object","required":["paths"]}`,
		"schemas/tauri%3A%2F%2Fresize.json": `{}`,
		"schemas/a:b.json":                  `{"$ref": "plugin%3Apath%7Cjoin.json"}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"plugin:path|join", "tauri://resize", "a:b"} {
		if _, ok := p.schemas[n]; !ok {
			t.Errorf("no schema for %q; have %v", n, sortedKeys(p.raw))
		}
	}
}

// input.tauri names the permission Tauri's ACL would check for a command.
func TestNewTauri_Permission(t *testing.T) {
	for cmd, want := range map[string]string{
		"greet":                   "allow-greet",
		"save_file":               "allow-save-file",
		"plugin:path|join":        "core:path:allow-join",
		"plugin:event|listen":     "core:event:allow-listen",
		"plugin:window|set_title": "core:window:allow-set-title",
		"plugin:fs|read_file":     "fs:allow-read-file",
	} {
		if got := NewTauri(cmd).Permission; got != want {
			t.Errorf("%s: %s, want %s", cmd, got, want)
		}
	}
	p := NewTauri("plugin:path|join")
	if p.Plugin == nil || *p.Plugin != "path" || p.Command != "join" || NewTauri("greet").Plugin != nil {
		t.Fatalf("plugin/command: %+v", p)
	}
}

// The schema library lists names in map order; the reason must not depend on
// it, even for names holding a quote, a backslash or the list separator
// (FuzzCheck found the empty name and a lone quote swapping places).
func TestStableMessage_SortsQuotedNames(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`additionalProperties '\'', '' not allowed`, `additionalProperties '', '\'' not allowed`},
		{`additionalProperties 'b', 'a', 'b', 'c' not allowed`, `additionalProperties 'a', 'b', 'b', 'c' not allowed`},
		{`missing properties: 'z', 'a\\', 'x, y'`, `missing properties: 'a\\', 'x, y', 'z'`},
		{`additionalProperties 'only' not allowed`, `additionalProperties 'only' not allowed`},
	} {
		if got := stableMessage(tc.in); got != tc.want {
			t.Errorf("stableMessage(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
