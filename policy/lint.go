package policy

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/styrainc/regal/pkg/config"
	"github.com/styrainc/regal/pkg/linter"
	"github.com/styrainc/regal/pkg/report"
	"github.com/styrainc/regal/pkg/rules"
	"gopkg.in/yaml.v3"
)

// LintConfigFile is where a policy directory configures the linter, as
// Regal's users expect (Regal's own format).
const LintConfigFile = ".regal/config.yaml"

// Regal's rules that are wrong for an isogate policy, turned off whatever
// the configuration says:
//   - use-rego-v1: it asks for `import rego.v1`, which Rego v1 files (all
//     isogate reads) neither need nor, in OPA v1, want.
//   - opa-fmt: Regal 0.29's check formats as Rego v0 does and so flags
//     every v1 file; isogate's own opa-fmt (below) checks with OPA v1's
//     formatter, what `isogate policy fmt` writes.
//   - directory-package-mismatch: isogate's layout is flat, every module
//     in one directory as package isogate (or system.log), by design.
//   - no-defined-entrypoint: isogate defines the entrypoints itself
//     (data.isogate.allow, data.isogate.deny, data.system.log.mask); an
//     annotation could only repeat them.
var regalOff = []string{"use-rego-v1", "opa-fmt", "directory-package-mismatch", "no-defined-entrypoint"}

// isogate's own rules, reported as Regal reports its own and configured
// the same way (rules.<category>.<name>.level: ignore turns one off).
const (
	lintFmt      = "opa-fmt"        // style: not as OPA v1's formatter writes it
	lintUnused   = "unused-rule"    // bugs: no entrypoint reaches the rule
	lintShadowed = "input-shadowed" // bugs: a local variable named input or data
)

// Lint lints the Rego of a policy directory with Regal (its rules, its
// configuration from .regal/config.yaml) and isogate's own two rules: a
// file OPA v1's formatter would change, and a rule no entrypoint of the
// policy reaches. Files are named relative to the directory. An error is
// a policy that does not parse or a configuration that does not read.
func Lint(ctx context.Context, fsys fs.FS) (report.Report, error) {
	files, err := readFiles(fsys, true)
	if err != nil {
		return report.Report{}, err
	}
	cfg, err := lintConfig(fsys)
	if err != nil {
		return report.Report{}, err
	}
	content := map[string]string{}
	modules := map[string]*ast.Module{}
	for name, src := range files {
		if !strings.HasSuffix(name, ".rego") {
			continue
		}
		m, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			return report.Report{}, astError(err)
		}
		content[name], modules[name] = string(src), m
	}
	input := rules.NewInput(content, modules)
	l := linter.NewLinter().WithInputModules(&input).WithDisabledRules(regalOff...)
	if cfg != nil {
		l = l.WithUserConfig(*cfg)
	}
	rep, err := l.Lint(ctx)
	if err != nil {
		return report.Report{}, fmt.Errorf("lint: %w", err)
	}
	own := func(category, name string) bool {
		return cfg == nil || cfg.Rules[category][name].Level != "ignore"
	}
	if own("style", lintFmt) {
		formatted, err := Format(fsys)
		if err != nil {
			return report.Report{}, err
		}
		for _, f := range formatted {
			if f.Changed() {
				rep.Violations = append(rep.Violations, report.Violation{
					Title: lintFmt, Category: "style", Level: "error",
					Description: "File should be formatted with `isogate policy fmt -w` (OPA v1's formatter)",
					Location:    report.Location{File: f.Name, Row: 1, Column: 1},
				})
			}
		}
	}
	if own("bugs", lintShadowed) {
		rep.Violations = append(rep.Violations, shadowedInput(modules)...)
	}
	if own("bugs", lintUnused) {
		unused, err := unusedRules(modules)
		if err != nil {
			return report.Report{}, err
		}
		rep.Violations = append(rep.Violations, unused...)
	}
	sort.SliceStable(rep.Violations, func(i, j int) bool {
		a, b := rep.Violations[i].Location, rep.Violations[j].Location
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Row < b.Row
	})
	rep.Summary.NumViolations = len(rep.Violations)
	failed := map[string]bool{}
	for _, v := range rep.Violations {
		failed[v.Location.File] = true
	}
	rep.Summary.FilesFailed = len(failed)
	return rep, nil
}

// lintConfig reads .regal/config.yaml, if the directory has one.
func lintConfig(fsys fs.FS) (*config.Config, error) {
	raw, err := fs.ReadFile(fsys, LintConfigFile)
	if err != nil {
		return nil, nil //nolint:nilerr // no file: Regal's defaults
	}
	var c config.Config
	if err := yaml.Unmarshal(raw, &c); err != nil {
		return nil, &LoadError{Code: CodeRead, File: LintConfigFile, Message: oneLine(err.Error()), Err: err}
	}
	return &c, nil
}

// entrypoints are what isogate asks of a policy.
var entrypoints = []string{"data.isogate.allow", "data.isogate.deny", "data.system.log.mask"}

// unusedRules reports each rule of a non-test module that no entrypoint
// reaches through OPA's dependency graph: dead code, or, more often, a
// rule whose name was mistyped where it is used.
func unusedRules(modules map[string]*ast.Module) ([]report.Violation, error) {
	c := ast.NewCompiler()
	c.Compile(modules)
	if c.Failed() {
		// What does not compile is a finding of its own, at its place
		// (OPA refuses, say, an argument named input); whether the rest is
		// reached cannot be said then.
		var out []report.Violation
		for _, e := range c.Errors {
			v := report.Violation{Title: e.Code, Category: "bugs", Level: "error", Description: e.Message}
			if e.Location != nil {
				v.Location = report.Location{File: e.Location.File, Row: e.Location.Row, Column: e.Location.Col}
			}
			out = append(out, v)
		}
		return out, nil
	}
	reached := map[*ast.Rule]bool{}
	var walk func(r *ast.Rule)
	walk = func(r *ast.Rule) {
		if reached[r] {
			return
		}
		reached[r] = true
		for d := range c.Graph.Dependencies(r) {
			if dr, ok := d.(*ast.Rule); ok {
				walk(dr)
			}
		}
	}
	for _, e := range entrypoints {
		for _, r := range c.GetRules(ast.MustParseRef(e)) {
			walk(r)
		}
	}
	var out []report.Violation
	names := make([]string, 0, len(modules))
	for name := range modules {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if isTestFile(name) {
			continue
		}
		// The compiler rewrites its own copies of the modules; report on
		// those, whose rules the graph holds, at the source's locations.
		for _, r := range c.Modules[name].Rules {
			if reached[r] {
				continue
			}
			loc := r.Location
			text := ""
			if loc != nil {
				text = string(loc.Text)
			}
			out = append(out, report.Violation{
				Title: lintUnused, Category: "bugs", Level: "error",
				Description: fmt.Sprintf("Rule %s is reached from none of %s", r.Head.Ref(), strings.Join(entrypoints, ", ")),
				Location:    report.Location{File: name, Row: loc.Row, Column: loc.Col, Text: &text},
			})
		}
	}
	return out, nil
}

// shadowedInput reports each local variable named input or data: a some
// or every declaration that rebinds them compiles, and from there on the
// rule reads its own variable, not the message (`some input in xs` then
// `input.name == ...` never looks at the message at all). OPA's compiler
// refuses the other ways (an assignment, a function argument).
func shadowedInput(modules map[string]*ast.Module) []report.Violation {
	var out []report.Violation
	names := make([]string, 0, len(modules))
	for name := range modules {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		check := func(t *ast.Term) {
			if r, ok := t.Value.(ast.Ref); ok && len(r) == 1 {
				t = r[0] // the parser writes a declared input or data as a one-term ref
			}
			v, ok := t.Value.(ast.Var)
			if !ok || (v != "input" && v != "data") {
				return
			}
			loc := report.Location{File: name}
			if t.Location != nil {
				loc.Row, loc.Column = t.Location.Row, t.Location.Col
			}
			out = append(out, report.Violation{
				Title: lintShadowed, Category: "bugs", Level: "error", Location: loc,
				Description: fmt.Sprintf("A local variable named %s hides the %s document from the rest of the rule", v, v),
			})
		}
		ast.WalkNodes(modules[name], func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SomeDecl:
				for _, sym := range n.Symbols {
					if call, ok := sym.Value.(ast.Call); ok && len(call) > 2 {
						for _, t := range call[1 : len(call)-1] { // some k, v in xs: k and v, not xs
							check(t)
						}
						continue
					}
					check(sym)
				}
			case *ast.Every:
				if n.Key != nil {
					check(n.Key)
				}
				check(n.Value)
			}
			return false
		})
	}
	return out
}
