package core

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/isogate/isogate/internal/jsonptr"
)

var update = flag.Bool("update", false, "rewrite testdata/messages/contract.json from DefaultLimits")

const corpusDir = "../testdata/messages"

// The frame contract the iframe's tests run against is the one the core
// sends with its default limits: the file is written from Go, never by hand.
func TestFrameContract_File(t *testing.T) {
	want, _ := json.MarshalIndent(DefaultLimits().frame(), "", "  ")
	want = append(want, '\n')
	path := filepath.Join(corpusDir, "contract.json")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale; run go test ./core -run Contract -update\nhave %s\nwant %s", path, got, want)
	}
}

// corpusCase is one file of testdata/messages, in the manner of age's
// testkit: header lines, a blank line, then the message exactly as sent.
//
//	expect: ok invalid_args        one outcome per message (ok, invalid_args, too_large), or fatal
//	limits: maxDepth=4             overrides of the default contract
//	only: core                     the body cannot be a value a page posts (or: js)
//
// In the body, {"$bytes": "<hex>"} stands for raw bytes: the iframe's test
// makes it a Uint8Array, and this one sends the message in the binary form
// the iframe would (sealedForm).
type corpusCase struct {
	name   string
	expect []string
	limits map[string]int64
	only   string
	body   []byte
}

func readCorpus(t *testing.T) []corpusCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in %s: %v", corpusDir, err)
	}
	var out []corpusCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		head, body, ok := bytes.Cut(b, []byte("\n\n"))
		if !ok {
			t.Fatalf("%s: no blank line before the body", f)
		}
		c := corpusCase{name: strings.TrimSuffix(filepath.Base(f), ".txt"), limits: map[string]int64{}, body: bytes.TrimSuffix(body, []byte("\n"))}
		for _, line := range strings.Split(string(head), "\n") {
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "expect":
				c.expect = strings.Fields(v)
			case "only":
				c.only = v
			case "limits":
				for _, kv := range strings.Fields(v) {
					name, n, _ := strings.Cut(kv, "=")
					if c.limits[name], err = strconv.ParseInt(n, 10, 64); err != nil {
						t.Fatalf("%s: limits: %v", f, err)
					}
				}
			case "comment":
			default:
				t.Fatalf("%s: unknown header %q", f, line)
			}
		}
		if len(c.expect) == 0 {
			t.Fatalf("%s: no expect line", f)
		}
		out = append(out, c)
	}
	return out
}

// Every case of the shared corpus gets the outcome it names from the core's
// decoder; sandbox-js/test/corpus.test.js holds the iframe to the same.
func TestDecodeFrame_SharedCorpus(t *testing.T) {
	for _, c := range readCorpus(t) {
		if c.only == "js" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			l := DefaultLimits()
			for k, v := range c.limits {
				switch k {
				case "maxDepth":
					l.MaxDepth = int(v)
				case "maxMessageBytes":
					l.MaxMessageBytes = v
				case "maxBinaryBytes":
					l.MaxBinaryBytes = v
				default:
					t.Fatalf("limit %q is not one of the core's", k)
				}
			}
			var got []string
			ds, err := decodeFrame(sealedForm(t, c.body), l)
			if err != nil {
				got = []string{"fatal"}
			}
			for _, d := range ds {
				if d.err != nil {
					got = append(got, string(d.err.Code))
				} else {
					got = append(got, "ok")
				}
			}
			if !reflect.DeepEqual(got, c.expect) {
				t.Fatalf("outcome %v (err %v), want %v", got, err, c.expect)
			}
		})
	}
}

// sealedForm turns a corpus body with {"$bytes": hex} values into the
// plaintext the iframe seals: those values null in the JSON, a bin table of
// their JSON pointers, and the bytes after the JSON. A body without them
// is returned as it is.
func sealedForm(t *testing.T, body []byte) []byte {
	if !bytes.Contains(body, []byte(`"$bytes"`)) {
		return body
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var msg map[string]any
	if err := dec.Decode(&msg); err != nil {
		t.Fatalf("a $bytes body must be one message object: %v", err)
	}
	var table []any
	var blobs []byte
	var walk func(v any, ptr string) any
	walk = func(v any, ptr string) any {
		switch x := v.(type) {
		case map[string]any:
			if h, ok := x["$bytes"].(string); ok && len(x) == 1 {
				b, err := hex.DecodeString(h)
				if err != nil {
					t.Fatal(err)
				}
				table = append(table, map[string]any{"path": ptr, "len": len(b)})
				blobs = append(blobs, b...)
				return nil
			}
			for k, e := range x {
				x[k] = walk(e, ptr+"/"+jsonptr.Escape(k))
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e, ptr+"/"+strconv.Itoa(i))
			}
		}
		return v
	}
	msg["args"] = walk(msg["args"], "")
	msg["bin"] = table
	js, _ := json.Marshal(msg)
	return joinPlaintext(js, [][]byte{blobs})
}
