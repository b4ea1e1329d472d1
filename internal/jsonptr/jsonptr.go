// Package jsonptr walks JSON pointers (RFC 6901) through decoded JSON
// values (map[string]any, []any). The core uses it to place binary blobs,
// the policy's decision log to mask fields.
package jsonptr

import (
	"errors"
	"strconv"
	"strings"
)

// Parse splits a pointer into its unescaped tokens; "" is the root (no
// tokens).
func Parse(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if !strings.HasPrefix(p, "/") {
		return nil, errors.New("jsonptr: a pointer starts with /")
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}

// Escape escapes one token for a pointer.
func Escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// Parent walks toks (at least one) to the container of the last token and
// reports whether it is an object or an array.
func Parent(root any, toks []string) (any, bool) {
	if len(toks) == 0 {
		return nil, false
	}
	cur := root
	for _, t := range toks[:len(toks)-1] {
		var ok bool
		if cur, ok = Get(cur, t); !ok {
			return nil, false
		}
	}
	switch cur.(type) {
	case map[string]any, []any:
		return cur, true
	}
	return nil, false
}

// Get returns the member tok of an object or array.
func Get(c any, tok string) (any, bool) {
	switch c := c.(type) {
	case map[string]any:
		v, ok := c[tok]
		return v, ok
	case []any:
		if i, ok := index(c, tok); ok {
			return c[i], true
		}
	}
	return nil, false
}

// Set sets member tok of an object, or an existing element of an array.
func Set(c any, tok string, v any) bool {
	switch c := c.(type) {
	case map[string]any:
		c[tok] = v
		return true
	case []any:
		if i, ok := index(c, tok); ok {
			c[i] = v
			return true
		}
	}
	return false
}

// Delete removes an object member, or nulls an array element (arrays keep
// their length); it reports whether there was something to remove.
func Delete(c any, tok string) bool {
	switch c := c.(type) {
	case map[string]any:
		if _, ok := c[tok]; ok {
			delete(c, tok)
			return true
		}
	case []any:
		if i, ok := index(c, tok); ok {
			c[i] = nil
			return true
		}
	}
	return false
}

func index(a []any, tok string) (int, bool) {
	i, err := strconv.Atoi(tok)
	return i, err == nil && i >= 0 && i < len(a) && tok == strconv.Itoa(i)
}
