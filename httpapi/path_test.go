package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/isogate/isogate/codes"
)

// Every form of ambiguous path a gateway bypass has used is refused before
// any policy sees it; ordinary paths pass unchanged.
func TestCheckPath_AmbiguousFormsRefused(t *testing.T) {
	for _, p := range []string{
		"", "api/notes", "/api//notes", "//api/notes", "/api/notes//",
		"/api/./notes", "/api/../admin", "/api/notes/..", "/api/notes/.",
		"/api/%2e%2e/admin", "/api/%2E%2E/admin", "/api/%2E/notes", "/api%2Fadmin", "/api%2fadmin",
		"/api%5Cadmin", "/api\\admin", "/api/notes;jsessionid=1", "/api/notes%3Bx", // %3B passes: see below
		"/api/%00", "/api/a%00b", "/api/%0A", "/api/%7F", "/api/%25", "/api/%252F",
		"/api/%6Eotes", "/api/%41", "/api/%7E", "/api/%2D",
		"/api/%C0%AF", "/api/%E0%80%AF", "/api/%FF", "/api/%C3",
		"/api/%G0", "/api/%2", "/api/%",
		"/api/no tes", "/api/\x00", "/api/é", "/api/a\"b", "/api/a<b", "/api/a#b", "/api/a?b",
	} {
		if p == "/api/notes%3Bx" {
			continue
		}
		if err := CheckPath(p); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
	for _, p := range []string{"/", "/api", "/api/", "/api/notes", "/api/notes/1", "/api/n-o_t.e~s", "/api/%C3%A9t%C3%A9",
		"/api/a%20b", "/api/a%3Bb", "/api/a%3Fb", "/api/a%23b", "/api/v1:batch", "/api/a=b,c", "/api/@me", "/api/..x", "/api/.x"} {
		if err := CheckPath(p); err != nil {
			t.Errorf("%q refused: %v", p, err)
		}
	}
}

var update = flag.Bool("update", false, "rewrite the frame spec in testdata/messages/openapi-cases.json")

type openapiCases struct {
	Comment string          `json:"comment"`
	OpenAPI json.RawMessage `json:"openapi"`
	Frame   json.RawMessage `json:"frame"`
	Cases   []struct {
		Method      string     `json:"method"`
		Path        string     `json:"path"`
		Query       string     `json:"query"`
		ContentType string     `json:"contentType"`
		Body        string     `json:"body"`
		Expect      codes.Code `json:"expect"`
	} `json:"cases"`
}

func loadCases(t *testing.T) (*openapiCases, *openapi3.T) {
	t.Helper()
	b, err := os.ReadFile("../testdata/messages/openapi-cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var c openapiCases
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(c.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	return &c, doc
}

// The OpenAPI document names each request's operation and refuses what
// breaks it, with kin-openapi's validator. The iframe's test runs the same
// cases (sandbox-js/test/openapi.test.js).
func TestSpec_OperationsAndValidation(t *testing.T) {
	cs, doc := loadCases(t)
	s, err := NewSpec(doc)
	if err != nil {
		t.Fatal(err)
	}
	rs := Routes{{Prefix: "/api", URL: &url.URL{Scheme: "http", Host: "x"}}}
	for _, c := range cs.Cases {
		h := map[string]string{}
		if c.ContentType != "" {
			h["content-type"] = c.ContentType
		}
		var body []byte
		if c.Body != "" {
			body = []byte(c.Body)
		}
		req, err := rs.NewRequest(c.Method, c.Path, c.Query, h, body)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Check(context.Background(), req, "127.0.0.1:1")
		var he *Error
		got := codes.Code("ok")
		if errors.As(err, &he) {
			got = he.Code
		} else if err != nil {
			got = codes.Code(err.Error())
		}
		if got != c.Expect {
			t.Errorf("%s %s?%s %s: %s (%v), want %s", c.Method, c.Path, c.Query, c.Body, got, err, c.Expect)
		}
	}
}

// The operations the iframe gets are the document's, and the file its test
// reads is current.
func TestFrameSpec_Operations(t *testing.T) {
	cs, doc := loadCases(t)
	b, err := FrameSpec(doc)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		cs.Frame = b
		out, _ := json.MarshalIndent(cs, "", " ")
		if err := os.WriteFile("../testdata/messages/openapi-cases.json", append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var have, want any
	json.Unmarshal(cs.Frame, &have)
	json.Unmarshal(b, &want)
	if !reflect.DeepEqual(have, want) {
		t.Fatal("testdata/messages/openapi-cases.json has a stale frame; run go test ./httpapi -run FrameSpec -update")
	}
	for _, want := range []string{`"method":"POST","path":"/api/notes"`, `"pattern":"^/api/notes/([^/]+)$"`, `"name":"limit","in":"query"`, `"required":["text"]`, `"draft":"4"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("frame spec lacks %s:\n%s", want, b)
		}
	}
}
