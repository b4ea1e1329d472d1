package core

import (
	"bytes"

	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

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
	errDepth = errors.New("nested too deeply")
)

// decodeMessage decodes a plaintext strictly: valid UTF-8, one JSON object,
// no duplicate keys at any depth, at most maxDepth containers nested in args, numbers
// kept exact as json.Number, exactly the fields of an invoke request.
// When the error is about the request rather than its framing, the returned
// message carries the id so the call can still be answered.
func decodeMessage(plaintext []byte, maxDepth int) (*message, error) {
	b, blobs, err := splitPlaintext(plaintext)
	if err != nil {
		return nil, err
	}
	// jsontext rejects duplicate names at any depth and invalid UTF-8.
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	// Depth counts inside args, as the iframe counts it: the message object
	// itself is level -1, so args may nest maxDepth containers.
	v, err := decodeValue(dec, -1, maxDepth)
	if err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
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

func decodeValue(dec *jsontext.Decoder, depth, maxDepth int) (any, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case 'n':
		return nil, nil
	case 't', 'f':
		return tok.Bool(), nil
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil // the exact text: big numbers stay exact
	}
	if depth >= maxDepth {
		return nil, errDepth
	}
	if tok.Kind() == '{' {
		obj := map[string]any{}
		for dec.PeekKind() != '}' {
			kt, err := dec.ReadToken() // duplicate names are an error here
			if err != nil {
				return nil, err
			}
			k := kt.String()
			if obj[k], err = decodeValue(dec, depth+1, maxDepth); err != nil {
				return nil, err
			}
		}
		_, err = dec.ReadToken()
		return obj, err
	}
	arr := []any{}
	for dec.PeekKind() != ']' {
		v, err := decodeValue(dec, depth+1, maxDepth)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
	}
	_, err = dec.ReadToken()
	return arr, err
}

func (m *message) blobBytes() int {
	n := 0
	for _, b := range m.Bins {
		n += len(b.data)
	}
	return n
}
