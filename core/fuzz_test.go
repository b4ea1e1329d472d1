package core

import (
	"reflect"
	"testing"

	"github.com/isogate/isogate/codes"

	"github.com/isogate/isogate/policy"
)

// seedMessages are the decoder's seeds: every shape of message, good and bad.
var seedMessages = []string{
	`{"type":"invoke","id":1,"kind":"command","name":"demo.greet","args":{"name":"Ada"}}`,
	`{"type":"invoke","id":2,"kind":"listen","name":"demo.tick","args":null}`,
	`{"type":"invoke","id":3,"kind":"event","name":"demo.clicked","args":{"button":"x"}}`,
	`{"type":"invoke","id":4,"kind":"command","name":"x","args":{"big":123456789012345678901234567890}}`,
	`{"type":"invoke","id":5,"kind":"command","name":"x","args":{"a":1,"a":2}}`,
	`{"type":"invoke","id":6,"kind":"command","name":"x","args":[[[[[[[[[[1]]]]]]]]]]}`,
	`{"type":"invoke","id":7,"kind":"command","name":"../x","args":null}`,
	"{\"type\":\"invoke\",\"id\":8,\"kind\":\"command\",\"name\":\"x\",\"args\":\"\xff\"}",
	`{"type":"invoke","id":9,"kind":"command","name":"x","args":{"data":null},"bin":[{"path":"/data","len":3}]}`,
	`{"type":"reply","id":1,"ok":true}`,
	`[]`, `null`, ``,
	`{"type":"batch","messages":[{"type":"invoke","id":1,"kind":"command","name":"demo.greet","args":{"name":"Ada"}},{"type":"invoke","id":2,"kind":"listen","name":"demo.tick","args":null}]}`,
	`{"type":"batch","messages":[{"type":"invoke","id":1,"kind":"command","name":"x","args":1,"evil":1},{"type":"invoke","id":1,"kind":"command","name":"x","args":1}]}`,
	`{"type":"batch","messages":[{"type":"batch","messages":[]}]}`,
}

func seeds(f *testing.F, list []string) {
	if len(list) == 0 {
		f.Fatal("no seeds")
	}
	for _, s := range list {
		f.Add([]byte(s))
	}
}

// FuzzDecodeMessage: the strict decoder never panics, what it accepts is
// well formed (every message of a batch), and it decides the same way twice.
func FuzzDecodeMessage(f *testing.F) {
	seeds(f, seedMessages)
	f.Add(joinPlaintext([]byte(seedMessages[8]), [][]byte{[]byte("abc")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		d1, err1 := decodeFrame(b, Limits{MaxDepth: 8}.withDefaults())
		d2, err2 := decodeFrame(b, Limits{MaxDepth: 8}.withDefaults())
		if (err1 == nil) != (err2 == nil) || !reflect.DeepEqual(d1, d2) {
			t.Fatalf("decoded differently twice: %v / %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		if len(d1) == 0 {
			t.Fatal("a frame of no message decoded")
		}
		ids := map[uint64]bool{}
		for _, d := range d1 {
			m := d.m
			if m == nil || m.ID == 0 || (len(d1) > 1 && ids[m.ID]) {
				t.Fatalf("a message without a usable id, or twice the same id in a batch: %+v", d1)
			}
			ids[m.ID] = true
			if d.err != nil {
				if d.err.Code != codes.InvalidArgs && d.err.Code != codes.TooLarge {
					t.Fatalf("a message refused with %q", d.err.Code)
				}
				continue // answered by id
			}
			if len(d1) > MaxBatchMessages {
				t.Fatalf("a message of a %d-message frame accepted", len(d1))
			}
			if !policy.ValidName(m.Name) {
				t.Fatalf("accepted a malformed message: %+v", m)
			}
			if len(d1) > 1 && len(m.Bins) > 0 {
				t.Fatal("accepted binary values inside a batch")
			}
			switch m.Kind {
			case policy.KindCommand, policy.KindEvent:
			case policy.KindListen:
				if m.Args != nil {
					t.Fatal("accepted a listen with args")
				}
			default:
				t.Fatalf("accepted kind %q", m.Kind)
			}
		}
	})
}
