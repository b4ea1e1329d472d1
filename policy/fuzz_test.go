package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/isogate/isogate/codes"

	"github.com/open-policy-agent/opa/v1/ast"
)

// FuzzCheck feeds arbitrary input documents to the demo policy. Properties:
// no panic; the input OPA evaluates is exactly OPA's own conversion of the
// document; the verdict is one of the documented outcomes; allow and code
// agree; the same input gets the same verdict twice.
func FuzzCheck(f *testing.F) {
	seeds := []string{
		`{"kind":"command","name":"demo.greet","args":{"name":"Ada"}}`,
		`{"kind":"command","name":"demo.greet","args":{"name":"root"}}`,
		`{"kind":"command","name":"demo.secret","args":{}}`,
		`{"kind":"listen","name":"demo.tick","args":null}`,
		`{"kind":"command","name":"demo.greet","args":{"name":1e400}}`,
		`{"kind":"event","name":"x","args":[1,2,{"a":null}]}`,
		// Exponents out of OPA's range: an error, never a value (found in review).
		`{"kind":"command","name":"demo.greet","args":{"name":"x","n":-1e100000}}`,
		`{"kind":"command","name":"demo.notes.read","args":{"path":1e20000000}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	p, err := Load(context.Background(), os.DirFS("../demo/policy"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var raw struct {
			Kind, Name string
			Args       any
		}
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		if dec.Decode(&raw) != nil {
			return
		}
		in := Input{Kind: raw.Kind, Name: raw.Name, Args: raw.Args, Window: "main"}
		sameInput(t, in)
		v1 := p.Check(context.Background(), in)
		v2 := p.Check(context.Background(), in)
		if !reflect.DeepEqual(v1, v2) {
			t.Fatalf("verdicts differ: %+v then %+v", v1, v2)
		}
		switch {
		case v1.Allow && v1.Code == "":
		case !v1.Allow && (v1.Code == codes.Denied || v1.Code == codes.InvalidArgs || v1.Code == codes.UnknownCommand) && len(v1.Reasons) > 0:
		default:
			t.Fatalf("verdict outside the documented set: %+v", v1)
		}
	})
}

// sameInput checks that the input built for OPA is what OPA's own
// conversion of the document gives.
func sameInput(t *testing.T, in Input) {
	t.Helper()
	want, err := ast.InterfaceToValue(in.document())
	got, gotErr := in.build()
	if (err == nil) != (gotErr == nil) {
		t.Fatalf("conversion errors differ: OPA %v, ours %v", err, gotErr)
	}
	if err == nil && ast.Compare(got, want) != 0 {
		t.Fatalf("input differs from OPA's conversion:\n ours %v\n OPA  %v", got, want)
	}
}

func TestInputValue_SameAsOPAConversion(t *testing.T) {
	for _, args := range []any{
		nil, true, "x", json.Number("123456789012345678901234567890.5e-3"),
		[]any{}, map[string]any{}, map[string]any{"a": []any{json.Number("1"), nil, map[string]any{"$binary": json.Number("16")}}},
		map[string]any{"ü\u0000": "🙂"},
		map[string]any{"n": json.Number("-1e100000")}, json.Number("1e20000000"), json.Number("1e-100000"),
		// Types the core's decoder never produces, as Go callers may pass.
		7, 2.5, []string{"a"}, map[string]int{"n": 1},
	} {
		sameInput(t, Input{Kind: "command", Name: "x", Args: args, Origin: "o", Window: "main", Session: "s", Seq: 1<<53 + 1})
	}
}

// FuzzValidName holds the hand-written ValidName to NamePattern, the
// regular expression the iframe also gets.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"plugin:path|join", "plugin:a-b|_x1", "plugin:|x", "plugin:a|", "plugin:a|1x", "plugin:a|b|c",
		"plugin:a|b-c", "plugin:" + strings.Repeat("p", 65) + "|x", "plugin:" + strings.Repeat("p", 64) + "|x",
		"plugin:a|" + strings.Repeat("c", 128), "plugin:a|" + strings.Repeat("c", 129), "plugin:x", "tauri://resize",
		"download-progress", "demo.greet", "a:b", "", "-x", "_x", "a b", "a|b", "../x", "é", "a\xff", "a\n",
		strings.Repeat("a", 128), strings.Repeat("a", 129)} {
		f.Add(s)
	}
	pattern := regexp.MustCompile(NamePattern)
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := ValidName(name), pattern.MatchString(name); got != want {
			t.Fatalf("ValidName(%q) = %v, NamePattern says %v", name, got, want)
		}
	})
}
