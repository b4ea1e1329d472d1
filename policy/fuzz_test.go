package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// FuzzCheck feeds arbitrary input documents to the demo policy. Properties:
// no panic; the verdict is one of the documented outcomes; allow and code
// agree; the same input gets the same verdict twice.
func FuzzCheck(f *testing.F) {
	seeds := []string{
		`{"kind":"command","name":"demo.greet","args":{"name":"Ada"}}`,
		`{"kind":"command","name":"demo.greet","args":{"name":"root"}}`,
		`{"kind":"command","name":"demo.secret","args":{}}`,
		`{"kind":"listen","name":"demo.tick","args":null}`,
		`{"kind":"command","name":"demo.greet","args":{"name":1e400}}`,
		`{"kind":"event","name":"x","args":[1,2,{"a":null}]}`,
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
		in := &Input{Kind: raw.Kind, Name: raw.Name, Args: raw.Args, Window: "main"}
		v1 := p.Check(context.Background(), in)
		v2 := p.Check(context.Background(), in)
		if !reflect.DeepEqual(v1, v2) {
			t.Fatalf("verdicts differ: %+v then %+v", v1, v2)
		}
		switch {
		case v1.Allow && v1.Code == "":
		case !v1.Allow && (v1.Code == CodeDenied || v1.Code == CodeInvalid || v1.Code == CodeUnknown) && len(v1.Reasons) > 0:
		default:
			t.Fatalf("verdict outside the documented set: %+v", v1)
		}
	})
}
