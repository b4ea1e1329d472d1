package core

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/isogate/isogate/internal/jsonptr"
)

// Binary values travel as raw bytes after a message's JSON
// (docs/protocol.md):
//
//	0x01 | u32 BE length of the JSON | JSON | blob 0 | blob 1 | ...
//
// The JSON holds null where a blob goes and "bin": [{"path", "len"}], JSON
// pointers relative to the message's value. Schemas, the policy and the
// decision log see {"$binary": <length>} in a blob's place; handlers get
// []byte.
const binaryForm = 0x01

// binRef is one blob of a decoded message.
type binRef struct {
	path []string
	data []byte
}

// splitPlaintext separates the JSON of a plaintext from its blobs.
func splitPlaintext(b []byte) (jsonPart, blobs []byte, err error) {
	if len(b) == 0 || b[0] != binaryForm {
		return b, nil, nil
	}
	if len(b) < 5 {
		return nil, nil, errors.New("short binary message")
	}
	n := binary.BigEndian.Uint32(b[1:5])
	if uint64(n) > uint64(len(b)-5) {
		return nil, nil, errors.New("binary message: JSON length past the end")
	}
	return b[5 : 5+n], b[5+n:], nil
}

// placeBlobs checks the table against args and blobs, puts the placeholder
// in each blob's place, and returns args (the placeholder itself when the
// args are one blob, path "") and the blobs to attach after the policy.
func placeBlobs(args any, table any, blobs []byte) (any, []binRef, error) {
	entries, ok := table.([]any)
	if !ok {
		return nil, nil, errors.New("bin must be an array")
	}
	var refs []binRef
	for _, e := range entries {
		obj, _ := e.(map[string]any)
		p, _ := obj["path"].(string)
		n, err := strconv.ParseUint(fmt.Sprint(obj["len"]), 10, 63)
		if len(obj) != 2 || err != nil || n > uint64(len(blobs)) {
			return nil, nil, errors.New("malformed bin entry")
		}
		toks, err := jsonptr.Parse(p)
		if err != nil {
			return nil, nil, errors.New("malformed bin path")
		}
		placeholder := map[string]any{"$binary": json.Number(strconv.FormatUint(n, 10))}
		if len(toks) == 0 { // the args are the blob
			if args != nil || len(entries) != 1 {
				return nil, nil, errors.New("a bin path of \"\" means the args are one blob, and null")
			}
			args = placeholder
			refs = append(refs, binRef{nil, blobs[:n:n]})
			blobs = blobs[n:]
			continue
		}
		last := toks[len(toks)-1]
		parent, ok := jsonptr.Parent(args, toks)
		if v, present := jsonptr.Get(parent, last); !ok || !present || v != nil {
			return nil, nil, fmt.Errorf("bin path %q does not point at a null", p)
		}
		jsonptr.Set(parent, last, placeholder)
		refs = append(refs, binRef{toks, blobs[:n:n]})
		blobs = blobs[n:]
	}
	if len(blobs) != 0 {
		return nil, nil, errors.New("bytes after the last blob")
	}
	return args, refs, nil
}

// attachBlobs replaces the placeholders with the bytes, for the handler,
// and returns the args (the bytes themselves when they are one blob).
func attachBlobs(args any, refs []binRef) any {
	for _, r := range refs {
		if len(r.path) == 0 {
			return r.data
		}
		parent, _ := jsonptr.Parent(args, r.path)
		jsonptr.Set(parent, r.path[len(r.path)-1], r.data)
	}
	return args
}

type binEntry struct {
	Path string `json:"path"`
	Len  int    `json:"len"`
}

// splitBlobs takes the []byte values out of a result or payload made of
// maps, slices and []byte (a struct's []byte fields encode as base64, as
// encoding/json does), leaving null in their place.
func splitBlobs(v any) (any, []binEntry, [][]byte) {
	var table []binEntry
	var blobs [][]byte
	var walk func(v any, path string) any
	walk = func(v any, path string) any {
		switch x := v.(type) {
		case []byte:
			table = append(table, binEntry{path, len(x)})
			blobs = append(blobs, x)
			return nil
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = walk(e, path+"/"+jsonptr.Escape(k))
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = walk(e, path+"/"+strconv.Itoa(i))
			}
			return out
		}
		return v
	}
	return walk(v, ""), table, blobs
}

// joinPlaintext frames JSON and blobs in the binary form; with no blobs the
// plaintext is the JSON alone.
func joinPlaintext(jsonPart []byte, blobs [][]byte) []byte {
	if len(blobs) == 0 {
		return jsonPart
	}
	n := 5 + len(jsonPart)
	for _, b := range blobs {
		n += len(b)
	}
	out := make([]byte, 5, n)
	out[0] = binaryForm
	binary.BigEndian.PutUint32(out[1:5], uint32(len(jsonPart)))
	out = append(out, jsonPart...)
	for _, b := range blobs {
		out = append(out, b...)
	}
	return out
}
