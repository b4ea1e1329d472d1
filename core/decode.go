package core

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"

	"github.com/isogate/isogate/codes"
	"github.com/isogate/isogate/internal/jsonptr"

	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/isogate/isogate/httpapi"
	"github.com/isogate/isogate/isolation"
	"github.com/isogate/isogate/policy"
)

// message is one decoded request from the isolation iframe.
type message struct {
	Cancel bool // {"type":"cancel","id"}: stop call ID, answered already by the page
	ID     uint64
	Kind   string
	Name   string
	Args   any // null, bool, string, json.Number, []any, map[string]any
	Bins   []binRef
	Tauri  *policy.Tauri    // set when a Tauri frontend made the call (tauriShape)
	http   *httpapi.Request // kind http: the checked request, made by decide
	ctx    context.Context  // the call's, from admission: a cancel from the page ends it
	cancel *callCancel
}

// decoded is one message of a frame: err set means the message is answered
// with it, by m.ID, and goes no further.
type decoded struct {
	m   *message
	err *Error
}

var (
	decoders = sync.Pool{New: func() any { return new(jsontext.Decoder) }}
	noInput  = bytes.NewReader(nil)
)

// decodeFrame decodes the plaintext of one frame strictly: valid UTF-8, one
// JSON object, no duplicate keys at any depth, numbers kept exact as
// json.Number. The object is one invoke request, or a batch
// {"type":"batch","messages":[request, ...]} of requests in JSON form (a
// request with binary values always travels alone).
//
// A message that breaks a limit or the request shape is answered on its
// own: too_large for a frame over the size limits (of which only each
// message's type and id are read: every other value is skipped, checked
// for syntax only), invalid_args for args nested deeper than MaxDepth or a
// malformed field. An error means nothing in the frame can be answered: it
// is not JSON, a message has no usable id, or it holds more than
// MaxBatchMessages messages (so one frame never asks for more replies than
// that). The iframe never sends such a frame, so the peer is broken and the
// connection ends.
func decodeFrame(plaintext []byte, l Limits) ([]decoded, error) {
	b, blobs, err := splitPlaintext(plaintext)
	if err != nil {
		return nil, err
	}
	fd := frameDecoder{maxDepth: l.MaxDepth}
	// Sizes first: over a limit, only the ids are read, so the schema, the
	// policy and the handlers never see any of it.
	if int64(len(b)) > l.MaxMessageBytes || int64(len(blobs)) > l.MaxBinaryBytes {
		fd.tooLarge = &Error{Code: codes.TooLarge, Message: fmt.Sprintf("the frame holds %d bytes of JSON and %d of binary; the limits are %d and %d",
			len(b), len(blobs), l.MaxMessageBytes, l.MaxBinaryBytes)}
	}
	// jsontext rejects duplicate names at any depth and invalid UTF-8. It
	// reads a bytes.Buffer in place; decoders are reused.
	fd.dec = decoders.Get().(*jsontext.Decoder)
	fd.dec.Reset(bytes.NewBuffer(b))
	defer func() {
		fd.dec.Reset(noInput) // keep no reference to the plaintext
		decoders.Put(fd.dec)
	}()
	return fd.frame(blobs)
}

// MaxBatchMessages bounds the messages in one batch frame, so one frame
// cannot ask for more replies than this.
const MaxBatchMessages = 256

// frame is the contract the iframe enforces: the same limits, names and
// kinds the decoder holds messages to.
func (l Limits) frame() isolation.Limits {
	return isolation.Limits{
		MaxMessageBytes:  l.MaxMessageBytes,
		MaxBinaryBytes:   l.MaxBinaryBytes,
		MaxDepth:         l.MaxDepth,
		MaxBatchMessages: MaxBatchMessages,
		NamePattern:      policy.NamePattern,
		Kinds:            []string{policy.KindCommand, policy.KindEvent, policy.KindListen, policy.KindHTTP},
	}
}

// frameDecoder decodes one frame. Depth counts inside args, as the iframe
// counts it: a message object is level -1, so its fields are level 0 and
// args may nest maxDepth containers. A batch's wrapper does not count.
type frameDecoder struct {
	dec      *jsontext.Decoder
	maxDepth int
	tooLarge *Error // set: every message of the frame is answered with it
	fault    *Error // the current message's first limit broken
}

func (fd *frameDecoder) frame(blobs []byte) ([]decoded, error) {
	dec := fd.dec
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, errors.New("message is not an object")
	}
	obj := map[string]any{}
	var batch []map[string]any
	var faults []*Error
	isBatch := false
	for dec.PeekKind() != '}' {
		k, _, err := fd.text()
		if err != nil {
			return nil, err
		}
		if k == "messages" && blobs == nil {
			isBatch = true
			if batch, faults, err = fd.batch(); err != nil {
				return nil, err
			}
			continue
		}
		if obj[k], err = fd.member(k, 0); err != nil {
			return nil, err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, errors.New("trailing data after the message")
	}
	if !isBatch {
		m, err := messageOf(obj, blobs)
		if m == nil {
			return nil, err
		}
		return []decoded{{m, firstError(fd.tooLarge, fd.fault, invalid(err))}}, nil
	}
	if len(obj) != 1 || obj["type"] != "batch" {
		return nil, errors.New("a batch has exactly the fields type and messages")
	}
	out := make([]decoded, 0, len(batch))
	ids := make(map[uint64]bool, len(batch))
	for i, o := range batch {
		var shape error
		if _, ok := o["bin"]; ok {
			shape = errors.New("a batch carries no binary values")
			delete(o, "bin")
		}
		m, err := messageOf(o, nil)
		if m == nil {
			return nil, err
		}
		if m.Cancel {
			out = append(out, decoded{m, nil})
			continue
		}
		if ids[m.ID] {
			return nil, errors.New("a batch holds one request per call id") // two answers to one id would confuse the iframe
		}
		ids[m.ID] = true
		out = append(out, decoded{m, firstError(fd.tooLarge, faults[i], invalid(shape), invalid(err))})
	}
	return out, nil
}

// batch decodes a batch's array of 1 to MaxBatchMessages message objects,
// each at level -1, with each one's fault.
func (fd *frameDecoder) batch() ([]map[string]any, []*Error, error) {
	dec := fd.dec
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '[' {
		return nil, nil, errors.New("batch messages must be an array")
	}
	var list []map[string]any
	var faults []*Error
	for dec.PeekKind() != ']' {
		if dec.PeekKind() != '{' {
			return nil, nil, errors.New("a batch holds only message objects")
		}
		if len(list) == MaxBatchMessages {
			return nil, nil, fmt.Errorf("a batch holds 1 to %d messages", MaxBatchMessages) // before decoding the rest
		}
		fd.fault = nil
		v, err := fd.value(-1)
		if err != nil {
			return nil, nil, err
		}
		list = append(list, v.(map[string]any))
		faults = append(faults, fd.fault)
	}
	fd.fault = nil
	if _, err := dec.ReadToken(); err != nil {
		return nil, nil, err
	}
	if len(list) == 0 {
		return nil, nil, fmt.Errorf("a batch holds 1 to %d messages", MaxBatchMessages)
	}
	return list, faults, nil
}

// member decodes the value of member k at depth. Of a message's members
// (depth 0) in a frame over the size limits only type and id are read: the
// rest is skipped, checked for syntax only, and decodes as null. The bin
// table does not count towards the depth limit, which is for args.
func (fd *frameDecoder) member(k string, depth int) (any, error) {
	if depth == 0 && fd.tooLarge != nil && k != "type" && k != "id" {
		return nil, fd.dec.SkipValue()
	}
	if depth == 0 && k == "bin" {
		saved := fd.maxDepth
		fd.maxDepth = 2 // [{"path", "len"}]: its shape is placeBlobs' to check
		defer func() { fd.maxDepth = saved }()
	}
	return fd.value(depth)
}

// value decodes one JSON value at depth. A container past the depth limit,
// or any container inside a message's fields once the frame is too large,
// is skipped (still checked for syntax) and decodes as null.
func (fd *frameDecoder) value(depth int) (any, error) {
	dec := fd.dec
	k := dec.PeekKind()
	if (k == '{' || k == '[') && depth >= 0 && (fd.tooLarge != nil || depth >= fd.maxDepth) {
		if fd.tooLarge == nil && fd.fault == nil {
			fd.fault = &Error{Code: codes.InvalidArgs, Message: fmt.Sprintf("args are nested more than %d deep", fd.maxDepth)}
		}
		return nil, dec.SkipValue()
	}
	if k == '"' {
		s, common, err := fd.text()
		if common != nil {
			return common, nil
		}
		return s, err
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case 'n':
		return nil, nil
	case 't', 'f':
		return tok.Bool(), nil
	case '0':
		return json.Number(tok.String()), nil // the exact text: big numbers stay exact
	case '{':
		obj := map[string]any{}
		for dec.PeekKind() != '}' {
			name, _, err := fd.text() // duplicate names are an error here
			if err != nil {
				return nil, err
			}
			if obj[name], err = fd.member(name, depth+1); err != nil {
				return nil, err
			}
		}
		_, err = dec.ReadToken()
		return obj, err
	}
	arr := []any{}
	for dec.PeekKind() != ']' {
		v, err := fd.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
	}
	_, err = dec.ReadToken()
	return arr, err
}

// text reads a string, a value or a member name. The words of the
// request shape come back shared, not copied: each copy was an allocation,
// and a message has a dozen of them. common is the word already in an
// interface (another allocation saved for a value), nil for other text.
func (fd *frameDecoder) text() (s string, common any, err error) {
	raw, err := fd.dec.ReadValue() // checked as ReadToken checks: UTF-8, and a name for duplicates
	if err != nil {
		return "", nil, err
	}
	if len(raw) < 2 || raw[0] != '"' { // never, as jsontext reads names and text is read only at a '"'
		return "", nil, errors.New("expected a string")
	}
	if quoted := raw[1 : len(raw)-1]; bytes.IndexByte(quoted, '\\') < 0 {
		if w, ok := commonWords[string(quoted)]; ok {
			return w.(string), w, nil
		}
		return string(quoted), nil, nil
	}
	plain, err := jsontext.AppendUnquote(nil, raw)
	return string(plain), nil, err
}

// commonWords are the member names and values of the request shape, each
// held as an interface.
var commonWords = func() map[string]any {
	words := []string{"type", "id", "kind", "name", "args", "bin", "tauri", "messages", "path", "len",
		"invoke", "cancel", "batch", policy.KindCommand, policy.KindEvent, policy.KindListen, policy.KindHTTP,
		"method", "url", "headers", "body", "cmd", "plugin", "command", "permission", "raw", "channels", "target", "label"}
	m := make(map[string]any, len(words))
	for _, w := range words {
		m[w] = w
	}
	return m
}()

// invalid is a message's shape error as the page sees it.
func invalid(err error) *Error {
	if err == nil {
		return nil
	}
	return &Error{Code: codes.InvalidArgs, Message: err.Error()}
}

func firstError(errs ...*Error) *Error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// messageOf checks one request's fields. A nil message means it has no
// usable id; otherwise an error is about the request, answerable by id.
func messageOf(obj map[string]any, blobs []byte) (*message, error) {
	if obj["type"] == "cancel" {
		// Nothing answers a cancel: one that is not exactly type and id
		// cannot be told to the iframe, so it ends the frame.
		id, err := callID(obj["id"])
		if err != nil || len(obj) != 2 {
			return nil, errors.New("a cancel has exactly the fields type and id")
		}
		return &message{Cancel: true, ID: id}, nil
	}
	if obj["type"] != "invoke" {
		return nil, errors.New("type must be invoke or cancel") // not a request: nothing to answer, as in the iframe
	}
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
		case "type", "id", "kind", "name", "args", "bin", "tauri":
		default:
			if !found || k < unexpected {
				unexpected, found = k, true
			}
		}
	}
	if found {
		return m, fmt.Errorf("unexpected field %q", unexpected)
	}
	m.Kind, _ = obj["kind"].(string)
	switch m.Kind {
	case policy.KindCommand, policy.KindEvent, policy.KindHTTP:
	case policy.KindListen:
		if obj["args"] != nil {
			return m, errors.New("a listen request carries no args")
		}
	default:
		return m, fmt.Errorf("unknown kind %q", m.Kind)
	}
	m.Name, _ = obj["name"].(string)
	if !policy.ValidName(m.Name) {
		return m, errors.New("malformed name")
	}
	m.Args = obj["args"]
	if table, ok := obj["bin"]; ok || blobs != nil {
		if m.Args, m.Bins, err = placeBlobs(m.Args, table, blobs); err != nil {
			return m, err
		}
	}
	if m.Kind == policy.KindHTTP {
		if _, ok := obj["tauri"]; ok {
			return m, errors.New("an http request has no tauri member")
		}
		return m, httpShape(m.Args)
	}
	if t, ok := obj["tauri"]; ok {
		if m.Tauri, err = tauriShape(m, t); err != nil {
			return m, err
		}
	}
	return m, nil
}

// Bounds of a Tauri call's member, the same in the iframe (shape.js).
const (
	maxTauriHeaders     = 32
	maxTauriHeaderBytes = 8 << 10
	maxTauriChannels    = 16
)

var (
	tauriHeaderName = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
	tauriAppCommand = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`) // so that no two map to one permission
	tauriChannel    = regexp.MustCompile(`^__CHANNEL__:([0-9]{1,10})$`)
	tauriTargets    = map[string]bool{"Any": false, "App": false, "AnyLabel": true, "Window": true, "Webview": true, "WebviewWindow": true} // kind -> has a label
)

// tauriShape checks the tauri member of a call from a Tauri frontend,
// as the iframe does:
//
//	{"cmd": "greet", "headers": {}, "raw": false, "channels": ["/onEvent"], "target": null}
//
// exactly these fields; cmd the Tauri command behind the message's kind
// and name (the command itself, or plugin:event|listen, emit, emit_to);
// lowercase header names, bounded; raw saying whether the args are one
// raw body; each channel a pointer to a "__CHANNEL__:<id>" string in the
// args; and a target for a listen or an emit_to only.
func tauriShape(m *message, v any) (*policy.Tauri, error) {
	obj, ok := v.(map[string]any)
	if !ok || len(obj) != 5 {
		return nil, errors.New("tauri is exactly cmd, headers, raw, channels and target")
	}
	cmd, _ := obj["cmd"].(string)
	raw, rawOK := obj["raw"].(bool)
	headers, hOK := obj["headers"].(map[string]any)
	chans, cOK := obj["channels"].([]any)
	if !policy.ValidName(cmd) || !rawOK || !hOK || !cOK {
		return nil, errors.New("tauri.cmd is a name, raw a boolean, headers an object, channels an array")
	}
	t := policy.NewTauri(cmd)
	t.Raw = raw
	size := 0
	for k, hv := range headers {
		s, ok := hv.(string)
		size += len(k) + len(s)
		if !ok || !tauriHeaderName.MatchString(k) {
			return nil, fmt.Errorf("tauri header %q: a lowercase name and a string", k)
		}
		t.Headers[k] = s
	}
	if len(headers) > maxTauriHeaders || size > maxTauriHeaderBytes {
		return nil, fmt.Errorf("tauri headers: at most %d, of %d bytes", maxTauriHeaders, maxTauriHeaderBytes)
	}
	if len(chans) > maxTauriChannels {
		return nil, fmt.Errorf("at most %d channels", maxTauriChannels)
	}
	seen := map[string]bool{}
	for _, c := range chans {
		ptr, _ := c.(string)
		toks, err := jsonptr.Parse(ptr)
		if err != nil || len(toks) == 0 || seen[ptr] {
			return nil, errors.New("a tauri channel is a pointer into the args, each once")
		}
		seen[ptr] = true
		parent, ok := jsonptr.Parent(m.Args, toks)
		val, present := jsonptr.Get(parent, toks[len(toks)-1])
		s, _ := val.(string)
		if id := tauriChannel.FindStringSubmatch(s); !ok || !present || id == nil || !fitsUint32(id[1]) {
			return nil, fmt.Errorf("tauri channel %q does not point at a channel", ptr)
		}
		t.Channels = append(t.Channels, ptr)
	}
	target, present := obj["target"]
	switch tg := target.(type) {
	case nil:
		if !present {
			return nil, errors.New("tauri is exactly cmd, headers, raw, channels and target")
		}
	case map[string]any:
		kind, _ := tg["kind"].(string)
		labelled, known := tauriTargets[kind]
		label, hasLabel := tg["label"].(string)
		if !known || labelled != hasLabel || len(tg) != map[bool]int{true: 2, false: 1}[labelled] ||
			hasLabel && (label == "" || len(label) > 128) {
			return nil, errors.New("tauri.target is {kind} or {kind, label} as Tauri writes it")
		}
		t.Target = &policy.TauriTarget{Kind: kind, Label: label}
	default:
		return nil, errors.New("tauri.target is null or an object")
	}
	// The member must say what the message is: a page cannot dress one
	// call up as another for a policy that reads input.tauri.
	rootBlob := len(m.Bins) == 1 && len(m.Bins[0].path) == 0
	switch {
	case m.Kind == policy.KindCommand && t.Plugin == nil && !tauriAppCommand.MatchString(cmd):
		return nil, errors.New("a Tauri app command is named as a Rust function is")
	case m.Kind == policy.KindCommand && (cmd != m.Name || strings.HasPrefix(cmd, "plugin:event|")):
		return nil, errors.New("tauri.cmd of a command is its name")
	case m.Kind == policy.KindListen && cmd != "plugin:event|listen":
		return nil, errors.New("tauri.cmd of a listen is plugin:event|listen")
	case m.Kind == policy.KindEvent && cmd != "plugin:event|emit" && cmd != "plugin:event|emit_to":
		return nil, errors.New("tauri.cmd of an event is plugin:event|emit or emit_to")
	case m.Kind == policy.KindEvent && (cmd == "plugin:event|emit_to") != (t.Target != nil):
		return nil, errors.New("an emit_to has a target, an emit none")
	case m.Kind == policy.KindCommand && t.Target != nil:
		return nil, errors.New("a command has no target")
	case raw != rootBlob:
		return nil, errors.New("tauri.raw says whether the args are one raw body")
	case m.Kind != policy.KindCommand && len(t.Channels) > 0:
		return nil, errors.New("only a command carries channels")
	}
	return t, nil
}

func fitsUint32(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// httpShape checks an http request's args as the iframe does: exactly
// path and query (strings), headers (an object of strings) and body (raw
// bytes, whose placeholder is here, or null), and credentials "omit" or
// nothing. What they say is checked against the routes when the message
// is decided.
func httpShape(args any) error {
	obj, ok := args.(map[string]any)
	if !ok || !(len(obj) == 4 || len(obj) == 5 && obj["credentials"] == "omit") {
		return errors.New(`an http request's args are exactly path, query, headers and body, and credentials "omit" or nothing`)
	}
	_, p := obj["path"].(string)
	_, q := obj["query"].(string)
	h, hok := obj["headers"].(map[string]any)
	if !p || !q || !hok {
		return errors.New("an http request's path and query are strings, its headers an object")
	}
	for _, v := range h {
		if _, ok := v.(string); !ok {
			return errors.New("an http request's header values are strings")
		}
	}
	if b, present := obj["body"]; !present || b != nil && !isPlaceholder(b) {
		return errors.New("an http request's body is raw bytes or null")
	}
	return nil
}

func isPlaceholder(v any) bool {
	m, ok := v.(map[string]any)
	_, n := m["$binary"]
	return ok && len(m) == 1 && n
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
