package crypto

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the fixed inputs")

// vector is one known answer, shared with sandbox-js/test (WebCrypto must
// produce and accept the very same bytes).
type vector struct {
	Name      string `json:"name"`
	Secret    string `json:"secret"`
	Session   string `json:"session"`
	Direction int    `json:"direction"`
	Seq       uint64 `json:"seq"`
	Plaintext string `json:"plaintext"`
	Auth      string `json:"auth"`
	Frame     string `json:"frame"`
	// Expect is "reject" for a negative vector: a to-frame frame that both
	// Open and the iframe's open refuse (Why says what is wrong with it).
	Expect string `json:"expect,omitempty"`
	Why    string `json:"why,omitempty"`
}

func fixedKeys(t testing.TB, secretHex, sessionHex string) *Keys {
	t.Helper()
	secret, _ := hex.DecodeString(secretHex)
	var id SessionID
	sid, _ := hex.DecodeString(sessionHex)
	copy(id[:], sid)
	k, err := DeriveKeys(secret, id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sealAt(t testing.TB, k *Keys, d Direction, seq uint64, pt []byte) []byte {
	t.Helper()
	s := NewSealer(k, d)
	s.seq = seq - 1
	f, err := s.Seal(nil, pt)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("testdata/vectors.json holds no vectors")
	}
	return vs
}

func TestKnownAnswerVectors(t *testing.T) {
	if *update {
		writeVectors(t)
	}
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			k := fixedKeys(t, v.Secret, v.Session)
			if v.Expect == "reject" {
				frame, _ := hex.DecodeString(v.Frame)
				if pt, seq, err := NewOpener(k, Direction(v.Direction)).Open(nil, frame); err != ErrOpen {
					t.Fatalf("negative vector (%s) opened: %x, %d, %v", v.Why, pt, seq, err)
				}
				return
			}
			if got := hex.EncodeToString(k.Auth[:]); got != v.Auth {
				t.Errorf("auth token = %s, want %s", got, v.Auth)
			}
			pt, _ := hex.DecodeString(v.Plaintext)
			frame := sealAt(t, k, Direction(v.Direction), v.Seq, pt)
			if got := hex.EncodeToString(frame); got != v.Frame {
				t.Errorf("sealed frame = %s, want %s", got, v.Frame)
			}
			want, _ := hex.DecodeString(v.Frame)
			got, seq, err := NewOpener(k, Direction(v.Direction)).Open(nil, want)
			if err != nil || seq != v.Seq || !bytes.Equal(got, pt) {
				t.Errorf("Open = %x, %d, %v; want %x, %d", got, seq, err, pt, v.Seq)
			}
		})
	}
}

func writeVectors(t *testing.T) {
	secret := "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	session := "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
	in := []struct {
		name string
		dir  Direction
		seq  uint64
		pt   string
	}{
		{"to-core first invoke", ToCore, 1, `{"type":"invoke","id":1,"kind":"command","name":"demo.greet","args":{"name":"Ada"}}`},
		{"to-frame reply", ToFrame, 1, `{"type":"reply","id":1,"ok":true,"result":{"greeting":"Hello, Ada!"}}`},
		{"to-core empty plaintext", ToCore, 2, ``},
		{"to-core high sequence", ToCore, 1<<40 + 7, `{"type":"invoke","id":9,"kind":"command","name":"x","args":null}`},
	}
	var vs []vector
	for _, c := range in {
		k := fixedKeys(t, secret, session)
		f := sealAt(t, k, c.dir, c.seq, []byte(c.pt))
		vs = append(vs, vector{Name: c.name, Secret: secret, Session: session, Direction: int(c.dir), Seq: c.seq,
			Plaintext: hex.EncodeToString([]byte(c.pt)), Auth: hex.EncodeToString(k.Auth[:]), Frame: hex.EncodeToString(f)})
	}
	vs = append(vs, negativeVectors(t, secret, session)...)
	b, _ := json.MarshalIndent(vs, "", "  ")
	if err := os.WriteFile("testdata/vectors.json", append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// negativeVectors are to-frame frames that must not open, each broken in
// one way, made from one valid frame.
func negativeVectors(t *testing.T, secret, session string) []vector {
	k := fixedKeys(t, secret, session)
	pt := []byte(`{"type":"reply","id":1,"ok":true,"result":null}`)
	good := sealAt(t, k, ToFrame, 5, pt)
	// sealRaw seals pt under a header with any sequence number, even one
	// the Sealer never gives.
	sealRaw := func(seq uint64) []byte {
		h := putHeader(nil, ToFrame, k.ID, seq)
		n := nonce(seq)
		return k.aead(ToFrame).Seal(h, n[:], pt, h)
	}
	edit := func(f func([]byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := []struct {
		why   string
		frame []byte
	}{
		{"tag changed", edit(func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b })},
		{"ciphertext changed", edit(func(b []byte) []byte { b[HeaderSize] ^= 1; return b })},
		{"sequence number changed after sealing", edit(func(b []byte) []byte { b[HeaderSize-1] ^= 1; return b })},
		{"session id changed", edit(func(b []byte) []byte { b[2] ^= 1; return b })},
		{"direction to-core", edit(func(b []byte) []byte { b[1] = byte(ToCore); return b })},
		{"version 2", edit(func(b []byte) []byte { b[0] = 2; return b })},
		{"truncated below the overhead", good[:Overhead-1]},
		{"ciphertext cut short", good[:len(good)-1]},
		{"empty", []byte{}},
		{"sealed with sequence number 0", sealRaw(0)},
		{"sealed with sequence number 2^53", sealRaw(MaxSeq + 1)},
		{"sealed with the to-core key", func() []byte {
			h := putHeader(nil, ToFrame, k.ID, 5)
			n := nonce(5)
			return k.aead(ToCore).Seal(h, n[:], pt, h)
		}()},
	}
	var out []vector
	for _, c := range cases {
		out = append(out, vector{Name: "reject: " + c.why, Secret: secret, Session: session, Direction: int(ToFrame),
			Auth: hex.EncodeToString(k.Auth[:]), Frame: hex.EncodeToString(c.frame), Expect: "reject", Why: c.why})
	}
	return out
}

func testKeys(t testing.TB) *Keys {
	secret, id := NewSession()
	k, err := DeriveKeys(secret[:], id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Every single-bit change anywhere in a frame -- version, direction, session
// id, sequence number (which is also the nonce), ciphertext, tag -- must fail.
// opens are the two ways to open a frame; every rejection holds for both.
var opens = map[string]func(*Opener, []byte) ([]byte, uint64, error){
	"Open":        func(o *Opener, f []byte) ([]byte, uint64, error) { return o.Open(nil, f) },
	"OpenInPlace": (*Opener).OpenInPlace,
}

func TestOpen_AnyFlippedBitRejected(t *testing.T) {
	k := testKeys(t)
	frame := sealAt(t, k, ToCore, 5, []byte(`{"type":"invoke","id":1}`))
	regions := map[string][2]int{
		"version": {0, 1}, "direction": {1, 2}, "session": {2, 18},
		"sequence/nonce": {18, 26}, "ciphertext": {26, len(frame) - TagSize}, "tag": {len(frame) - TagSize, len(frame)},
	}
	for name, r := range regions {
		for i := r[0]; i < r[1]; i++ {
			for bit := 0; bit < 8; bit++ {
				for how, open := range opens {
					bad := bytes.Clone(frame)
					bad[i] ^= 1 << bit
					if _, _, err := open(NewOpener(k, ToCore), bad); err != ErrOpen {
						t.Fatalf("%s, %s: flipping bit %d of byte %d: err = %v, want ErrOpen", how, name, bit, i, err)
					}
				}
			}
		}
	}
	if _, _, err := NewOpener(k, ToCore).Open(nil, frame); err != nil {
		t.Fatalf("untouched frame: %v", err)
	}
}

func TestOpenInPlace_SamePlaintextAsOpen(t *testing.T) {
	k := testKeys(t)
	want := []byte(`{"type":"invoke","id":1,"kind":"command","name":"a.b","args":null}`)
	frame := sealAt(t, k, ToCore, 3, want)
	got, seq, err := NewOpener(k, ToCore).OpenInPlace(frame)
	if err != nil || seq != 3 || !bytes.Equal(got, want) {
		t.Fatalf("OpenInPlace = %q, %d, %v; want %q, 3", got, seq, err, want)
	}
	if &got[0] != &frame[HeaderSize] {
		t.Fatal("the plaintext is not in the frame's storage")
	}
}

func TestOpenInPlace_FailureLeavesWindowUnchanged(t *testing.T) {
	k := testKeys(t)
	frame := sealAt(t, k, ToCore, 7, []byte("x"))
	o := NewOpener(k, ToCore)
	bad := bytes.Clone(frame)
	bad[len(bad)-1] ^= 1
	if _, _, err := o.OpenInPlace(bad); err != ErrOpen {
		t.Fatalf("forged frame: err = %v, want ErrOpen", err)
	}
	if _, seq, err := o.OpenInPlace(frame); err != nil || seq != 7 {
		t.Fatalf("the genuine frame after a forged one of the same number: seq %d, err %v", seq, err)
	}
}

func TestOpen_ReplayedSequenceRejected(t *testing.T) {
	k := testKeys(t)
	frame := sealAt(t, k, ToCore, 1, []byte("x"))
	o := NewOpener(k, ToCore)
	if _, _, err := o.Open(nil, frame); err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.Open(nil, frame); err != ErrOpen {
		t.Fatalf("replay: err = %v, want ErrOpen", err)
	}
}

func TestOpen_ReplyReflectedAsRequestRejected(t *testing.T) {
	k := testKeys(t)
	reply := sealAt(t, k, ToFrame, 1, []byte(`{"type":"reply"}`))
	if _, _, err := NewOpener(k, ToCore).Open(nil, reply); err != ErrOpen {
		t.Fatalf("reflected reply: err = %v, want ErrOpen", err)
	}
	// Even with the direction byte rewritten, the key differs.
	reply[1] = byte(ToCore)
	if _, _, err := NewOpener(k, ToCore).Open(nil, reply); err != ErrOpen {
		t.Fatalf("reflected reply with rewritten direction: err = %v, want ErrOpen", err)
	}
}

func TestOpen_FrameOfAnotherSessionRejected(t *testing.T) {
	a, b := testKeys(t), testKeys(t)
	frame := sealAt(t, a, ToCore, 1, []byte("x"))
	if _, _, err := NewOpener(b, ToCore).Open(nil, frame); err != ErrOpen {
		t.Fatalf("other session: err = %v, want ErrOpen", err)
	}
	copy(frame[2:18], b.ID[:]) // claim b's id: the tag still binds a's key
	if _, _, err := NewOpener(b, ToCore).Open(nil, frame); err != ErrOpen {
		t.Fatalf("other session, id rewritten: err = %v, want ErrOpen", err)
	}
}

func TestOpen_TruncatedFrameRejected(t *testing.T) {
	k := testKeys(t)
	frame := sealAt(t, k, ToCore, 1, nil) // exactly Overhead bytes
	if len(frame) != Overhead {
		t.Fatalf("empty frame is %d bytes, want %d", len(frame), Overhead)
	}
	for n := 0; n < Overhead; n++ {
		for how, open := range opens {
			if _, _, err := open(NewOpener(k, ToCore), bytes.Clone(frame[:n])); err != ErrOpen {
				t.Fatalf("%s: %d-byte frame: err = %v, want ErrOpen", how, n, err)
			}
		}
	}
	if _, _, err := NewOpener(k, ToCore).Open(nil, frame); err != nil {
		t.Fatalf("Overhead-byte frame: %v", err)
	}
}

func TestSeal_SequenceNeverWraps(t *testing.T) {
	k := testKeys(t)
	s := NewSealer(k, ToFrame)
	s.seq = MaxSeq - 1
	if _, err := s.Seal(nil, nil); err != nil {
		t.Fatalf("last sequence number: %v", err)
	}
	if _, err := s.Seal(nil, nil); !errors.Is(err, ErrSequenceExhausted) {
		t.Fatalf("after the last: err = %v, want ErrSequenceExhausted", err)
	}
}

func TestDeriveKeys_WrongSecretSizeRejected(t *testing.T) {
	for _, n := range []int{0, 31, 33} {
		if _, err := DeriveKeys(make([]byte, n), SessionID{}); err == nil {
			t.Errorf("%d-byte secret accepted", n)
		}
	}
}
