package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing/fstest"

	"github.com/isogate/isogate/policy"
)

// A policy directory is Rego in package isogate and a JSON Schema per
// command or event; a message is allowed only when its args fit the schema,
// an allow rule holds and no deny rule does.
func ExamplePolicy_Check() {
	p, err := policy.Load(context.Background(), fstest.MapFS{
		"policy.rego": {Data: []byte(`package isogate

allow if input.name == "notes.save"

deny contains "notes are at most 100 bytes" if count(input.args.text) > 100
`)},
		"schemas/notes.save.json": {Data: []byte(`{"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}`)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, args := range []string{`{"text": "hello"}`, `{"text": 7}`} {
		var a any
		json.Unmarshal([]byte(args), &a)
		v := p.Check(context.Background(), policy.Input{Kind: policy.KindCommand, Name: "notes.save", Args: a, Window: "main"})
		fmt.Println(v.Allow, v.Code, v.Reasons)
	}
	v := p.Check(context.Background(), policy.Input{Kind: policy.KindCommand, Name: "fs.read", Args: map[string]any{}})
	fmt.Println(v.Allow, v.Code)
	n, generic := p.FastPath()
	fmt.Println(n, generic == "")
	// Output:
	// true  []
	// false invalid_args [args/text: expected string, but got number]
	// false unknown_command
	// 3 true
}

// A policy that does not load says where and why.
func ExampleLoadError() {
	_, err := policy.Load(context.Background(), fstest.MapFS{"p.rego": {Data: []byte("package isogate\n\nallow if {\n")}})
	var le *policy.LoadError
	if errors.As(err, &le) {
		fmt.Println(le.File, le.Code)
	}
	// Output:
	// p.rego rego_parse_error
}
