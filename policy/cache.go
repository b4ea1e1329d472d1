package policy

import (
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
)

// smallCache is the fast path's cache of rule values within one
// evaluation, in place of OPA's own. OPA's is a tree of hash maps, made
// anew for every query, and was a sixth of a message's allocations; a
// residual evaluates a handful of rules, so a short list does the same
// work. The cache only saves evaluating a rule twice: a value it does not
// keep (past smallCacheSize) is evaluated again, never wrong.
type smallCache struct {
	frames [][]cachedValue // the top frame is the one read; `with` pushes one
	top    []cachedValue
}

type cachedValue struct {
	ref   ast.Ref
	value *ast.Term // nil: the rule is undefined there
}

const smallCacheSize = 32

func (c *smallCache) Push() {
	c.frames = append(c.frames, c.top)
	c.top = nil
}

func (c *smallCache) Pop() {
	if n := len(c.frames); n > 0 {
		c.top, c.frames = c.frames[n-1], c.frames[:n-1]
		return
	}
	c.top = nil
}

// Get is the value kept for ref and whether it is kept as undefined;
// (nil, false) when nothing is kept.
func (c *smallCache) Get(ref ast.Ref) (*ast.Term, bool) {
	for _, v := range c.top {
		if v.ref.Equal(ref) {
			return v.value, v.value == nil
		}
	}
	return nil, false
}

func (c *smallCache) Put(ref ast.Ref, value *ast.Term) {
	for i, v := range c.top {
		if v.ref.Equal(ref) {
			c.top[i].value = value
			return
		}
	}
	if len(c.top) < smallCacheSize {
		// OPA reuses the slice it passes as ref for the next lookup.
		c.top = append(c.top, cachedValue{ref: slices.Clone(ref), value: value})
	}
}

func (c *smallCache) Keys() []ast.Ref {
	var keys []ast.Ref
	for _, v := range c.top {
		if v.value != nil {
			keys = append(keys, v.ref)
		}
	}
	return keys
}
