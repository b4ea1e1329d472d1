package jsonptr

import (
	"reflect"
	"testing"
)

func TestWalk(t *testing.T) {
	doc := map[string]any{"a/b": map[string]any{"c~d": []any{1, 2}}}
	toks, err := Parse("/a~1b/c~0d/1")
	if err != nil || !reflect.DeepEqual(toks, []string{"a/b", "c~d", "1"}) {
		t.Fatalf("Parse = %q, %v", toks, err)
	}
	p, ok := Parent(doc, toks)
	if !ok || !Set(p, "1", "x") {
		t.Fatal("Set through a parent failed")
	}
	if v, _ := Get(p, "1"); v != "x" {
		t.Fatalf("Get = %v", v)
	}
	for _, bad := range []string{"2", "-1", "01", "+1", "x"} {
		if Set(p, bad, 0) || Delete(p, bad) {
			t.Errorf("index %q accepted", bad)
		}
	}
	if _, ok := Parent(doc, []string{"nope", "x"}); ok {
		t.Fatal("a missing path has a parent")
	}
	if _, err := Parse("a"); err == nil {
		t.Fatal("a pointer without / parsed")
	}
}
