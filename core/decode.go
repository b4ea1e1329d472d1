package core

import (
	"bytes"
	"sync"

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
	errDepth  = errors.New("nested too deeply")
	errTooBig = errors.New("over the size limits")
)

// decoded is one message of a frame: err set means the message is answered
// with invalid_args, using m.ID.
type decoded struct {
	m   *message
	err error
}

var (
	decoders = sync.Pool{New: func() any { return new(jsontext.Decoder) }}
	noInput  = bytes.NewReader(nil)
)

// decodeFrame decodes the plaintext of one frame strictly: valid UTF-8, one
// JSON object, no duplicate keys at any depth, at most maxDepth containers
// nested in args, numbers kept exact as json.Number. The object is one invoke
// request, or a batch {"type":"batch","messages":[request, ...]} of requests
// in JSON form (a request with binary values always travels alone). An error
// means the frame as a whole does not decode, or a message in it has no
// usable id: nothing in it can be answered.
func decodeFrame(plaintext []byte, l Limits) ([]decoded, error) {
	b, blobs, err := splitPlaintext(plaintext)
	if err != nil {
		return nil, err
	}
	// Sizes first: nothing over a limit is decoded at all. The iframe never
	// sends more (it answers too_large itself), so the peer is broken.
	if int64(len(b)) > l.MaxMessageBytes || int64(len(blobs)) > l.MaxBinaryBytes {
		return nil, fmt.Errorf("%w: %d bytes of JSON and %d of binary", errTooBig, len(b), len(blobs))
	}
	maxDepth := l.MaxDepth
	// jsontext rejects duplicate names at any depth and invalid UTF-8. It
	// reads a bytes.Buffer in place; decoders are reused.
	dec := decoders.Get().(*jsontext.Decoder)
	dec.Reset(bytes.NewBuffer(b))
	defer func() {
		dec.Reset(noInput) // keep no reference to the plaintext
		decoders.Put(dec)
	}()
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, errors.New("message is not an object")
	}
	// Depth counts inside args, as the iframe counts it: a message object is
	// level -1, so its fields are level 0 and args may nest maxDepth
	// containers. A batch's wrapper does not count.
	obj := map[string]any{}
	var batch []any
	for dec.PeekKind() != '}' {
		kt, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		k := kt.String()
		if k == "messages" && blobs == nil {
			if batch, err = decodeBatch(dec, maxDepth); err != nil {
				return nil, err
			}
			continue
		}
		if obj[k], err = decodeValue(dec, 0, maxDepth); err != nil {
			return nil, err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, errors.New("trailing data after the message")
	}
	if batch == nil {
		m, err := messageOf(obj, blobs)
		if m == nil {
			return nil, err
		}
		return []decoded{{m, err}}, nil
	}
	if len(obj) != 1 || obj["type"] != "batch" {
		return nil, errors.New("a batch has exactly the fields type and messages")
	}
	out := make([]decoded, 0, len(batch))
	ids := make(map[uint64]bool, len(batch))
	for _, v := range batch {
		o, ok := v.(map[string]any)
		if !ok {
			return nil, errors.New("a batch holds only message objects")
		}
		if _, ok := o["bin"]; ok {
			return nil, errors.New("a batch carries no binary values")
		}
		m, err := messageOf(o, nil)
		if m == nil {
			return nil, err
		}
		if ids[m.ID] {
			return nil, errors.New("a batch holds one message per call id")
		}
		ids[m.ID] = true
		out = append(out, decoded{m, err})
	}
	return out, nil
}

// MaxBatchMessages bounds the messages in one batch frame, so one frame
// cannot ask for more replies than this.
const MaxBatchMessages = 256

// decodeBatch decodes a batch's non-empty array of messages, each at level -1.
func decodeBatch(dec *jsontext.Decoder, maxDepth int) ([]any, error) {
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '[' {
		return nil, errors.New("batch messages must be an array")
	}
	list := []any{}
	for dec.PeekKind() != ']' {
		if len(list) == MaxBatchMessages {
			return nil, fmt.Errorf("a batch holds 1 to %d messages", MaxBatchMessages) // before decoding the rest
		}
		v, err := decodeValue(dec, -1, maxDepth)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("a batch holds 1 to %d messages", MaxBatchMessages)
	}
	return list, nil
}

// messageOf checks one request's fields. A nil message means it has no
// usable id; otherwise an error is about the request, answerable by id.
func messageOf(obj map[string]any, blobs []byte) (*message, error) {
	m := &message{}
	var err error
	if m.ID, err = callID(obj["id"]); err != nil {
		return nil, err
	}
	// The first unexpected field in sorted order, so the same message always
	// gets the same reason (map order is random).
	unexpected, found := "", false
	for k := range obj {
		switch k {
		case "type", "id", "kind", "name", "args", "bin":
		default:
			if !found || k < unexpected {
				unexpected, found = k, true
			}
		}
	}
	if found {
		return m, fmt.Errorf("unexpected field %q", unexpected)
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
