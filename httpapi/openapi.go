package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
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
	if id := route.Operation.OperationID; id != "" {
		return id, nil
	}
	return r.Method + " " + route.Path, nil
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
