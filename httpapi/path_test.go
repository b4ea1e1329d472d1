package httpapi

import (
	"context"
	"errors"
	"net/url"
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

const notesAPI = `{"openapi": "3.0.3", "info": {"title": "notes", "version": "1"},
 "servers": [{"url": "https://api.example.com/v1"}],
 "paths": {
  "/api/notes": {
   "get": {"operationId": "listNotes", "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}}], "responses": {"200": {"description": "ok"}}},
   "post": {"operationId": "addNote", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "maxLength": 10}}, "additionalProperties": false}}}}, "responses": {"201": {"description": "ok"}}}},
  "/api/notes/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}], "responses": {"200": {"description": "ok"}}}}
 }}`

// The OpenAPI document names each request's operation and refuses what
// breaks it, with kin-openapi's validator.
func TestSpec_OperationsAndValidation(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(notesAPI))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSpec(doc)
	if err != nil {
		t.Fatal(err)
	}
	rs := Routes{{Prefix: "/api", URL: &url.URL{Scheme: "http", Host: "x"}}}
	for _, c := range []struct {
		method, path, query, ctype, body string
		name                             string
		code                             codes.Code
	}{
		{"GET", "/api/notes", "limit=5", "", "", "listNotes", ""},
		{"GET", "/api/notes", "limit=500", "", "", "", codes.InvalidArgs},
		{"GET", "/api/notes", "limit=x", "", "", "", codes.InvalidArgs},
		{"POST", "/api/notes", "", "application/json", `{"text":"hi"}`, "addNote", ""},
		{"POST", "/api/notes", "", "application/json", `{"text":"far too long a note"}`, "", codes.InvalidArgs},
		{"POST", "/api/notes", "", "application/json", `{"text":"hi","admin":true}`, "", codes.InvalidArgs},
		{"POST", "/api/notes", "", "", "", "", codes.InvalidArgs},
		{"GET", "/api/notes/7", "", "", "", "GET /api/notes/{id}", ""},
		{"GET", "/api/notes/seven", "", "", "", "", codes.InvalidArgs},
		{"DELETE", "/api/notes/7", "", "", "", "", codes.UnknownCommand},
		{"GET", "/api/users", "", "", "", "", codes.UnknownCommand},
	} {
		h := map[string]string{}
		if c.ctype != "" {
			h["content-type"] = c.ctype
		}
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		req, err := rs.NewRequest(c.method, c.path, c.query, h, body)
		if err != nil {
			t.Fatal(err)
		}
		name, err := s.Check(context.Background(), req, "127.0.0.1:1")
		var he *Error
		switch {
		case c.code == "" && (err != nil || name != c.name):
			t.Errorf("%s %s?%s: %q %v, want %q", c.method, c.path, c.query, name, err, c.name)
		case c.code != "" && (!errors.As(err, &he) || he.Code != c.code):
			t.Errorf("%s %s?%s %s: %v, want %s", c.method, c.path, c.query, c.body, err, c.code)
		}
	}
}
