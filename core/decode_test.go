package core

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/isogate/isogate/codes"
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
		{"duplicate shape name after escape", []byte(`{"type":"invoke","\u0069d":1,"id":2,"kind":"command","name":"x","args":null}`), false},
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
			_, err := decodeOne(c.in, 8)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
		})
	}
}

// The words of the request shape decode the same written with escapes as
// plainly: the decoder shares strings for them, which must not skip
// unquoting.
func TestDecodeMessage_EscapedShapeWords(t *testing.T) {
	plain, err := decodeOne([]byte(`{"type":"invoke","id":1,"kind":"command","name":"x","args":{"name":"event","k":"A"}}`), 8)
	if err != nil {
		t.Fatal(err)
	}
	escaped, err := decodeOne([]byte(`{"t\u0079pe":"inv\u006fke","id":1,"k\u0069nd":"comm\u0061nd","n\u0061me":"x",`+
		`"\u0061rgs":{"n\u0061me":"ev\u0065nt","k":"\u0041"}}`), 8)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(plain, escaped) {
		t.Fatalf("escaped %+v, plain %+v", escaped, plain)
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
		_, err := decodeOne([]byte(`{"type":"invoke","id":1,"kind":"command","name":"x","args":`+c.args+`}`), DefaultLimits().MaxDepth)
		if (err == nil) != c.ok {
			t.Errorf("%.20s…: err = %v, want ok=%v", c.args, err, c.ok)
		}
	}
}

func TestDecodeMessage_HugeNumbersKeptExact(t *testing.T) {
	m, err := decodeOne([]byte(`{"type":"invoke","id":1,"kind":"command","name":"x","args":{"n":123456789012345678901234567890.5e-3}}`), 8)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Args.(map[string]any)["n"]; n != json.Number("123456789012345678901234567890.5e-3") {
		t.Fatalf("number = %v", n)
	}
}

// decodeOne decodes a frame that must hold exactly one message.
func decodeOne(b []byte, maxDepth int) (*message, error) {
	ds, err := decodeFrame(b, Limits{MaxDepth: maxDepth}.withDefaults())
	if err != nil {
		return nil, err
	}
	if len(ds) != 1 {
		return nil, fmt.Errorf("%d messages, want 1", len(ds))
	}
	if ds[0].err != nil {
		return ds[0].m, ds[0].err
	}
	return ds[0].m, nil
}

// A batch is a container only: every message in it meets the same checks as
// one sent alone, and a batch that is anything but a non-empty list of
// messages does not decode at all (the connection ends).
func TestDecodeFrame_BatchAttacks(t *testing.T) {
	inv := func(id int, args string) string {
		return fmt.Sprintf(`{"type":"invoke","id":%d,"kind":"command","name":"x","args":%s}`, id, args)
	}
	batch := func(ms ...string) []byte {
		return []byte(`{"type":"batch","messages":[` + strings.Join(ms, ",") + `]}`)
	}
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	many := func(n int) []string {
		var ms []string
		for i := 1; i <= n; i++ {
			ms = append(ms, inv(i, `1`))
		}
		return ms
	}
	for _, c := range []struct {
		name  string
		in    []byte
		fatal bool
		errs  []bool // per message: answered with invalid_args
	}{
		{"two good", batch(inv(1, `1`), inv(2, `2`)), false, []bool{false, false}},
		{"one bad of three", batch(inv(1, `1`), inv(2, `1,"evil":1`), inv(3, `3`)), false, []bool{false, true, false}},
		{"depth at limit inside a batch", batch(inv(1, nest(8))), false, []bool{false}},
		{"depth limit+1 inside a batch", batch(inv(1, nest(9)), inv(2, `2`)), false, []bool{true, false}},
		{"duplicate key inside a message", batch(`{"type":"invoke","id":1,"id":2,"kind":"command","name":"x","args":1}`), true, nil},
		{"duplicate messages key", []byte(`{"type":"batch","messages":[` + inv(1, `1`) + `],"messages":[` + inv(2, `2`) + `]}`), true, nil},
		{"nested batch with an id", batch(`{"type":"batch","id":5,"messages":[` + inv(1, `1`) + `]}`), true, nil},
		{"nested batch without id", []byte(`{"type":"batch","messages":[{"type":"batch","messages":[` + inv(1, `1`) + `]}]}`), true, nil},
		{"empty batch", batch(), true, nil},
		{"not an array", []byte(`{"type":"batch","messages":{"a":` + inv(1, `1`) + `}}`), true, nil},
		{"not objects", batch(`1`, `"x"`), true, nil},
		{"message without id", batch(inv(1, `1`), `{"type":"invoke","kind":"command","name":"x","args":1}`), true, nil},
		{"extra field", []byte(`{"type":"batch","messages":[` + inv(1, `1`) + `],"x":1}`), true, nil},
		{"wrong type", []byte(`{"type":"invoke","messages":[` + inv(1, `1`) + `]}`), true, nil},
		{"duplicate call id", batch(inv(1, `1`), inv(1, `2`)), true, nil},
		{"a bin table inside a batch", batch(`{"type":"invoke","id":1,"kind":"command","name":"x","args":{"d":null},"bin":[{"path":"/d","len":0}]}`), false, []bool{true}},
		{"as many messages as allowed", batch(many(MaxBatchMessages)...), false, make([]bool, MaxBatchMessages)},
		{"one message too many", batch(many(MaxBatchMessages + 1)...), true, nil},
		{"binary form cannot batch", append([]byte{binaryForm, 0, 0, 0, byte(len(batch(inv(1, `1`))))}, batch(inv(1, `1`))...), true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			ds, err := decodeFrame(c.in, Limits{MaxDepth: 8}.withDefaults())
			if (err != nil) != c.fatal {
				t.Fatalf("err = %v, want fatal=%v", err, c.fatal)
			}
			if len(ds) != len(c.errs) {
				t.Fatalf("%d messages, want %d", len(ds), len(c.errs))
			}
			for i, d := range ds {
				if (d.err != nil) != c.errs[i] {
					t.Errorf("message %d: err = %v, want %v", i, d.err, c.errs[i])
				}
			}
		})
	}
}

func TestBatches_GroupInOrderWithinTheBound(t *testing.T) {
	j := func(s string) []byte { return []byte(s) }
	bin := []byte{binaryForm, 0, 0, 0, 2, '{', '}'}
	big := j(`"` + strings.Repeat("x", 100) + `"`)
	got := batches([][]byte{j(`1`), j(`2`), bin, j(`3`), big, j(`4`), j(`5`)}, 64)
	want := []string{`{"type":"batch","messages":[1,2]}`, string(bin), `3`, string(big), `{"type":"batch","messages":[4,5]}`}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("frame %d = %q, want %q", i, got[i], want[i])
		}
		if len(got[i]) > 64 && string(got[i]) != string(big) {
			t.Errorf("frame %d is over the bound: %d bytes", i, len(got[i]))
		}
	}
}

// A frame over the size limits costs a scan, not its contents: only each
// message's id is read, and a frame of more messages than a batch holds
// is refused whole (the reviewer's frame of 65 MiB of tiny messages took
// 11 s and 1.4 GiB when every message was decoded and answered).
func TestDecodeFrame_OversizedFrameIsOnlyScanned(t *testing.T) {
	l := Limits{MaxMessageBytes: 1 << 20}.withDefaults()
	big := strings.Repeat("x", 4<<20)
	frame := []byte(`{"type":"batch","messages":[` +
		`{"type":"invoke","id":1,"kind":"command","name":"x","args":{"s":"` + big + `"}},` +
		`{"type":"invoke","id":2,"kind":"command","name":"x","args":["` + big + `"]}]}`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ds, err := decodeFrame(frame, l)
	runtime.ReadMemStats(&after)
	if err != nil || len(ds) != 2 {
		t.Fatalf("oversized frame: %v, %d messages", err, len(ds))
	}
	for _, d := range ds {
		if d.err == nil || d.err.Code != codes.TooLarge || d.m.Args != nil {
			t.Fatalf("message %d: %+v, args %v; want too_large and nothing decoded", d.m.ID, d.err, d.m.Args != nil)
		}
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("scanning an %d-byte frame allocated %d bytes", len(frame), n)
	}
	many := make([]string, MaxBatchMessages+1)
	for i := range many {
		many[i] = fmt.Sprintf(`{"type":"invoke","id":%d,"kind":"command","name":"x","args":"%s"}`, i+1, strings.Repeat("x", 5000))
	}
	if _, err := decodeFrame([]byte(`{"type":"batch","messages":[`+strings.Join(many, ",")+`]}`), l); err == nil {
		t.Fatal("an oversized frame of more messages than a batch holds was answered")
	}
}
