package policy

import (
	"bytes"
	"io/fs"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
)

// Formatted is one Rego file of a policy as OPA's formatter writes it.
type Formatted struct {
	Name      string // relative to the policy directory
	Source    []byte
	Formatted []byte
}

// Changed reports whether formatting changes the file.
func (f Formatted) Changed() bool { return !bytes.Equal(f.Source, f.Formatted) }

// Format formats every .rego file of a policy directory, tests included,
// with OPA's v1/format for Rego v1 (what `opa fmt` writes), sorted by name.
// A file that does not parse is an error, with its line.
func Format(fsys fs.FS) ([]Formatted, error) {
	var out []Formatted
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(name, ".rego") || strings.Contains(name, "/") {
			return nil
		}
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		f, err := format.SourceWithOpts(name, src, format.Opts{RegoVersion: ast.RegoV1, ParserOptions: &ast.ParserOptions{RegoVersion: ast.RegoV1}})
		if err != nil {
			return astError(err)
		}
		out = append(out, Formatted{Name: name, Source: src, Formatted: f})
		return nil
	})
	if err != nil {
		if le, ok := err.(*LoadError); ok {
			return nil, le
		}
		return nil, &LoadError{Code: CodeRead, Message: oneLine(err.Error()), Err: err}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
