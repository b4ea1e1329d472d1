package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/isogate/isogate/codes"
)

// TestFastPath_Differential runs thousands of generated inputs through the
// fast path (Check) and the generic path (CheckGeneric) and requires the
// same verdicts, codes and reasons. A specialization that fails this is not
// used.
func TestFastPath_Differential(t *testing.T) {
	for _, dir := range []string{"../core/testdata/refpolicy", "../demo/policy", "../e2e/testdata/tauri/policy"} {
		t.Run(dir, func(t *testing.T) {
			p, err := Load(context.Background(), os.DirFS(dir))
			if err != nil {
				t.Fatal(err)
			}
			if specializedPairs(p) == 0 {
				t.Fatal("the fast path is not in use for this policy")
			}
			r := rand.New(rand.NewPCG(1, 2))
			names := append(p.Names(), "no.such.command")
			allowed, denied := 0, 0
			for i := 0; i < 4000; i++ {
				name := names[r.IntN(len(names))]
				in := Input{
					Kind: []string{KindCommand, KindCommand, KindCommand, KindEvent, KindListen}[r.IntN(5)],
					Name: name, Args: genArgs(r, p.Schemas()[name]), Seq: uint64(i),
					Window: []string{"main", "main", "settings"}[r.IntN(3)], Session: []string{"s", "t"}[r.IntN(2)],
					Origin: []string{"", "", "http://127.0.0.1:8080", "https://evil.example"}[r.IntN(4)],
				}
				if in.Kind == KindListen { // any name, as a page's listen has, and no args
					in.Name, in.Args = listenNames[r.IntN(len(listenNames))], nil
				}
				if r.IntN(4) > 0 { // a Tauri frontend's call, read by input.tauri
					in.Tauri = NewTauri(name)
					if r.IntN(2) == 0 {
						in.Tauri.Headers["x-file-name"] = "a.bin"
					}
				}
				fast, generic := p.Check(context.Background(), in), p.checkGeneric(context.Background(), in)
				if !reflect.DeepEqual(fast, generic) {
					b, _ := json.Marshal(in)
					t.Fatalf("input %s:\nfast    %+v\ngeneric %+v", b, fast, generic)
				}
				if fast.Allow {
					allowed++
				} else if fast.Code == codes.Denied {
					denied++
				}
			}
			t.Logf("%d allowed, %d denied by policy, %d specialized pairs", allowed, denied, specializedPairs(p))
			// The generator must reach the policy, both ways, or this tests nothing.
			if allowed < 100 || denied < 100 {
				t.Fatalf("only %d allowed and %d denied of 4000: the generator misses the policy", allowed, denied)
			}
		})
	}
}

// listenNames are events the three policies let a page listen for, and
// some they do not.
var listenNames = []string{"docs.changed", "share.accepted", "demo.tick", "demo.secret", "ping", "forbidden", "other", ""}

// genArgs makes args for a schema: its properties with the values the
// rules look at, mostly fitting, sometimes with a field missing, an extra
// one or a wrong type.
func genArgs(r *rand.Rand, schema json.RawMessage) any {
	pick := func(xs ...any) any { return xs[r.IntN(len(xs))] }
	fields := map[string]func() any{
		"user": func() any { return pick("ada", "bo", "cy", "dee", "zed", "") },
		"path": func() any {
			return pick("workspace/a.md", "workspace/../x", "../etc/passwd", "/etc/passwd", "notes.txt", "a/b")
		},
		"text":   func() any { return strings.Repeat("x", r.IntN(12000)) },
		"to":     func() any { return pick("workspace/b.md", "x") },
		"q":      func() any { return strings.Repeat("q", r.IntN(300)) },
		"key":    func() any { return pick("sso", "billing", "theme") },
		"value":  func() any { return pick(true, "dark", json.Number("3"), nil) },
		"with":   func() any { return pick("x@example.com", "y@evil.example", "not an email") },
		"since":  func() any { return json.Number(fmt.Sprint(r.IntN(1 << 20))) },
		"name":   func() any { return pick("Ada", "root", "ADMIN", "x", "<b>") },
		"button": func() any { return pick("a", "b") },
		"data":   func() any { return map[string]any{"$binary": json.Number(fmt.Sprint(r.IntN(1 << 26)))} },
	}
	var sch struct {
		Properties map[string]any `json:"properties"`
	}
	json.Unmarshal(schema, &sch)
	args := map[string]any{}
	for k := range sch.Properties {
		gen, ok := fields[k]
		if !ok {
			gen = func() any { return "s" }
		}
		if r.IntN(10) > 0 {
			args[k] = gen()
		}
	}
	switch r.IntN(10) {
	case 0:
		args["extra"] = true
	case 1:
		for k := range args {
			args[k] = json.Number("7") // wrong type
			break
		}
	case 2:
		return pick(nil, "x", []any{})
	case 3:
		// Numbers past OPA's range, where a schema takes numbers: denied on
		// both paths, constant verdicts included.
		for _, k := range []string{"value", "since", "n"} {
			if _, ok := args[k]; ok {
				args[k] = pick(json.Number("1e20000000"), json.Number("-1e100000"))
			}
		}
	}
	return args
}

func TestFastPath_NotUsedWhereItCouldChangeAVerdict(t *testing.T) {
	for name, rule := range map[string]string{
		"nondeterministic builtin":  `allow if time.now_ns() > 0`,
		"whole input":               `allow if count(input) > 0`,
		"whole input as a value":    `allow if { x := input; x.name == "x" }`,
		"with":                      `allow if { data.isogate.ok with input.name as "x" }` + "\nok if input.name == \"x\"",
		"unknown input field":       `allow if input.extra == 1`,
		"conflicting rule values":   "allow if input.args.a == 1\nallow := false if input.args.b == 1",
		"conflicting functions":     "f(x) := 1 if x.a == 1\nf(x) := 2 if x.b == 1\nallow if f(input.args) > 0",
		"computed rule value":       "v := input.args.a if input.args.b\nv := 2 if input.args.c\nallow if v == 1",
		"else":                      "allow if input.args.a == 1\nelse := false",
		"value with many solutions": "v := x if some x in input.args.xs\nallow if v == 1",
		"allow not true":            `allow := "yes"`,
	} {
		t.Run(name, func(t *testing.T) {
			p, err := loadMap(map[string]string{"p.rego": "package isogate\n\n" + rule + "\n", "schemas/x.json": `{}`})
			if err != nil {
				t.Fatal(err)
			}
			if specializedPairs(p) != 0 {
				t.Fatalf("the fast path is used for a policy with %s", name)
			}
		})
	}
}

// The reviewer's probe: a conflict the generic path denies must not be
// allowed by a fast path (it is not used for such a policy at all).
func TestFastPath_ConflictDeniesOnBothPaths(t *testing.T) {
	p, err := loadMap(map[string]string{
		"p.rego":         "package isogate\n\nallow if input.args.a == 1\n\nallow := false if input.args.b == 1\n",
		"schemas/x.json": `{}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Kind: KindCommand, Name: "x", Args: map[string]any{"a": json.Number("1"), "b": json.Number("1")}}
	if v := p.Check(context.Background(), in); v.Allow {
		t.Fatalf("conflicting allow values allowed: %+v", v)
	}
}

func TestFastPath_StillUsedForOrdinaryPolicies(t *testing.T) {
	p, err := loadMap(map[string]string{
		"p.rego":         "package isogate\n\ndefault allow := false\n\nallow if input.name == \"x\"\n\nallow if input.args.ok\n\ndeny contains \"no\" if input.args.bad\n",
		"schemas/x.json": `{}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if specializedPairs(p) == 0 {
		t.Fatal("an ordinary policy (default, several allow if, deny contains) lost the fast path")
	}
}

func specializedPairs(p *Policy) int {
	n, _ := p.FastPath()
	return n
}

// A string literal that reads like a package clause must not cost the fast
// path: its eligibility never depends on what strings contain.
func TestFastPath_PackageTextInAStringKeepsIt(t *testing.T) {
	p, err := loadMap(map[string]string{
		"p.rego":         "package isogate\n\nallow if input.args.deal == \"package deal\"\n\ndeny contains \"no package for you\" if input.args.n > 3\n",
		"schemas/x.json": `{}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, why := p.FastPath(); n != 3 {
		t.Fatalf("fast path pairs = %d (generic because %q), want 3 (command and event x, and listen)", n, why)
	}
	v := p.Check(context.Background(), Input{Kind: KindCommand, Name: "x", Args: map[string]any{"deal": "package deal", "n": json.Number("1")}})
	if !v.Allow {
		t.Fatalf("fast path verdict = %+v, want allowed", v)
	}
}

// The generic path says why, naming the rule's place.
func TestFastPath_GenericSaysWhy(t *testing.T) {
	p, err := loadMap(map[string]string{
		"p.rego":         "package isogate\n\nallow if time.now_ns() > 0\n",
		"schemas/x.json": `{}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	n, why := p.FastPath()
	if n != 0 || !strings.Contains(why, "p.rego:3") || !strings.Contains(why, "time.now_ns") {
		t.Fatalf("FastPath() = %d, %q; want 0 and a reason naming p.rego:3 and time.now_ns", n, why)
	}
}

// Deny reasons that are not strings (an object, a number, a set) read the
// same on both paths: the fast path reads OPA's values itself.
func TestFastPath_NonStringReasonsMatchTheGenericPath(t *testing.T) {
	p, err := loadMap(map[string]string{
		"p.rego": `package isogate
allow if input.name == "x"
deny contains {"why": input.args.w, "n": 2} if input.args.w
deny contains 7 if input.args.w == "seven"
deny contains {"b", "a"} if input.args.w == "set"
deny contains "plain" if input.args.w == "plain"
`,
		"schemas/x.json": `{}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if specializedPairs(p) == 0 {
		t.Fatal("the fast path is not in use")
	}
	for _, w := range []string{"seven", "set", "plain", "other"} {
		in := Input{Kind: KindCommand, Name: "x", Args: map[string]any{"w": w}}
		fast, generic := p.Check(context.Background(), in), p.checkGeneric(context.Background(), in)
		if !reflect.DeepEqual(fast, generic) || fast.Allow || len(fast.Reasons) == 0 {
			t.Fatalf("w=%s:\nfast    %+v\ngeneric %+v", w, fast, generic)
		}
	}
}

// Each shape a residual can take reads the same on both paths: allow that
// depends on the args with no deny rule left (the query then asks for an
// empty set, not an undefined rule), deny rules with no allow rule left
// (the residual's own default false, "no allow rule matched"), and allow
// always true with deny deciding alone.
func TestFastPath_EveryResidualShapeMatchesTheGenericPath(t *testing.T) {
	p, err := loadMap(map[string]string{
		"p.rego": `package isogate
allow if {
	input.name == "only.allow"
	input.args.ok == true
}
deny contains "bad" if {
	input.name == "only.deny"
	input.args.bad == true
}
allow if input.name == "always"
deny contains "bad" if {
	input.name == "always"
	input.args.bad == true
}
`,
		"schemas/only.allow.json": `{}`,
		"schemas/only.deny.json":  `{}`,
		"schemas/always.json":     `{}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := specializedPairs(p); n != 7 {
		t.Fatalf("fast path pairs = %d, want 7 (three names, command and event, and listen)", n)
	}
	seen := map[string]bool{}
	for _, name := range []string{"only.allow", "only.deny", "always"} {
		for _, args := range []map[string]any{{"ok": true}, {"ok": false}, {"bad": true}, {}} {
			in := Input{Kind: KindCommand, Name: name, Args: args}
			fast, generic := p.Check(context.Background(), in), p.checkGeneric(context.Background(), in)
			if !reflect.DeepEqual(fast, generic) {
				t.Fatalf("%s %v:\nfast    %+v\ngeneric %+v", name, args, fast, generic)
			}
			seen[fmt.Sprint(fast.Allow, fast.Reasons)] = true
		}
	}
	// Allowed, "no allow rule matched", and "bad" with and without it.
	for _, want := range []string{"true []", "false [no allow rule matched]", "false [bad]", "false [bad no allow rule matched]"} {
		if !seen[want] {
			t.Errorf("no input reached the verdict %q; got %v", want, seen)
		}
	}
}

// Support rules partial evaluation writes for one name never answer for
// another's: OPA numbers them from zero in every evaluation, and in one
// shared package command a's rule and command b's were one rule, so a
// message to a with b's tag was allowed (found in review).
func TestFastPath_SupportRulesStayWithTheirName(t *testing.T) {
	p, err := loadMap(map[string]string{
		"p.rego": `package isogate
allow if true
wanted := {"a": "x", "b": "y"}
has_tag if {
	some t in input.args.tags
	t == wanted[input.name]
}
deny contains "no tag" if not has_tag
`,
		"schemas/a.json": `{}`,
		"schemas/b.json": `{}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if specializedPairs(p) == 0 {
		t.Fatal("the fast path is not in use")
	}
	for _, name := range []string{"a", "b"} {
		for _, tag := range []string{"x", "y", "z"} {
			for _, kind := range []string{KindCommand, KindEvent, KindListen} {
				in := Input{Kind: kind, Name: name, Args: map[string]any{"tags": []any{tag}}}
				fast, generic := p.Check(context.Background(), in), p.checkGeneric(context.Background(), in)
				if !reflect.DeepEqual(fast, generic) {
					t.Fatalf("%s %s with tag %s:\nfast    %+v\ngeneric %+v", kind, name, tag, fast, generic)
				}
			}
		}
	}
}

// TestFastPath_GeneratedPolicies compares the two paths on generated
// policies, not only the three shipped ones: defaults, negations partial
// evaluation cannot inline (support rules), helper rules and functions,
// and rules on every member of the input (the fast path builds only the
// members its residual reads).
func pick0(r *rand.Rand, xs ...string) string { return xs[r.IntN(len(xs))] }

func TestFastPath_GeneratedPolicies(t *testing.T) {
	conds := []string{
		`input.args.a == 1`, `input.args.b == true`, `not input.args.c`, `input.args.a in {1, 2}`,
		`input.origin == "https://app.example"`, `not input.origin == ""`, `trusted[input.origin]`,
		`input.window == "main"`, `startswith(input.session, "s1")`, `input.seq > 5`, `input.seq % 2 == 0`,
		`not has_tag`, `not tagged(input.args)`, `not has_wanted`, `count(input.args.tags) > 1`,
		`input.name == "n1"`, `input.name == "n2"`, `input.name == "ev"`, `input.kind == "event"`, `input.kind == "listen"`,
		`input.tauri.headers["x-file"] == "a"`, `not input.tauri`, `input.args.n > 1`,
	}
	reasons := []string{`"r1"`, `"r2"`, `sprintf("seq %d", [input.seq])`, `{"why": input.origin}`}
	r := rand.New(rand.NewPCG(3, 4))
	body := func() string {
		n := 1 + r.IntN(3)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = conds[r.IntN(len(conds))]
		}
		return "{\n\t" + strings.Join(parts, "\n\t") + "\n}"
	}
	used, policies := 0, 120
	for pi := 0; pi < policies; pi++ {
		var src strings.Builder
		src.WriteString("package isogate\n\n")
		switch r.IntN(4) {
		case 0, 1:
			src.WriteString("default allow := false\n\n")
		case 2:
			src.WriteString(pick0(r, "default allow := true\n\n", "default allow := \"no\"\n\n", "default allow := 0\n\n"))
		}
		for i := r.IntN(4); i > 0; i-- {
			fmt.Fprintf(&src, "allow if %s\n\n", body())
		}
		for i := r.IntN(4); i > 0; i-- {
			fmt.Fprintf(&src, "deny contains %s if %s\n\n", reasons[r.IntN(len(reasons))], body())
		}
		src.WriteString(`has_tag if {
	some t in input.args.tags
	t == "x"
}

tagged(a) if {
	some t in a.tags
	t == "y"
}

trusted contains "https://app.example"

wanted := {"n1": "x", "n2": "y"}

has_wanted if {
	some t in input.args.tags
	t == wanted[input.name]
}
`)
		p, err := loadMap(map[string]string{"p.rego": src.String(), "schemas/n1.json": `{}`, "schemas/n2.json": `{}`})
		if err != nil {
			t.Fatalf("policy %d does not load: %v\n%s", pi, err, src.String())
		}
		if specializedPairs(p) == 0 {
			continue
		}
		used++
		for i := 0; i < 300; i++ {
			pick := func(xs ...any) any { return xs[r.IntN(len(xs))] }
			args := map[string]any{}
			for k, v := range map[string]any{
				"a":    pick(json.Number("1"), json.Number("2"), json.Number("3"), "1"),
				"b":    pick(true, false),
				"c":    pick(true, false, nil),
				"tags": pick([]any{}, []any{"x"}, []any{"y", "z"}, []any{"x", "y"}),
			} {
				if r.IntN(3) > 0 {
					args[k] = v
				}
			}
			in := Input{
				Kind: pick(KindCommand, KindCommand, KindEvent, KindListen).(string), Name: pick("n1", "n2", "n3").(string),
				Args: args, Origin: pick("", "https://app.example", "https://evil.example").(string),
				Window: pick("main", "other").(string), Session: pick("s1", "s2").(string), Seq: uint64(r.IntN(10)),
			}
			switch r.IntN(6) {
			case 0: // a Tauri frontend's call: the extras take the whole input
				in.Tauri = NewTauri(in.Name)
				if r.IntN(2) == 0 {
					in.Tauri.Headers["x-file"] = "a"
				}
			case 1: // a number OPA cannot represent: denied on both paths
				args["n"] = pick(json.Number("1e999999"), json.Number("2"))
			}
			if in.Kind == KindListen {
				in.Name, in.Args, in.Tauri = pick("n1", "ev", "").(string), nil, nil
			}
			fast, generic := p.Check(context.Background(), in), p.checkGeneric(context.Background(), in)
			if !reflect.DeepEqual(fast, generic) {
				b, _ := json.Marshal(in)
				t.Fatalf("policy %d, input %s:\nfast    %+v\ngeneric %+v\n%s", pi, b, fast, generic, src.String())
			}
		}
	}
	// Most generated policies must take the fast path, or this tests little.
	if used < policies/2 {
		t.Fatalf("only %d of %d generated policies take the fast path", used, policies)
	}
	t.Logf("%d of %d policies on the fast path", used, policies)
}
