package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

// The queries prepared at load. They collect values without letting an
// undefined rule make the whole query undefined.
const (
	verdictQuery = `allow := [x | x := data.isogate.allow]; deny := [r | some r in data.isogate.deny]`
	maskQuery    = `mask := [m | some m in data.system.log.mask]`
)

// Load reads a policy directory: *.rego (not *_test.rego), schemas/*.json,
// an optional data.json and an optional hook.js, the way
// `opa test --ignore schemas DIR` reads it: schemas are not data.
func Load(ctx context.Context, fsys fs.FS) (*Policy, error) {
	files, err := readFiles(fsys, false)
	if err != nil {
		return nil, err
	}
	return load(ctx, files)
}

func load(ctx context.Context, files map[string][]byte) (*Policy, error) {
	p := &Policy{evalTimeout: DefaultEvalTimeout, revision: revision(files), hook: files[HookFile]}
	var err error
	if p.schemas, p.raw, err = compileSchemas(files); err != nil {
		return nil, err
	}
	if p.openapi, err = loadOpenAPI(ctx, files); err != nil {
		return nil, err
	}
	modules, err := parseModules(files)
	if err != nil {
		return nil, err
	}
	if len(modules) == 0 {
		return nil, &LoadError{Code: CodeNoRego, Message: "policy has no .rego files"}
	}
	store, err := dataStore(files)
	if err != nil {
		return nil, err
	}
	compiler := newCompiler()
	if compiler.Compile(modules); compiler.Failed() {
		return nil, astError(compiler.Errors)
	}
	prep := func(q string) (rego.PreparedEvalQuery, error) {
		return rego.New(rego.Query(q), rego.Compiler(compiler), rego.Store(store),
			rego.StrictBuiltinErrors(true)).PrepareForEval(ctx)
	}
	if p.query, err = prep(verdictQuery); err != nil {
		return nil, astError(err)
	}
	if p.mask, err = prep(maskQuery); err != nil {
		return nil, astError(err)
	}
	p.fast, p.generic = specialize(ctx, compiler, store, modules, p.Names())
	return p, nil
}

// readFiles reads the files of a policy directory that isogate uses; with
// tests, the *_test.rego files too.
func readFiles(fsys fs.FS, tests bool) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(isPolicyFile(name) || tests && isTestFile(name)) {
			return nil
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		files[name] = b
		return nil
	})
	if err != nil {
		return nil, &LoadError{Code: CodeRead, Message: "read policy: " + oneLine(err.Error()), Err: err}
	}
	return files, nil
}

func isTestFile(name string) bool {
	return strings.HasSuffix(name, "_test.rego") && !strings.Contains(name, "/")
}

func isPolicyFile(name string) bool {
	switch {
	case name == "data.json", name == HookFile, name == "openapi.json", name == "openapi.yaml", name == "openapi.yml":
		return true
	case path.Dir(name) == "schemas":
		return strings.HasSuffix(name, ".json")
	case isTestFile(name):
		return false
	}
	return strings.HasSuffix(name, ".rego") && !strings.Contains(name, "/")
}

func revision(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

const schemaBase = "isogate:///schemas/"

func compileSchemas(files map[string][]byte) (map[string]*jsonschema.Schema, map[string]json.RawMessage, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("loading %q refused: schemas may only refer to each other", u)
	}
	raw := map[string]json.RawMessage{}
	stems := map[string]string{}             // name -> its file's stem, as written
	for _, name := range sortedKeys(files) { // in order: the same error for the same files
		b := files[name]
		if path.Dir(name) != "schemas" {
			continue
		}
		stem := strings.TrimSuffix(path.Base(name), ".json")
		n, err := url.PathUnescape(stem)
		if err != nil || !ValidName(n) || (n != stem && SchemaFile(n) != name && SchemaFile(n) != strings.ReplaceAll(name, ":", "%3A")) {
			return nil, nil, &LoadError{File: name, Code: CodeSchema, Message: fmt.Sprintf("%q does not name a command or event (the file of %q is %s)", stem, n, SchemaFile(n))}
		}
		if _, dup := raw[n]; dup {
			return nil, nil, &LoadError{File: name, Code: CodeSchema, Message: fmt.Sprintf("a second schema for %q", n)}
		}
		if err := jsonSyntax(name, b); err != nil {
			return nil, nil, err
		}
		if err := c.AddResource(schemaBase+stem+".json", bytes.NewReader(b)); err != nil {
			return nil, nil, &LoadError{File: name, Code: CodeSchema, Message: oneLine(err.Error()), Err: err}
		}
		raw[n] = json.RawMessage(b)
		stems[n] = stem
	}
	schemas := map[string]*jsonschema.Schema{}
	for _, n := range sortedKeys(raw) {
		s, err := c.Compile(schemaBase + stems[n] + ".json")
		if err != nil {
			return nil, nil, &LoadError{File: "schemas/" + stems[n] + ".json", Code: CodeSchema, Message: oneLine(err.Error()), Err: err}
		}
		schemas[n] = s
	}
	return schemas, raw, nil
}

// jsonSyntax reports a syntax error in file name with its line.
func jsonSyntax(name string, b []byte) error {
	var v any
	err := json.Unmarshal(b, &v)
	if err == nil {
		return nil
	}
	e := &LoadError{File: name, Code: CodeJSON, Message: oneLine(err.Error()), Err: err}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		e.Line = 1 + bytes.Count(b[:se.Offset], []byte("\n"))
	}
	return e
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// blockedBuiltins reach the network or the host. They are removed from the
// capabilities, so a policy using one fails to compile.
var blockedBuiltins = []string{"http.send", "net.lookup_ip_addr", "opa.runtime"}

func capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool {
		return slices.Contains(blockedBuiltins, b.Name)
	})
	caps.AllowNet = []string{}
	return caps
}

func newCompiler() *ast.Compiler {
	return ast.NewCompiler().WithCapabilities(capabilities()).WithDefaultRegoVersion(ast.RegoV1)
}

// parseModules parses the .rego files (tests too, when present in files).
// Policy modules must be in package isogate (or below it) or system.log
// (OPA's decision-log masking package).
func parseModules(files map[string][]byte) (map[string]*ast.Module, error) {
	modules := map[string]*ast.Module{}
	for _, name := range sortedKeys(files) {
		if !strings.HasSuffix(name, ".rego") {
			continue
		}
		m, err := ast.ParseModuleWithOpts(name, string(files[name]), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, astError(err)
		}
		pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
		if !isTestFile(name) && pkg != "isogate" && !strings.HasPrefix(pkg, "isogate.") && pkg != "system.log" {
			return nil, &LoadError{File: name, Line: m.Package.Location.Row, Code: CodePackage, Message: fmt.Sprintf("package is %s, want isogate", pkg)}
		}
		modules[name] = m
	}
	return modules, nil
}

func dataStore(files map[string][]byte) (storage.Store, error) {
	b, ok := files["data.json"]
	if !ok {
		return inmem.New(), nil
	}
	if err := jsonSyntax("data.json", b); err != nil {
		return nil, err
	}
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		return nil, &LoadError{File: "data.json", Code: CodeJSON, Message: "must hold a JSON object: " + oneLine(err.Error()), Err: err}
	}
	return inmem.NewFromObject(data), nil
}

// astError is OPA's first error, with its file and line, and how many more
// there are.
func astError(err error) error {
	var errs ast.Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		return &LoadError{Code: CodeRego, Message: oneLine(err.Error()), Err: err}
	}
	e := errs[0]
	le := &LoadError{Code: e.Code, Message: oneLine(e.Message), More: len(errs) - 1, Err: err}
	if e.Location != nil {
		le.File, le.Line = e.Location.File, e.Location.Row
	}
	return le
}

// LoadError is why a policy did not load: the file and line at fault (when
// there is one), a code, and a message. Its Error is one line.
type LoadError struct {
	File    string // relative to the policy directory; "" for the policy as a whole
	Line    int    // 1-based; 0 when unknown
	Code    string // one of the Code* load codes, or OPA's own (rego_parse_error, rego_type_error, ...)
	Message string
	More    int   // further errors of the same load not described
	Err     error // the underlying error, if any
}

// Load error codes of isogate's own; OPA's compile errors keep OPA's codes.
const (
	CodeRead    = "read_error"    // the directory or a file could not be read
	CodeNoRego  = "no_rego"       // no .rego file at all
	CodeJSON    = "json_error"    // a schema or data.json is not valid JSON (or not an object)
	CodeSchema  = "schema_error"  // a schema's name or content is not a valid JSON Schema
	CodePackage = "package_error" // a module outside package isogate or system.log
	CodeRego    = "rego_error"    // an OPA error without OPA's structure
)

// Error is one line: "file:line: code: message".
func (e *LoadError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s: %s", e.Code, e.Message)
	if e.More > 0 {
		fmt.Fprintf(&b, " (and %d more)", e.More)
	}
	return b.String()
}

// Unwrap is the underlying error.
func (e *LoadError) Unwrap() error { return e.Err }
