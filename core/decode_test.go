package core

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeMessage_StrictAttacks(t *testing.T) {
	msg := func(args string) []byte {
		return []byte(`{"type":"invoke","id":1,"kind":"command","name":"x","args":` + args + `}`)
	}
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, c := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"plain", msg(`{"a":1}`), true},
		{"duplicate key at top", []byte(`{"type":"invoke","id":1,"id":2,"kind":"command","name":"x","args":null}`), false},
		{"duplicate key deep", msg(`{"a":{"b":1,"b":2}}`), false},
		{"duplicate key after escape", msg(`{"a":1,"\u0061":2}`), false},
		{"depth limit-1", msg(nest(7)), true},
		{"depth at limit", msg(nest(8)), true},
		{"depth limit+1", msg(nest(9)), false},
		{"invalid UTF-8", msg("\"\xff\""), false},
		{"lone surrogate escape", msg(`"\ud800"`), false},
		{"trailing data", append(msg(`1`), []byte(` {}`)...), false},
		{"listen carrying args", []byte(`{"type":"invoke","id":1,"kind":"listen","name":"x","args":{"a":1}}`), false},
		{"unknown kind", []byte(`{"type":"invoke","id":1,"kind":"unlisten","name":"x","args":null}`), false},
		{"unknown field", []byte(`{"type":"invoke","id":1,"kind":"command","name":"x","args":1,"evil":1}`), false},
		{"id zero", []byte(`{"type":"invoke","id":0,"kind":"command","name":"x","args":1}`), false},
		{"id too big for JS", []byte(`{"type":"invoke","id":9007199254740992,"kind":"command","name":"x","args":1}`), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeMessage(c.in, 8)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
		})
	}
}

// The iframe (sandbox-js/src/shape.js) counts the same way: 64 containers
// in args pass, 65 fail, whatever the innermost holds.
func TestDecodeMessage_DepthAgreesWithTheIframe(t *testing.T) {
	for _, c := range []struct {
		args string
		ok   bool
	}{
		{strings.Repeat("[", 64) + "1" + strings.Repeat("]", 64), true},
		{strings.Repeat("[", 65) + strings.Repeat("]", 65), false},
		{strings.Repeat(`{"a":`, 64) + "1" + strings.Repeat("}", 64), true},
	} {
		_, err := decodeMessage([]byte(`{"type":"invoke","id":1,"kind":"command","name":"x","args":`+c.args+`}`), DefaultLimits.MaxDepth)
		if (err == nil) != c.ok {
			t.Errorf("%.20s…: err = %v, want ok=%v", c.args, err, c.ok)
		}
	}
}

func TestDecodeMessage_HugeNumbersKeptExact(t *testing.T) {
	m, err := decodeMessage([]byte(`{"type":"invoke","id":1,"kind":"command","name":"x","args":{"n":123456789012345678901234567890.5e-3}}`), 8)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Args.(map[string]any)["n"]; n != json.Number("123456789012345678901234567890.5e-3") {
		t.Fatalf("number = %v", n)
	}
}
