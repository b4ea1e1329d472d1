package policy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
)

// The fast path. At load, the policy is partially evaluated once per
// (kind, name) that has a schema, with input.kind and input.name known and
// the rest of the input unknown. What is left is small: the rules that can
// matter for that name, with the name checks and data lookups already done.
// Per message, Check then evaluates that residual instead of the whole
// policy, or nothing at all when the residual is a constant.
//
// It is used only where it cannot change a verdict: policies whose rules
// read the input field by field (never as a whole, never replaced with
// `with`) and call no nondeterministic builtin (whose value would be frozen
// at load). TestFastPath_Differential compares it with the generic path on
// thousands of generated inputs.

// perMessageFields are the input's members besides kind and name: unknown
// when the policy is specialized per (kind, name), and the only others a
// specialized policy may read. One list, so that a member added to Input
// cannot be read as always absent by the fast path.
var perMessageFields = []string{"args", "origin", "window", "session", "seq",
	"attributes", "parsed_path", "parsed_query", "parsed_body", "tauri"}

// specialized is the verdict machinery for one (kind, name).
type specialized struct {
	constant *Verdict // set when the verdict does not depend on the rest of the input
	// query, compiled by compiler, binds allow and deny: OPA's evaluator
	// runs it directly (evalFast), without the rego package's per-call
	// set-up and conversion of results to Go values, which were a quarter
	// of an evaluation's cost here.
	query    ast.Body
	compiler *ast.Compiler
	store    storage.Store
	// reads is the input members besides args that the residual and its
	// support rules read; only they are built for it (buildReading).
	reads reads
	// defaultFalse: the policy has `default allow := false`, so when none
	// of the residual's allow rules matches, allow was false (the generic
	// path's "allow is not the boolean true"), not undefined.
	defaultFalse bool
}

const reasonVar = "__isogate_reason__"

// SpecializeTimeout bounds the fast path's preparation at load.
const SpecializeTimeout = 2 * time.Second

// ineligible says why partial evaluation is not safe for these modules, or
// "" when it is. It looks at the parsed rules, never at text.
func ineligible(modules map[string]*ast.Module) string {
	if why := readsInputByField(modules); why != "" {
		return why
	}
	if !conflictFree(modules) {
		return "a rule or function could have two values at once (else, a partial object, or computed values that can iterate)"
	}
	return ""
}

// conflictFree reports that no rule or function can have two values at once.
// Partial evaluation of `allow == true` drops definitions whose value is
// not true, and inlines rules and functions into separate bodies, so a
// conflict that makes the whole policy fail (and deny) would vanish from the
// residual. Allowed: partial sets, defaults, several definitions of a rule
// or function that all give the same constant value (`allow if A`,
// `allow if B`), and computed values that cannot iterate (no variables but a
// function's own arguments, as in `role := data.users[input.args.user].role`).
func conflictFree(modules map[string]*ast.Module) bool {
	values := map[string]*ast.Term{}
	for _, m := range modules {
		for _, r := range m.Rules {
			if r.Default {
				if r.Head.Ref().String() == "allow" && m.Package.Path.String() == "data.isogate" {
					if _, isBool := r.Head.Value.Value.(ast.Boolean); !isBool {
						return false // the generic path reports "allow is not the boolean true" when no rule matches
					}
				}
				continue
			}
			h := r.Head
			switch {
			case r.Else != nil:
				return false
			case h.RuleKind() == ast.MultiValue:
				continue // partial sets (deny contains ...) cannot conflict
			case h.Key != nil:
				return false // partial objects can conflict on a key
			}
			key := fmt.Sprintf("%s/%d", h.Ref(), len(h.Args))
			if key == "allow/0" && m.Package.Path.String() == "data.isogate" && !h.Value.Equal(ast.BooleanTerm(true)) {
				return false // the generic path reports "allow is not the boolean true"
			}
			if h.Value.IsGround() {
				if v, ok := values[key]; ok && !v.Equal(h.Value) {
					return false
				}
				values[key] = h.Value
				continue
			}
			if _, ok := values[key]; ok || countDefs(modules, r) > 1 || iterates(r) {
				return false
			}
			values[key] = h.Value
		}
	}
	return true
}

// iterates reports whether a rule's body or value has variables other than
// its arguments: the only way one definition can yield several values.
func iterates(r *ast.Rule) bool {
	args := ast.NewVarSet()
	for _, a := range r.Head.Args {
		ast.WalkVars(a, func(v ast.Var) bool { args.Add(v); return false })
	}
	found := false
	check := func(v ast.Var) bool {
		if !args.Contains(v) && !v.IsGenerated() {
			found = true
		}
		return found
	}
	ast.WalkVars(r.Body, check)
	ast.WalkVars(r.Head.Value, check)
	return found
}

// countDefs counts the non-default definitions of r's name and arity.
func countDefs(modules map[string]*ast.Module, r *ast.Rule) int {
	n := 0
	for _, m := range modules {
		for _, o := range m.Rules {
			if !o.Default && o.Head.Ref().Equal(r.Head.Ref()) && len(o.Head.Args) == len(r.Head.Args) &&
				m.Package.Path.Equal(r.Module.Package.Path) {
				n++
			}
		}
	}
	return n
}

// readsInputByField says where a module reads the input other than field
// by field, or calls a nondeterministic builtin; "" when none does.
func readsInputByField(modules map[string]*ast.Module) string {
	known := map[string]bool{"kind": true, "name": true}
	for _, f := range perMessageFields {
		known[f] = true
	}
	why := ""
	found := func(m *ast.Module, loc *ast.Location, what string) {
		if why == "" {
			why = what
			if loc != nil {
				why = fmt.Sprintf("%s:%d: %s", loc.File, loc.Row, what)
			}
		}
	}
	for _, m := range modules {
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if r.HasPrefix(ast.InputRootRef) {
				if len(r) < 2 {
					found(m, r[0].Location, "reads the whole input")
				} else if s, isStr := r[1].Value.(ast.String); !isStr || !known[string(s)] {
					found(m, r[0].Location, "reads input."+r[1].String()+", not a field of isogate's input")
				}
			}
			return false
		})
		ast.WalkExprs(m, func(e *ast.Expr) bool {
			if len(e.With) > 0 {
				found(m, e.Location, "replaces a value with `with`")
			}
			if e.IsCall() && nondeterministic(e.Operator()) {
				found(m, e.Location, "calls the nondeterministic builtin "+e.Operator().String())
			}
			return false
		})
		ast.WalkTerms(m, func(t *ast.Term) bool {
			if c, isCall := t.Value.(ast.Call); isCall && len(c) > 0 {
				if r, isRef := c[0].Value.(ast.Ref); isRef && nondeterministic(r) {
					found(m, t.Location, "calls the nondeterministic builtin "+r.String())
				}
			}
			return false
		})
		// Whole-input references also hide in terms such as `x := input`.
		ast.WalkTerms(m, func(t *ast.Term) bool {
			if r, isRef := t.Value.(ast.Ref); isRef && r.Equal(ast.InputRootRef) {
				found(m, t.Location, "reads the whole input")
			}
			return false
		})
	}
	return why
}

// specialize builds the fast path for every (kind, name) with a schema,
// and one for every listen.
// It returns nil and the reason when the policy takes the generic path.
func specialize(ctx context.Context, compiler *ast.Compiler, store storage.Store, modules map[string]*ast.Module, names []string) (map[[2]string]*specialized, string) {
	if why := ineligible(modules); why != "" {
		return nil, why
	}
	// Partial evaluation runs rules that do not depend on the unknown input;
	// a policy that computes a lot at load gets the generic path instead.
	ctx, cancel := context.WithTimeout(ctx, SpecializeTimeout)
	defer cancel()
	var unknowns []string
	for _, f := range perMessageFields {
		unknowns = append(unknowns, "input."+f)
	}
	// A listen may name any event, so its residual is made once for the
	// kind, with the name unknown too (key {listen, ""}).
	//
	// Each partial evaluation writes its support rules (negations it could
	// not inline) in a package of its own: OPA numbers them from zero in
	// every call, so in one shared package the same rule name from two
	// calls would be one rule, the OR of both calls' bodies, and one
	// name's residual could be satisfied by another's conditions.
	calls := 0
	partial := func(query, kind, name string) (*rego.PartialQueries, error) {
		known, unknown := map[string]any{"kind": kind, "name": name}, unknowns
		if kind == KindListen {
			known, unknown = map[string]any{"kind": kind}, append([]string{"input.name"}, unknowns...)
		}
		calls++
		return rego.New(rego.Query(query), rego.Compiler(compiler), rego.Store(store),
			rego.Input(known), rego.Unknowns(unknown), rego.StrictBuiltinErrors(true),
			rego.PartialNamespace(fmt.Sprintf("isogate_support.c%d", calls))).Partial(ctx)
	}
	defaultFalse := defaultAllowFalse(modules)
	out := map[[2]string]*specialized{}
	var sources []string // one module per residual
	var keys [][2]string
	var alwaysAllowed []bool // the allow residual is one empty body: true whatever the input
	var denies []bool        // the residual has deny rules
	var readsOfKey []reads   // the input members each residual reads
	support := map[string]*ast.Module{}
	pairs := [][2]string{fastKey(KindListen, "")}
	for _, kind := range []string{KindCommand, KindEvent} {
		for _, name := range names {
			pairs = append(pairs, [2]string{kind, name})
		}
	}
	for _, key := range pairs {
		kind, name := key[0], key[1]
		allow, err := partial("data.isogate.allow == true", kind, name)
		if err != nil {
			return nil, "partial evaluation failed: " + oneLine(err.Error())
		}
		deny, err := partial(reasonVar+" = data.isogate.deny[_]", kind, name)
		if err != nil {
			return nil, "partial evaluation failed: " + oneLine(err.Error())
		}
		if c := constantVerdict(allow, deny, defaultFalse); c != nil {
			out[key] = &specialized{constant: c} // reads nothing
			continue
		}
		readsOfKey = append(readsOfKey, residualReads(allow, deny))
		for i, m := range append(allow.Support, deny.Support...) {
			support[fmt.Sprintf("support/%s/%s/%d", kind, name, i)] = m
		}
		var src strings.Builder
		fmt.Fprintf(&src, "package isogate_fast.p%d\n\n", len(keys))
		// Every allow rule here has the value true (we write them so), so
		// false can only mean that none matched.
		src.WriteString("default allow := false\n\n")
		for _, b := range allow.Queries {
			text := "true" // a body cannot be empty
			if len(b) > 0 {
				text = bodyText(b)
			}
			fmt.Fprintf(&src, "allow if {\n\t%s\n}\n\n", text)
		}
		for _, b := range deny.Queries {
			fmt.Fprintf(&src, "deny contains %s if {\n\t%s\n}\n\n", reasonVar, bodyText(b))
		}
		sources = append(sources, src.String())
		keys = append(keys, key)
		alwaysAllowed = append(alwaysAllowed, len(allow.Queries) == 1 && len(allow.Queries[0]) == 0)
		denies = append(denies, len(deny.Queries) > 0)
	}
	if len(keys) == 0 {
		return out, ""
	}
	// All residuals compile together, once, with the support rules PE made.
	fast := map[string]*ast.Module{}
	for i, src := range sources {
		m, err := ast.ParseModuleWithOpts(fmt.Sprintf("fast%d.rego", i), src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, "a residual does not parse: " + oneLine(err.Error())
		}
		fast[m.Package.Path.String()] = m
	}
	for name, m := range support {
		fast[name] = m
	}
	c := newCompiler()
	if c.Compile(fast); c.Failed() {
		return nil, "the residuals do not compile: " + oneLine(c.Errors.Error())
	}
	for i, key := range keys {
		// The rules themselves, not comprehensions over them: OPA then
		// builds each value once instead of iterating to collect it.
		allowQ, denyQ := fmt.Sprintf(`data.isogate_fast.p%d.allow`, i), fmt.Sprintf(`data.isogate_fast.p%d.deny`, i)
		if alwaysAllowed[i] {
			allowQ = `true` // nothing left to evaluate: only deny decides
		}
		if !denies[i] {
			denyQ = `set()` // no rule: the reference would be undefined
		}
		// Unification, not :=, so that the query compiler keeps the names
		// allow and deny that evalFast reads the bindings by.
		q := fmt.Sprintf(`allow = %s; deny = %s`, allowQ, denyQ)
		body, err := ast.ParseBodyWithOpts(q, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err == nil {
			body, err = c.QueryCompiler().Compile(body)
		}
		if err != nil {
			return nil, "a residual query does not compile: " + oneLine(err.Error())
		}
		out[key] = &specialized{query: body, compiler: c, store: store, reads: readsOfKey[i], defaultFalse: defaultFalse}
	}
	return out, ""
}

// fastKey is a message's key in the fast path: its kind and name, and for
// a listen the kind alone, as one residual answers every listen.
func fastKey(kind, name string) [2]string {
	if kind == KindListen {
		return [2]string{kind, ""}
	}
	return [2]string{kind, name}
}

// residualReads is the input members besides args that the residual
// queries and their support rules read. A reference to the input that is
// not by a member's name (which eligibility already refuses) reads all.
func residualReads(pqs ...*rego.PartialQueries) reads {
	var r reads
	visit := func(x any) {
		ast.WalkRefs(x, func(ref ast.Ref) bool {
			if !ref.HasPrefix(ast.InputRootRef) {
				return false
			}
			if len(ref) < 2 {
				r = readsAll
			} else if s, isStr := ref[1].Value.(ast.String); !isStr {
				r = readsAll
			} else {
				r |= readsOf[string(s)]
			}
			return false
		})
	}
	for _, pq := range pqs {
		for _, b := range pq.Queries {
			visit(b)
		}
		for _, m := range pq.Support {
			visit(m)
		}
	}
	return r
}

// bodyText prints a residual body as Rego. Wildcards PE produced (printed
// as "_", which would become distinct vars when parsed again) get names.
func bodyText(b ast.Body) string {
	named, err := ast.TransformVars(b.Copy(), func(v ast.Var) (ast.Value, error) {
		if v.IsWildcard() {
			return ast.Var("__isogate_w" + strings.TrimPrefix(string(v), "$") + "__"), nil
		}
		return v, nil
	})
	if err != nil {
		return b.String()
	}
	body := named.(ast.Body)
	parts := make([]string, len(body))
	for i, e := range body {
		parts[i] = e.String()
	}
	return strings.Join(parts, "\n\t")
}

// constantVerdict is the verdict when neither residual depends on the input
// left unknown: allow is always true or never, and no deny rule can fire.
func constantVerdict(allow, deny *rego.PartialQueries, defaultFalse bool) *Verdict {
	if len(deny.Queries) != 0 || len(allow.Support) != 0 {
		return nil
	}
	switch {
	case len(allow.Queries) == 0:
		v := verdict(boolInt(defaultFalse), false, []string{})
		return &v
	case len(allow.Queries) == 1 && len(allow.Queries[0]) == 0:
		return &Verdict{Allow: true, Reasons: []string{}}
	}
	return nil
}

// defaultAllowFalse reports whether the policy has `default allow := false`
// in package isogate.
func defaultAllowFalse(modules map[string]*ast.Module) bool {
	for _, m := range modules {
		for _, r := range m.Rules {
			if r.Default && m.Package.Path.String() == "data.isogate" && r.Head.Ref().String() == "allow" &&
				r.Head.Value.Equal(ast.BooleanTerm(false)) {
				return true
			}
		}
	}
	return false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nondeterministic(op ast.Ref) bool {
	b, found := ast.BuiltinMap[op.String()]
	return found && b.Nondeterministic
}
