package policy

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// attackPolicies read the input every way Rego can: comprehensions,
// every, walk, object.get, imports, templates, support rules, helpers and
// defaults in other isogate packages, data keyed by input members. Each
// must give the same verdict on both paths (found by an independent
// review of the fast path building only the members a residual reads).
var attackPolicies = map[string]string{
	"compr":          `allow if { count([o | o := input.origin; o != ""]) > 0 }`,
	"every":          `allow if { every t in input.args.tags { t != input.window } }`,
	"walk":           `allow if { walk(input.args, [p, v]); v == input.session }`,
	"objget":         `allow if { object.get(input.args, "x", input.origin) == "a" }`,
	"negsupport":     "allow if { not bad }\nbad if input.seq > 3",
	"func":           "f(x) if x == \"a\"\nallow if f(input.origin)",
	"defhelper":      "default o := \"none\"\no := input.origin if input.origin != \"\"\nallow if o == \"a\"",
	"partialset":     "origins contains input.origin\nallow if origins[\"a\"]",
	"import":         "import input.origin as og\nallow if og == \"a\"",
	"strkey":         `allow if input["window"] == "main"`,
	"marshal":        `allow if json.marshal(input.session) == "\"s1\""`,
	"denysprintf":    "allow if true\ndeny contains sprintf(\"%v\", [input.window]) if input.seq > 3",
	"sess":           "sess := input.session\nallow if sess == \"s1\"",
	"in":             `allow if input.origin in {"a", "b"}`,
	"datakey":        `allow if data.perms[input.session]`,
	"someseq":        `allow if { some x in input.args.tags; x == input.window }`,
	"setcomp":        "allow if { s := {w | w := input.window}; s[\"main\"] }\n",
	"objcomp":        "allow if { o := {k: v | k := input.session; v := input.seq}; o.s1 > 3 }\n",
	"notnot":         "allow if { not nw }\nnw if { not input.window == \"main\" }",
	"notcompr":       "allow if { not x }\nx if { count([1 | input.session == \"s1\"]) > 0 }",
	"everysupp":      "allow if { not e }\ne if { every t in input.args.tags { t == input.origin } }",
	"deffalse_other": "allow if input.window == \"main\"",
	"seqonly":        `allow if input.seq == 4`,
	"namelisten":     `allow if { input.kind == "listen"; startswith(input.name, input.window) }`,
	"default_true":   "deny contains \"w\" if input.window != \"main\"",
	"unify":          `allow if { [input.window, input.session] = ["main", x]; x == "s1" }`,
	"nested":         `allow if { x := {"o": input.origin}; x.o == "a" }`,
	"arr":            `allow if { a := [input.origin, input.window]; a[1] == "main" }`,
	"regexs":         `allow if regex.match("^s", input.session)`,
}

var attackExtra = map[string]map[string]string{
	"deffalse_other": {"lib.rego": "package isogate.lib\n\ndefault allow := false\n"},
	"libdefault":     {"lib.rego": "package isogate.lib\n\ndefault ok := false\nok if input.window == \"main\"\n"},
	"datakey":        {"data.json": `{"perms": {"s1": true}}`},
}

func init() {
	attackPolicies["tmpl"] = "allow if $\"{input.window}-{input.session}\" == \"main-s1\""
	attackPolicies["const"] = "allow if true"
	attackPolicies["constdeny"] = "deny contains \"x\" if true\nallow if true"

	attackPolicies["dynpkg"] = "yes if input.window == \"main\"\nallow if data.isogate[input.args.x] == true"
	attackPolicies["dynpkg2"] = "yes if input.window == \"main\"\nallow if { some k; data.isogate[k] == true; k == input.args.x }"
	attackPolicies["flags"] = "flags contains \"a\" if input.window == \"main\"\nallow if flags[input.args.x]"
	attackPolicies["subdyn"] = "allow if data.isogate.sub[input.args.x]"
	attackExtra["subdyn"] = map[string]string{"sub.rego": "package isogate.sub\n\na if input.window == \"main\"\ns1 if input.session == \"s1\"\n"}
	attackPolicies["subwalk"] = "allow if { some k, v in data.isogate.sub; v == true; k == input.args.x }"
	attackExtra["subwalk"] = attackExtra["subdyn"]

	attackPolicies["allowset"] = "allow contains \"x\" if input.window == \"main\""
	attackPolicies["allowref"] = "allow.x := true if input.window == \"main\""
	attackPolicies["subpkg"] = "deny contains \"d\" if input.seq > 4"
	attackExtra["subpkg"] = map[string]string{"sub.rego": "package isogate.allow\n\nx := true if input.window == \"main\"\n"}
	attackPolicies["deftrue"] = "default allow := true\ndeny contains \"w\" if input.window != \"main\""
	attackPolicies["deftrue2"] = "default allow := true\nallow if input.window == \"main\""
	attackPolicies["libdefault"] = "allow if data.isogate.lib.ok"
	attackPolicies["pkgfunc"] = "allow if data.isogate.lib2.g(input.session)"
	attackExtra["pkgfunc"] = map[string]string{"lib2.rego": "package isogate.lib2\n\ng(s) if { s == \"s1\"; input.window == \"main\" }\n"}
}

// refusedByOPA are attack policies OPA itself refuses to compile (alone or
// with a second default): conflicting or recursive allow rules.
var refusedByOPA = map[string]bool{"allowset": true, "allowref": true, "subpkg": true, "deftrue": true, "deftrue2": true, "dynpkg": true, "dynpkg2": true}

func TestFastPath_AttackPolicies(t *testing.T) {
	fast := 0
	for name, body := range attackPolicies {
		for _, dflt := range []string{"", "default allow := false\n\n"} {
			files := map[string]string{"p.rego": "package isogate\n\n" + dflt + body + "\n", "schemas/n1.json": `{}`}
			for k, v := range attackExtra[name] {
				files[k] = v
			}
			p, err := loadMap(files)
			if err != nil {
				if !refusedByOPA[name] {
					t.Errorf("%s: %v", name, err)
				}
				continue
			}
			n, why := p.FastPath()
			if n == 0 {
				t.Logf("%s: generic: %s", name, why)
				continue
			}
			fast++
			bad := 0
			for _, kind := range []string{KindCommand, KindEvent, KindListen} {
				for _, origin := range []string{"", "a", "https://x"} {
					for _, win := range []string{"main", "w2", "a"} {
						for _, sess := range []string{"s1", "s2"} {
							for _, seq := range []uint64{0, 4, 9} {
								for _, args := range []any{map[string]any{}, map[string]any{"x": "a", "tags": []any{"main", "a"}}, map[string]any{"tags": []any{"s1"}, "y": "s1"}, map[string]any{"big": json.Number("1e999999")}} {
									in := Input{Kind: kind, Name: "n1", Args: args, Origin: origin, Window: win, Session: sess, Seq: seq}
									if kind == KindListen {
										in.Name = "main-ev"
									}
									f, g := p.Check(context.Background(), in), p.checkGeneric(context.Background(), in)
									if !reflect.DeepEqual(f, g) {
										if bad++; bad < 3 {
											b, _ := json.Marshal(in)
											t.Errorf("%s (%q): %s\nfast %+v\ngen  %+v", name, dflt, b, f, g)
										}
									}
								}
							}
						}
					}
				}
			}
			t.Logf("%s %v: fast %d pairs, %d mismatches", name, dflt != "", n, bad)
		}
	}
	if fast < 40 {
		t.Fatalf("only %d of the attack policies took the fast path", fast)
	}
}

// A Prepared is safe for concurrent use, as its doc says: the core checks
// it while the decision log may build its whole value (run under -race by
// make test).
func TestPrepared_ConcurrentUse(t *testing.T) {
	p, err := loadMap(map[string]string{"p.rego": "package isogate\n\nallow if input.args.ok\n", "schemas/n1.json": `{}`})
	if err != nil {
		t.Fatal(err)
	}
	pr := Prepare(Input{Kind: KindCommand, Name: "n1", Args: map[string]any{"ok": true}, Window: "main", Session: "s"})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				if v := p.CheckPrepared(context.Background(), pr); !v.Allow {
					t.Errorf("denied: %+v", v)
				}
			} else if _, err := pr.full(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// The fast path builds each input member it knows (inputMembers) and
// hands inputs with any other member (an extra) the whole value: a member
// added to Input that is in neither list would silently be absent on the
// fast path. Every field of Input is held to one of the two, and is one
// eligibility knows.
func TestInputMembers_EveryFieldIsBuiltOrAnExtra(t *testing.T) {
	known := map[string]bool{"kind": true, "name": true}
	for _, f := range perMessageFields {
		known[f] = true
	}
	typ := reflect.TypeOf(Input{})
	seen := map[string]bool{}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		seen[name] = true
		if !known[name] {
			t.Errorf("input.%s is not a member the fast path's eligibility knows (perMessageFields)", name)
		}
		var in Input
		v := reflect.ValueOf(&in).Elem().Field(i)
		switch v.Kind() {
		case reflect.Pointer:
			v.Set(reflect.New(f.Type.Elem()))
		case reflect.Slice:
			v.Set(reflect.MakeSlice(f.Type, 1, 1))
		case reflect.Map:
			v.Set(reflect.MakeMap(f.Type))
		case reflect.Interface, reflect.String:
			v.Set(reflect.ValueOf("x").Convert(f.Type))
		case reflect.Uint64:
			v.SetUint(1)
		default:
			t.Fatalf("input.%s: a field of kind %s this test cannot set", name, v.Kind())
		}
		if _, built := readsOf[name]; !built && name != "args" && !in.hasExtras() {
			t.Errorf("input.%s is neither built by buildReading nor an extra (hasExtras)", name)
		}
	}
	for name := range readsOf {
		if !seen[name] {
			t.Errorf("inputMembers builds %q, which Input does not have", name)
		}
	}
	// Without extras, the whole value is exactly what buildReading makes.
	in := Input{Kind: KindCommand, Name: "n", Args: map[string]any{"a": "b"}, Origin: "o", Window: "w", Session: "s", Seq: 3}
	whole, err := in.build()
	if err != nil {
		t.Fatal(err)
	}
	reading, err := in.buildReading(readsAll)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(in.document())
	if whole.Compare(reading) != 0 || ast.MustParseTerm(string(doc)).Value.Compare(whole) != 0 {
		t.Fatalf("the whole value %v, buildReading's %v and the input document %s differ", whole, reading, doc)
	}
}

// residualReads falls back to every member for a reference to the input
// that is not by a member's name (eligibility refuses those, so this is
// the second line), and finds members read only in support rules.
func TestResidualReads(t *testing.T) {
	body := func(s string) ast.Body {
		return ast.MustParseBodyWithOpts(s, ast.ParserOptions{RegoVersion: ast.RegoV1})
	}
	support := ast.MustParseModuleWithOpts("package isogate_support.c1\n\nq if input.seq > 1\n", ast.ParserOptions{RegoVersion: ast.RegoV1})
	for _, c := range []struct {
		pq   rego.PartialQueries
		want reads
	}{
		{rego.PartialQueries{Queries: []ast.Body{body(`input.args.x == 1`)}}, 0},
		{rego.PartialQueries{Queries: []ast.Body{body(`input.origin == "a"; input.args.x`)}}, readsOf["origin"]},
		{rego.PartialQueries{Queries: []ast.Body{body(`input.window == "a"`)}, Support: []*ast.Module{support}}, readsOf["window"] | readsOf["seq"]},
		{rego.PartialQueries{Queries: []ast.Body{body(`some k; input[k] == 1`)}}, readsAll},
		{rego.PartialQueries{Queries: []ast.Body{body(`x := input; x.origin == "a"`)}}, readsAll},
	} {
		if got := residualReads(&c.pq); got != c.want {
			t.Errorf("%v: reads %b, want %b", c.pq.Queries, got, c.want)
		}
	}
}
