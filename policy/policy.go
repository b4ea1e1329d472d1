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
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Kinds of message. Schemas gate commands and events; listen is decided by
// the policy alone.
const (
	KindCommand = "command"
	KindEvent   = "event"
	KindListen  = "listen"
)

// Rejection codes a Verdict can carry. They are part of the frontend contract.
const (
	CodeUnknown = "unknown_command"
	CodeInvalid = "invalid_args"
	CodeDenied  = "denied"
)

// DefaultEvalTimeout bounds one policy evaluation. A policy that loops or
// recurses badly denies instead of stalling the message path.
const DefaultEvalTimeout = 250 * time.Millisecond

// NamePattern is what a command, event or schema name may look like.
var NamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.:-]{0,127}$`)

// blockedBuiltins reach the network or the host. They are removed from the
// capabilities, so a policy using one fails to compile.
var blockedBuiltins = []string{"http.send", "net.lookup_ip_addr", "opa.runtime", "trace"}

// The query collects allow values and deny reasons without letting an
// undefined rule make the whole query undefined.
const verdictQuery = `allow := [x | x := data.isogate.allow]; deny := [r | some r in data.isogate.deny]`

// HookFile is the optional isolation hook: JavaScript the isolation iframe
// runs on every message before sealing it. It is the security team's code,
// served to the iframe as is; Go never runs it.
const HookFile = "hook.js"

// Input is the document the policy sees as `input`.
type Input struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Args    any    `json:"args"`
	Origin  string `json:"origin"`
	Window  string `json:"window"`
	Session string `json:"session"`
	Seq     uint64 `json:"seq"`
}

// Verdict is the final decision on one message.
type Verdict struct {
	Allow   bool     `json:"allow"`
	Code    string   `json:"code,omitempty"` // empty when allowed
	Reasons []string `json:"reasons"`
}

// Policy is one whole, loaded policy directory. It is immutable and safe for
// concurrent use.
type Policy struct {
	Revision    string // sha256 of the loaded files, names and contents
	EvalTimeout time.Duration

	schemas map[string]*jsonschema.Schema
	raw     map[string]json.RawMessage
	query   rego.PreparedEvalQuery
	hook    []byte
}

// Load reads a policy directory: *.rego (not *_test.rego), schemas/*.json
// and an optional data.json.
func Load(ctx context.Context, fsys fs.FS) (*Policy, error) {
	files, err := readFiles(fsys)
	if err != nil {
		return nil, err
	}
	p := &Policy{EvalTimeout: DefaultEvalTimeout, Revision: revision(files), hook: files[HookFile]}
	if p.schemas, p.raw, err = compileSchemas(files); err != nil {
		return nil, err
	}
	if p.query, err = prepare(ctx, files); err != nil {
		return nil, err
	}
	return p, nil
}

func readFiles(fsys fs.FS) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !isPolicyFile(name) {
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
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return files, nil
}

func isPolicyFile(name string) bool {
	switch {
	case name == "data.json", name == HookFile:
		return true
	case path.Dir(name) == "schemas":
		return strings.HasSuffix(name, ".json")
	case strings.HasSuffix(name, "_test.rego"):
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
	for name, b := range files {
		if path.Dir(name) != "schemas" {
			continue
		}
		n := strings.TrimSuffix(path.Base(name), ".json")
		if !NamePattern.MatchString(n) {
			return nil, nil, fmt.Errorf("%s: %q is not a valid command or event name", name, n)
		}
		if !json.Valid(b) {
			return nil, nil, fmt.Errorf("%s: not valid JSON", name)
		}
		if err := c.AddResource(schemaBase+n+".json", bytes.NewReader(b)); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		raw[n] = json.RawMessage(b)
	}
	schemas := map[string]*jsonschema.Schema{}
	for n := range raw {
		s, err := c.Compile(schemaBase + n + ".json")
		if err != nil {
			return nil, nil, fmt.Errorf("schemas/%s.json: %w", n, err)
		}
		schemas[n] = s
	}
	return schemas, raw, nil
}

func capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool {
		return slices.Contains(blockedBuiltins, b.Name)
	})
	caps.AllowNet = []string{}
	return caps
}

func prepare(ctx context.Context, files map[string][]byte) (rego.PreparedEvalQuery, error) {
	opts := []func(*rego.Rego){
		rego.Query(verdictQuery),
		rego.Capabilities(capabilities()),
		rego.StrictBuiltinErrors(true),
		rego.SetRegoVersion(ast.RegoV1),
	}
	modules := 0
	for name, src := range files {
		if !strings.HasSuffix(name, ".rego") {
			continue
		}
		m, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return rego.PreparedEvalQuery{}, err
		}
		if pkg := m.Package.Path.String(); pkg != "data.isogate" && !strings.HasPrefix(pkg, "data.isogate.") {
			return rego.PreparedEvalQuery{}, fmt.Errorf("%s: package is %s, want isogate", name, strings.TrimPrefix(pkg, "data."))
		}
		opts = append(opts, rego.ParsedModule(m))
		modules++
	}
	if modules == 0 {
		return rego.PreparedEvalQuery{}, errors.New("policy has no .rego files")
	}
	if b, ok := files["data.json"]; ok {
		var data map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&data); err != nil {
			return rego.PreparedEvalQuery{}, fmt.Errorf("data.json: %w", err)
		}
		opts = append(opts, rego.Store(inmem.NewFromObject(data)))
	}
	return rego.New(opts...).PrepareForEval(ctx)
}

// Names lists the command and event names that have a schema.
func (p *Policy) Names() []string {
	names := make([]string, 0, len(p.raw))
	for n := range p.raw {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Schemas returns the raw schema documents by name, for the isolation iframe
// to run the same checks before sealing.
func (p *Policy) Schemas() map[string]json.RawMessage { return p.raw }

// Hook returns the isolation hook's source, or nil when there is none.
func (p *Policy) Hook() []byte { return p.hook }

// Check runs the schema step and then the policy step on one message whose
// args were decoded with json.Number (as the core's strict decoder does).
func (p *Policy) Check(ctx context.Context, in *Input) Verdict {
	if in.Kind != KindListen {
		s, ok := p.schemas[in.Name]
		if !ok {
			return Verdict{Code: CodeUnknown, Reasons: []string{fmt.Sprintf("no schema for %q", in.Name)}}
		}
		if err := s.Validate(in.Args); err != nil {
			return Verdict{Code: CodeInvalid, Reasons: []string{schemaReason(err)}}
		}
	}
	return p.decide(ctx, in)
}

func schemaReason(err error) string {
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		leaf := ve
		for len(leaf.Causes) > 0 {
			leaf = leaf.Causes[0]
		}
		loc := leaf.InstanceLocation
		if loc == "" {
			loc = "/"
		}
		return fmt.Sprintf("args%s: %s", strings.TrimPrefix(loc, "/")+"", leaf.Message)
	}
	return err.Error()
}

func (p *Policy) decide(ctx context.Context, in *Input) Verdict {
	ctx, cancel := context.WithTimeout(ctx, p.EvalTimeout)
	defer cancel()
	rs, err := p.query.Eval(ctx, rego.EvalInput(in.document()))
	if err != nil {
		return Verdict{Code: CodeDenied, Reasons: []string{"policy evaluation failed: " + err.Error()}}
	}
	if len(rs) != 1 {
		return Verdict{Code: CodeDenied, Reasons: []string{"policy returned no result"}}
	}
	allows, _ := rs[0].Bindings["allow"].([]any)
	denies, _ := rs[0].Bindings["deny"].([]any)
	v := Verdict{Reasons: []string{}}
	for _, d := range denies {
		v.Reasons = append(v.Reasons, reasonText(d))
	}
	allowed := len(allows) == 1 && allows[0] == true
	if !allowed {
		v.Reasons = append(v.Reasons, "no allow rule matched")
	}
	if len(allows) > 1 || (len(allows) == 1 && allows[0] != true) {
		v.Reasons[len(v.Reasons)-1] = "allow is not the boolean true"
	}
	v.Allow = allowed && len(denies) == 0
	if !v.Allow {
		v.Code = CodeDenied
	}
	sort.Strings(v.Reasons)
	return v
}

func reasonText(r any) string {
	if s, ok := r.(string); ok {
		return s
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func (in *Input) document() map[string]any {
	return map[string]any{
		"kind": in.Kind, "name": in.Name, "args": in.Args, "origin": in.Origin,
		"window": in.Window, "session": in.Session, "seq": json.Number(fmt.Sprint(in.Seq)),
	}
}
