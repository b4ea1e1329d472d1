package policy

import (
	"context"
	"errors"
	"net/url"

	"github.com/getkin/kin-openapi/openapi3"
)

// OpenAPIFiles are the names an OpenAPI 3 document of the app's HTTP API
// may have in a policy directory; at most one is there.
var openAPIFiles = []string{"openapi.json", "openapi.yaml", "openapi.yml"}

// CodeOpenAPI is a load error in the OpenAPI document.
const CodeOpenAPI = "openapi_error"

// loadOpenAPI parses and validates the directory's OpenAPI document, if it
// has one. Like schemas, it may refer only to itself: the loader reads
// nothing else, from the file system or the network.
func loadOpenAPI(ctx context.Context, files map[string][]byte) (*openapi3.T, error) {
	name := ""
	for _, n := range openAPIFiles {
		if _, ok := files[n]; ok {
			if name != "" {
				return nil, &LoadError{File: n, Code: CodeOpenAPI, Message: "a policy has one OpenAPI document; " + name + " is there too"}
			}
			name = n
		}
	}
	if name == "" {
		return nil, nil
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	loader.ReadFromURIFunc = func(*openapi3.Loader, *url.URL) ([]byte, error) {
		return nil, errors.New("the OpenAPI document may refer only to itself")
	}
	doc, err := loader.LoadFromData(files[name])
	if err != nil {
		return nil, &LoadError{File: name, Code: CodeOpenAPI, Message: oneLine(err.Error()), Err: err}
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, &LoadError{File: name, Code: CodeOpenAPI, Message: oneLine(err.Error()), Err: err}
	}
	return doc, nil
}

// OpenAPI is the directory's OpenAPI 3 document of the app's HTTP API, or
// nil. The core holds http requests to it before the policy; it is the
// caller's to read, never to change.
func (p *Policy) OpenAPI() *openapi3.T { return p.openapi }
