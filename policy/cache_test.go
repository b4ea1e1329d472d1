package policy

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// smallCache keeps what OPA's own cache would for the frames it is asked
// about: a value, an undefined result, nothing; a frame pushed by `with`
// starts empty and is gone when popped; a ref OPA changes after Put does
// not change what was kept; past its size it keeps nothing more, so a
// rule is evaluated again, never answered wrong.
func TestSmallCache(t *testing.T) {
	c := &smallCache{}
	ref := ast.MustParseRef("data.p.allow")
	if v, undef := c.Get(ref); v != nil || undef {
		t.Fatalf("empty cache: %v %v", v, undef)
	}
	c.Put(ref, ast.BooleanTerm(true))
	undefRef := ast.MustParseRef("data.p.deny")
	c.Put(undefRef, nil)
	if v, undef := c.Get(ast.MustParseRef("data.p.allow")); v == nil || !v.Equal(ast.BooleanTerm(true)) || undef {
		t.Fatalf("kept value: %v %v", v, undef)
	}
	if v, undef := c.Get(undefRef); v != nil || !undef {
		t.Fatalf("kept undefined: %v %v", v, undef)
	}
	if len(c.Keys()) != 1 {
		t.Fatalf("keys %v, want the one defined", c.Keys())
	}
	c.Push()
	if v, undef := c.Get(ref); v != nil || undef {
		t.Fatalf("a pushed frame sees %v %v", v, undef)
	}
	c.Put(ref, ast.BooleanTerm(false))
	c.Pop()
	if v, _ := c.Get(ref); !v.Equal(ast.BooleanTerm(true)) {
		t.Fatalf("after pop: %v, want the outer frame's true", v)
	}
	buf := ast.MustParseRef("data.p.x")
	c.Put(buf, ast.IntNumberTerm(1))
	buf[2] = ast.StringTerm("y") // OPA reuses its key slices
	if v, _ := c.Get(ast.MustParseRef("data.p.x")); v == nil || !v.Equal(ast.IntNumberTerm(1)) {
		t.Fatalf("a ref changed after Put changed the cache: %v", v)
	}
	for i := range 2 * smallCacheSize {
		c.Put(ast.MustParseRef("data.q").Append(ast.IntNumberTerm(i)), ast.IntNumberTerm(i))
	}
	if v, _ := c.Get(ast.MustParseRef("data.q").Append(ast.IntNumberTerm(2*smallCacheSize - 1))); v != nil {
		t.Fatalf("past its size the cache kept %v", v)
	}
	if v, _ := c.Get(ref); v == nil {
		t.Fatal("filling the cache lost what it kept")
	}
}
