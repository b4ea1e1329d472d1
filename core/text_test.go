package core

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// text reads names and values as jsontext's ReadToken does, the same
// string or the same error, whatever escapes and bytes they hold: it reads
// them raw and unquotes itself, so a jsontext upgrade must not part them.
func TestDecodeText_MatchesReadToken(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	atoms := []string{"a", "\\u0061", "\\\"", "\\\\", "\\/", "\\n", "\\ud800", "\\udc00", "\\ud83d\\ude00", "\xff", "\xc3\xa9", "\xed\xa0\x80", "\\u0000", "\x01", "\\x", "type", "command", "\\u00", "\"", "\\"}
	for i := 0; i < 50000; i++ {
		var b bytes.Buffer
		b.WriteString(`{"`)
		for n := r.IntN(4); n > 0; n-- {
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		b.WriteString(`":"`)
		for n := r.IntN(4); n > 0; n-- {
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		b.WriteString(`"}`)
		in := b.Bytes()
		d1, d2 := jsontext.NewDecoder(bytes.NewReader(in)), jsontext.NewDecoder(bytes.NewReader(in))
		d1.ReadToken()
		d2.ReadToken()
		fd := frameDecoder{dec: d2}
		for j := 0; j < 2; j++ {
			tok, e1 := d1.ReadToken()
			var s1 string
			if e1 == nil {
				s1 = tok.String()
			}
			s2, _, e2 := fd.text()
			if (e1 == nil) != (e2 == nil) || s1 != s2 {
				t.Fatalf("%q part %d: token %q %v, text %q %v", in, j, s1, e1, s2, e2)
			}
			if e1 != nil {
				break
			}
		}
	}
}
