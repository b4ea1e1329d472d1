package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/isogate/isogate/policy"
)

// message is one decoded request from the isolation iframe.
type message struct {
	ID   uint64
	Kind string
	Name string
	Args any // null, bool, string, json.Number, []any, map[string]any
	Bins []binRef
}

var (
	errDepth     = errors.New("nested too deeply")
	errDuplicate = errors.New("duplicate key")
	errUTF8      = errors.New("invalid UTF-8")
)

// decodeMessage decodes a plaintext strictly: valid UTF-8, one JSON object,
// no duplicate keys at any depth, at most maxDepth levels of nesting, numbers
// kept exact as json.Number, exactly the fields of an invoke request.
// When the error is about the request rather than its framing, the returned
// message carries the id so the call can still be answered.
func decodeMessage(plaintext []byte, maxDepth int) (*message, error) {
	b, blobs, err := splitPlaintext(plaintext)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(b) {
		return nil, errUTF8
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec, 0, maxDepth)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the message")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("message is not an object")
	}
	m := &message{}
	if m.ID, err = callID(obj["id"]); err != nil {
		return nil, err
	}
	for k := range obj {
		switch k {
		case "type", "id", "kind", "name", "args", "bin":
		default:
			return m, fmt.Errorf("unexpected field %q", k)
		}
	}
	if obj["type"] != "invoke" {
		return m, errors.New("type must be invoke")
	}
	m.Kind, _ = obj["kind"].(string)
	switch m.Kind {
	case policy.KindCommand, policy.KindEvent:
	case policy.KindListen:
		if obj["args"] != nil {
			return m, errors.New("a listen request carries no args")
		}
	default:
		return m, fmt.Errorf("unknown kind %q", m.Kind)
	}
	m.Name, _ = obj["name"].(string)
	if !policy.NamePattern.MatchString(m.Name) {
		return m, errors.New("malformed name")
	}
	m.Args = obj["args"]
	if table, ok := obj["bin"]; ok || blobs != nil {
		if m.Bins, err = placeBlobs(m.Args, table, blobs); err != nil {
			return m, err
		}
	}
	return m, nil
}

func callID(v any) (uint64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, errors.New("id must be a number")
	}
	id, err := strconv.ParseUint(string(n), 10, 64)
	if err != nil || id == 0 || id > 1<<53-1 {
		return 0, errors.New("id must be a positive safe integer")
	}
	return id, nil
}

func decodeValue(dec *json.Decoder, depth, maxDepth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, bool, nil or json.Number
	}
	if depth >= maxDepth {
		return nil, errDepth
	}
	switch d {
	case '{':
		obj := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k := kt.(string) // the decoder guarantees a string key here
			if _, dup := obj[k]; dup {
				return nil, fmt.Errorf("%w %q", errDuplicate, k)
			}
			if obj[k], err = decodeValue(dec, depth+1, maxDepth); err != nil {
				return nil, err
			}
		}
		_, err = dec.Token()
		return obj, err
	case '[':
		arr := []any{}
		for dec.More() {
			v, err := decodeValue(dec, depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err = dec.Token()
		return arr, err
	}
	return nil, fmt.Errorf("unexpected %v", d)
}

func (m *message) blobBytes() int {
	n := 0
	for _, b := range m.Bins {
		n += len(b.data)
	}
	return n
}
