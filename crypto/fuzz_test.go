package crypto

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// FuzzOpen feeds arbitrary frames to an opener holding the vectors' keys. The
// properties: no panic; the only error is ErrOpen; a frame that opens
// re-seals to itself (no malleability); a frame never opens twice.
func FuzzOpen(f *testing.F) {
	vs := loadVectors(f)
	for _, v := range vs {
		b, _ := hex.DecodeString(v.Frame)
		f.Add(b)
	}
	k := fixedKeys(f, vs[0].Secret, vs[0].Session)
	f.Fuzz(func(t *testing.T, frame []byte) {
		for _, d := range []Direction{ToCore, ToFrame} {
			o := NewOpener(k, d)
			pt, seq, err := o.Open(nil, frame)
			if err != nil {
				if err != ErrOpen {
					t.Fatalf("error %v is not ErrOpen", err)
				}
				continue
			}
			if again := sealAt(t, k, d, seq, pt); !bytes.Equal(again, frame) {
				t.Fatalf("opened frame does not re-seal to itself")
			}
			if _, _, err := o.Open(nil, frame); err != ErrOpen {
				t.Fatalf("frame opened twice")
			}
		}
	})
}

// FuzzRoundTrip: open(seal(x)) = x, and any one-bit change fails.
func FuzzRoundTrip(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.Expect == "reject" {
			continue
		}
		b, _ := hex.DecodeString(v.Plaintext)
		f.Add(b, uint64(v.Seq), uint16(0))
	}
	k := testKeys(f)
	f.Fuzz(func(t *testing.T, pt []byte, seq uint64, flip uint16) {
		if seq == 0 || seq > MaxSeq {
			seq = 1
		}
		frame := sealAt(t, k, ToCore, seq, pt)
		got, gotSeq, err := NewOpener(k, ToCore).Open(nil, frame)
		if err != nil || gotSeq != seq || !bytes.Equal(got, pt) {
			t.Fatalf("round trip failed: %v", err)
		}
		bit := int(flip) % (len(frame) * 8)
		frame[bit/8] ^= 1 << (bit % 8)
		if _, _, err := NewOpener(k, ToCore).Open(nil, frame); err != ErrOpen {
			t.Fatalf("bit %d flipped: err = %v, want ErrOpen", bit, err)
		}
	})
}
