package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/isogate/isogate/codes"
	"github.com/isogate/isogate/httpapi"
	"github.com/isogate/isogate/policy"
)

// A gated request to the app's own HTTP API travels as a message of kind
// "http" (docs/protocol.md): name is the method, args are
//
//	{"path": "/api/notes/1", "query": "a=1", "headers": {"accept": "..."}, "body": <raw bytes> | null,
//	 "credentials": "omit"}   (optional: fetch's credentials "omit")
//
// httpInput checks it against the routes and makes the policy's input in
// the shape of OPA's Envoy plugin; forwardHTTP makes the allowed request
// upstream and answers {"status", "statusText", "headers", "body"}.

// httpInput fills in with m's request, or says why it cannot be put to
// the policy.
func (c *Core) httpInput(s *session, m *message, in *policy.Input, p *policy.Policy) *Error {
	in.Args = nil // the policy sees the request in Envoy's shape, not the wire's
	in.Name = m.Name
	args, ok := m.Args.(map[string]any)
	if !ok {
		return &Error{Code: codes.InvalidArgs, Message: "an http request's args are an object"}
	}
	for k := range args {
		switch k {
		case "path", "query", "headers", "body", "credentials":
		default:
			return &Error{Code: codes.InvalidArgs, Message: fmt.Sprintf("unexpected field %q in an http request", k)}
		}
	}
	credentials, omit := args["credentials"]
	if omit && credentials != "omit" {
		return &Error{Code: codes.InvalidArgs, Message: `an http request's credentials are "omit" or absent`}
	}
	path, _ := args["path"].(string)
	query, _ := args["query"].(string)
	headers := map[string]string{}
	if h, ok := args["headers"].(map[string]any); ok {
		for k, v := range h {
			sv, ok := v.(string)
			if !ok {
				return &Error{Code: codes.InvalidArgs, Message: fmt.Sprintf("header %q is not a string", k)}
			}
			headers[k] = sv
		}
	} else if args["headers"] != nil {
		return &Error{Code: codes.InvalidArgs, Message: "headers are an object of strings"}
	}
	var body []byte
	switch b := args["body"].(type) {
	case nil:
	case map[string]any: // the placeholder of the raw bytes
		for _, ref := range m.Bins {
			if len(ref.path) == 1 && ref.path[0] == "body" {
				body = ref.data
			}
		}
	default:
		_ = b
		return &Error{Code: codes.InvalidArgs, Message: "an http request's body is raw bytes or null"}
	}
	req, err := c.api.NewRequest(m.Name, path, query, headers, body)
	if err != nil {
		return refusal(err, codes.InvalidArgs)
	}
	req.OmitCookies = omit
	m.http = req
	in.Name = req.Method + " " + req.Path
	host := strings.TrimPrefix(s.origin, "http://")
	if spec, err := c.specFor(p); err != nil {
		c.log.Error("the policy's OpenAPI document has no usable routes; http request refused", "err", err)
		return &Error{Code: codes.Unavailable, Message: "the API's OpenAPI document cannot be used"}
	} else if spec != nil {
		// The operation, its parameters and its body, before the policy.
		name, err := spec.Check(s.ctx, req, host)
		if err != nil {
			return refusal(err, codes.InvalidArgs)
		}
		in.Name = name
	}
	a := &policy.Attributes{}
	h := &a.Request.HTTP
	h.Method, h.Path, h.Query, h.Host, h.Scheme, h.Headers = req.Method, req.Target(), req.Query, host, "http", req.Headers
	in.Attributes = a
	in.ParsedPath = []string{}
	for _, seg := range strings.Split(strings.TrimPrefix(req.Path, "/"), "/") {
		d, _ := url.PathUnescape(seg) // CheckPath made sure every escape is valid
		in.ParsedPath = append(in.ParsedPath, d)
	}
	in.ParsedQuery, _ = url.ParseQuery(req.Query)
	if in.ParsedQuery == nil {
		in.ParsedQuery = url.Values{}
	}
	if len(body) > 0 {
		if err := c.parseBody(req.Headers["content-type"], body, in); err != nil {
			return err
		}
	}
	return nil
}

// parseBody sets parsed_body to the body when an upstream might read it as
// JSON: whatever its content type says, most servers decode a JSON body
// when asked to (a missing type, fetch's default text/plain, a malformed
// "application/json; charset"), so the policy must see what they would. A
// body declared JSON must be JSON; any JSON body must be unambiguous (no
// duplicate keys, none that differ only by case, which Go's encoding/json
// matches to one field, valid UTF-8), within the size and depth limits.
//
// A URL-encoded form is parsed as OPA's Envoy plugin parses it, each field
// with its list of values; one that does not parse strictly (a bad escape,
// a ';', invalid UTF-8) is invalid_args.
func (c *Core) parseBody(contentType string, body []byte, in *policy.Input) *Error {
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	if mt == "application/x-www-form-urlencoded" {
		return c.parseForm(body, in)
	}
	declared := mt == "application/json" || strings.HasSuffix(mt, "+json")
	if !declared && mt != "" && !strings.HasPrefix(mt, "text/") {
		return nil // a form, a file, bytes: not JSON to anyone
	}
	if int64(len(body)) > c.limits.MaxMessageBytes {
		return &Error{Code: codes.TooLarge, Message: fmt.Sprintf("a body an upstream may read as JSON is at most %d bytes", c.limits.MaxMessageBytes)}
	}
	v, err := c.strictJSON(body)
	var deep *Error
	switch {
	case err == nil:
		in.ParsedBody = v
	case errors.As(err, &deep):
		return &Error{Code: codes.InvalidArgs, Message: "the JSON body: " + deep.Message}
	case declared || errors.Is(err, errAmbiguousJSON):
		return &Error{Code: codes.InvalidArgs, Message: "the body is not unambiguous JSON: " + err.Error()}
	}
	return nil // text that is not JSON
}

func (c *Core) parseForm(body []byte, in *policy.Input) *Error {
	if int64(len(body)) > c.limits.MaxMessageBytes {
		return &Error{Code: codes.TooLarge, Message: fmt.Sprintf("a form body is at most %d bytes", c.limits.MaxMessageBytes)}
	}
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return &Error{Code: codes.InvalidArgs, Message: "the form body does not parse: " + err.Error()}
	}
	form := make(map[string]any, len(q))
	for k, vs := range q {
		list := make([]any, len(vs))
		for i, v := range vs {
			if !utf8.ValidString(v) {
				return &Error{Code: codes.InvalidArgs, Message: fmt.Sprintf("form field %q is not valid UTF-8", k)}
			}
			list[i] = v
		}
		if !utf8.ValidString(k) {
			return &Error{Code: codes.InvalidArgs, Message: "a form field's name is not valid UTF-8"}
		}
		form[k] = list
	}
	in.ParsedBody = form
	return nil
}

var errAmbiguousJSON = errors.New("two keys of one object differ only by case")

// strictJSON decodes b with the decoder the core holds messages to
// (strict UTF-8, no duplicate names, exact numbers, MaxDepth), and refuses
// keys that differ only by case.
func (c *Core) strictJSON(b []byte) (any, error) {
	fd := frameDecoder{dec: decoders.Get().(*jsontext.Decoder), maxDepth: c.limits.MaxDepth}
	fd.dec.Reset(bytes.NewBuffer(b))
	defer func() {
		fd.dec.Reset(noInput)
		decoders.Put(fd.dec)
	}()
	v, err := fd.value(0) // the body counts as args do
	if err != nil {
		return nil, err
	}
	if fd.fault != nil {
		return nil, fd.fault
	}
	if _, err := fd.dec.ReadToken(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	var walk func(any) error
	walk = func(v any) error {
		switch x := v.(type) {
		case map[string]any:
			seen := make(map[string]bool, len(x))
			for k, e := range x {
				lk := strings.ToLower(k)
				if seen[lk] {
					return fmt.Errorf("%w (%q)", errAmbiguousJSON, k)
				}
				seen[lk] = true
				if err := walk(e); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return v, walk(v)
}

// forwardHTTP makes m's allowed request upstream.
func (c *Core) forwardHTTP(ctx context.Context, m *message) (any, error) {
	if m.http == nil {
		return nil, &Error{Code: codes.InvalidArgs, Message: "not an http request"} // decide made it; never reached
	}
	resp, err := c.forwarder.Forward(ctx, m.http)
	if err != nil {
		var he *httpapi.Error
		if !errors.As(err, &he) {
			return nil, err // a context's error: timeout or a page gone, as call decides
		}
		return nil, refusal(err, codes.Unavailable)
	}
	headers := make([]any, len(resp.Headers))
	for i, h := range resp.Headers {
		headers[i] = []any{h[0], h[1]}
	}
	// The body is read as it comes: openStream and pump (stream.go).
	return map[string]any{"status": resp.Status, "statusText": resp.StatusText, "headers": headers, "body": resp.Body}, nil
}

// policySpec is the compiled OpenAPI document of one policy.
type policySpec struct {
	p     *policy.Policy
	spec  *httpapi.Spec
	frame []byte // its operations for the iframe
	err   error
}

// specFor is p's compiled OpenAPI document (nil when it has none), made
// once per policy.
func (c *Core) specFor(p *policy.Policy) (*httpapi.Spec, error) {
	ps := c.compiledSpec(p)
	return ps.spec, ps.err
}

func (c *Core) compiledSpec(p *policy.Policy) *policySpec {
	if cur := c.spec.Load(); cur != nil && cur.p == p {
		return cur
	}
	ps := &policySpec{p: p}
	if doc := p.OpenAPI(); doc != nil {
		ps.spec, ps.err = httpapi.NewSpec(doc)
		if ps.err == nil {
			ps.frame, ps.err = httpapi.FrameSpec(doc)
		}
	}
	c.spec.Store(ps)
	return ps
}

// refusal is httpapi's refusal as the page's, or otherwise (a plain
// error) one with code def.
func refusal(err error, def codes.Code) *Error {
	var he *httpapi.Error
	if errors.As(err, &he) {
		return &Error{Code: he.Code, Message: he.Message}
	}
	return &Error{Code: def, Message: err.Error()}
}
