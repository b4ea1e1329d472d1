package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/isogate/isogate/codes"
)

// Spec holds gated requests to the policy's OpenAPI 3 document of the
// app's HTTP API, with kin-openapi: the operation (method and path
// template), its path, query and header parameters and its request body.
// The document's servers are not matched: the request paths are the app
// origin's, from its root.
type Spec struct {
	router routers.Router
}

// NewSpec compiles doc's routes.
func NewSpec(doc *openapi3.T) (*Spec, error) {
	served := *doc
	served.Servers = nil // routes match the app origin's paths, whatever servers the document names
	paths := openapi3.NewPaths()
	for path, item := range doc.Paths.Map() {
		it := *item
		it.Servers = nil
		paths.Set(path, &it)
	}
	served.Paths = paths
	r, err := gorillamux.NewRouter(&served)
	if err != nil {
		return nil, fmt.Errorf("the OpenAPI document's routes: %w", err)
	}
	return &Spec{router: r}, nil
}

// Check finds r's operation and validates r against it. It returns the
// operation's name for the policy: its operationId, else "METHOD
// /path/template". No operation is unknown_command; a request that breaks
// the operation is invalid_args.
func (s *Spec) Check(ctx context.Context, r *Request, host string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, "http://"+host+r.Target(), bytes.NewReader(r.Body))
	if err != nil {
		return "", invalid("the request cannot be checked: %v", err)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		return "", &Error{Code: codes.UnknownCommand, Message: fmt.Sprintf("no operation of the API's OpenAPI document is %s %s", r.Method, r.Path)}
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: false}}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return "", invalid("%s", reason(err))
	}
	if err := singleValued(route, req.URL.Query()); err != nil {
		return "", err
	}
	if id := route.Operation.OperationID; id != "" {
		return id, nil
	}
	return r.Method + " " + route.Path, nil
}

// singleValued refuses a query parameter the operation declares as one
// value (not an array) that is given more than once: kin-openapi checks the
// first, and a server may read the last.
func singleValued(route *routers.Route, q url.Values) error {
	params := append(append(openapi3.Parameters{}, route.PathItem.Parameters...), route.Operation.Parameters...)
	for _, ref := range params {
		p := ref.Value
		if p == nil || p.In != openapi3.ParameterInQuery || len(q[p.Name]) < 2 {
			continue
		}
		if p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is(openapi3.TypeArray) {
			continue
		}
		return invalid("parameter %q in query is given more than once", p.Name)
	}
	return nil
}

// reason is the validator's first complaint, in one line.
func reason(err error) string {
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		msg := re.Reason
		if re.Parameter != nil {
			msg = fmt.Sprintf("parameter %q in %s: %s", re.Parameter.Name, re.Parameter.In, firstLine(re.Err, re.Reason))
		} else if re.RequestBody != nil {
			msg = "request body: " + firstLine(re.Err, re.Reason)
		}
		return msg
	}
	return firstLine(err, "")
}

func firstLine(err error, fallback string) string {
	if err == nil {
		return fallback
	}
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// FrameOperation is one operation of the OpenAPI document as the isolation
// iframe checks it before sealing: the method, the path template as a
// regular expression (one group per path parameter), the parameters and the
// JSON body, each with a JSON Schema (OpenAPI 3.0's nullable made a type).
type FrameOperation struct {
	Method  string           `json:"method"`
	Path    string           `json:"path"`
	Pattern string           `json:"pattern"`
	Params  []FrameParameter `json:"params"`
	Body    *FrameBody       `json:"body,omitempty"`
}

// FrameParameter is a path, query or header parameter.
type FrameParameter struct {
	Name     string          `json:"name"`
	In       string          `json:"in"`
	Required bool            `json:"required"`
	Schema   json.RawMessage `json:"schema,omitempty"`
}

// FrameBody is an operation's request body, when it has a JSON one.
type FrameBody struct {
	Required bool            `json:"required"`
	Schema   json.RawMessage `json:"schema,omitempty"`
}

// FrameSpec is the JSON of doc's operations for the iframe, with the JSON
// Schema draft its schemas are in ("4" for OpenAPI 3.0, "2020-12" for 3.1).
func FrameSpec(doc *openapi3.T) ([]byte, error) {
	out := struct {
		Draft      string           `json:"draft"`
		Operations []FrameOperation `json:"operations"`
	}{Draft: "4"}
	if strings.HasPrefix(doc.OpenAPI, "3.1") {
		out.Draft = "2020-12"
	}
	paths := doc.Paths.InMatchingOrder()
	for _, path := range paths {
		item := doc.Paths.Value(path)
		pattern := "^" + regexp.QuoteMeta(path) + "$"
		pattern = pathParam.ReplaceAllString(pattern, `([^/]+)`)
		ops := item.Operations()
		methods := make([]string, 0, len(ops))
		for m := range ops {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, method := range methods {
			op := ops[method]
			fo := FrameOperation{Method: strings.ToUpper(method), Path: path, Pattern: pattern}
			params := append(openapi3.Parameters{}, item.Parameters...)
			params = append(params, op.Parameters...)
			for _, ref := range params {
				p := ref.Value
				if p == nil || p.In == openapi3.ParameterInCookie {
					continue
				}
				fp := FrameParameter{Name: p.Name, In: p.In, Required: p.Required}
				if p.Schema != nil && p.Schema.Value != nil {
					var err error
					if fp.Schema, err = jsonSchema(p.Schema.Value); err != nil {
						return nil, err
					}
				}
				fo.Params = append(fo.Params, fp)
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				fb := &FrameBody{Required: rb.Value.Required}
				if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
					var err error
					if fb.Schema, err = jsonSchema(mt.Schema.Value); err != nil {
						return nil, err
					}
				}
				fo.Body = fb
			}
			out.Operations = append(out.Operations, fo)
		}
	}
	return json.Marshal(out)
}

var pathParam = regexp.MustCompile(`\\\{[^/]+?\\\}`)

// jsonSchema is s as plain JSON Schema: $refs resolved (kin-openapi has
// them in place), nullable as a "null" type.
func jsonSchema(s *openapi3.Schema) (json.RawMessage, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return json.Marshal(nullable(v))
}

func nullable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = nullable(e)
		}
		if n, _ := x["nullable"].(bool); n {
			if t, ok := x["type"].(string); ok {
				x["type"] = []any{t, "null"}
			}
		}
		delete(x, "nullable")
	case []any:
		for i, e := range x {
			x[i] = nullable(e)
		}
	}
	return v
}
