package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/isogate/isogate/codes"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/lineage"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Kinds of message. Schemas gate commands and events; listen is decided by
// the policy alone.
const (
	KindCommand = "command"
	KindEvent   = "event"
	KindListen  = "listen"
	KindHTTP    = "http" // a request to the app's own HTTP API
)

// DefaultEvalTimeout bounds one policy evaluation. A policy that loops or
// recurses badly denies instead of stalling the message path.
const DefaultEvalTimeout = time.Second

// NamePattern is what a command, event or schema name may look like,
// written in the regular-expression syntax Go and JavaScript share (the
// iframe gets it in its frame config): isogate's dotted names, Tauri's
// plugin commands (plugin:path|join) and Tauri's event names
// (tauri://resize, download-progress). A schema's file is named by
// SchemaFile.
const NamePattern = `^(?:plugin:[A-Za-z0-9_-]{1,64}\|[A-Za-z_][A-Za-z0-9_]{0,127}|[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127})$`

// ValidName reports whether name matches NamePattern. It runs on every
// message, so it is written out by hand (a regexp match was 5 % of the
// core's per-message work); FuzzValidName holds it to the pattern.
func ValidName(name string) bool {
	if rest, ok := strings.CutPrefix(name, "plugin:"); ok {
		plugin, cmd, ok := strings.Cut(rest, "|")
		if ok && len(plugin) >= 1 && len(plugin) <= 64 && every(plugin, isPluginByte) &&
			len(cmd) >= 1 && len(cmd) <= 128 && isIdentStart(cmd[0]) && every(cmd[1:], isIdentByte) {
			return true
		}
	}
	return len(name) >= 1 && len(name) <= 128 && isAlnum(name[0]) && every(name[1:], isNameByte)
}

func every(s string, ok func(byte) bool) bool {
	for i := range len(s) {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isAlnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}
func isIdentStart(b byte) bool { return isAlnum(b) && !('0' <= b && b <= '9') || b == '_' }
func isIdentByte(b byte) bool  { return isAlnum(b) || b == '_' }
func isPluginByte(b byte) bool { return isIdentByte(b) || b == '-' }
func isNameByte(b byte) bool {
	return isAlnum(b) || b == '_' || b == '.' || b == ':' || b == '/' || b == '-'
}

// SchemaFile is the file under schemas/ that holds name's schema: the name
// with ':', '|' and '/' percent-encoded (schemas/plugin%3Apath%7Cjoin.json,
// schemas/tauri%3A%2F%2Fresize.json), a name any file system can hold. A
// ':' may also be written as it is.
func SchemaFile(name string) string {
	r := strings.NewReplacer("%", "%25", ":", "%3A", "|", "%7C", "/", "%2F")
	return "schemas/" + r.Replace(name) + ".json"
}

// HookFile is the optional isolation hook: JavaScript the isolation iframe
// runs on every message before sealing it. It is the security team's code,
// served to the iframe as is; Go never runs it.
const HookFile = "hook.js"

// Input is the document the policy sees as `input`. It is a plain value:
// every Check reads it afresh.
type Input struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Args    any    `json:"args"`
	Origin  string `json:"origin"`
	Window  string `json:"window"`
	Session string `json:"session"`
	Seq     uint64 `json:"seq"`

	// For kind "http", the request in the shape OPA's Envoy plugin gives
	// policies (docs/policy.md), so that policies written for it port.
	Attributes  *Attributes         `json:"attributes,omitempty"`
	ParsedPath  []string            `json:"parsed_path,omitempty"`
	ParsedQuery map[string][]string `json:"parsed_query,omitempty"`
	ParsedBody  any                 `json:"parsed_body,omitempty"` // the JSON body, decoded; absent otherwise

	// For a call from a Tauri frontend (isogate run --tauri), how Tauri's
	// API made it (docs/tauri.md); absent otherwise.
	Tauri *Tauri `json:"tauri,omitempty"`
}

// Tauri is input.tauri: the Tauri IPC command behind a message, the ACL
// permission Tauri would have asked for it, and what came with it.
type Tauri struct {
	Cmd        string            `json:"cmd"`        // plugin:event|listen, plugin:path|join, greet
	Plugin     *string           `json:"plugin"`     // path, event; null for an app command
	Command    string            `json:"command"`    // join, listen, greet
	Permission string            `json:"permission"` // core:path:allow-join, allow-greet
	Headers    map[string]string `json:"headers"`    // invoke's options.headers, names lowercase
	Raw        bool              `json:"raw"`        // the args are one raw body
	Channels   []string          `json:"channels"`   // JSON pointers to the Channels in the args
	Target     *TauriTarget      `json:"target"`     // a listen's or an emit_to's target
}

// TauriTarget is an event target as Tauri's API writes it.
type TauriTarget struct {
	Kind  string `json:"kind"`            // Any, AnyLabel, App, Window, Webview, WebviewWindow
	Label string `json:"label,omitempty"` // set exactly for the labelled kinds, never empty
}

// tauriCorePlugins are the plugins whose permissions Tauri names core:<p>:.
var tauriCorePlugins = map[string]bool{"app": true, "event": true, "image": true, "menu": true, "path": true, "resources": true, "tray": true, "webview": true, "window": true}

// NewTauri is input.tauri for cmd, with its plugin, command and the ACL
// permission Tauri would check: allow-<command> for an app command,
// core:<plugin>:allow-<command> for Tauri's own plugins, and
// <plugin>:allow-<command> for the others, with '_' written '-'.
func NewTauri(cmd string) *Tauri {
	t := &Tauri{Cmd: cmd, Command: cmd, Headers: map[string]string{}, Channels: []string{}}
	dashed := func(s string) string { return strings.ReplaceAll(s, "_", "-") }
	if rest, ok := strings.CutPrefix(cmd, "plugin:"); ok {
		p, c, _ := strings.Cut(rest, "|")
		t.Plugin, t.Command = &p, c
		if tauriCorePlugins[p] {
			t.Permission = "core:" + p + ":allow-" + dashed(c)
		} else {
			t.Permission = p + ":allow-" + dashed(c)
		}
		return t
	}
	t.Permission = "allow-" + dashed(cmd)
	return t
}

// Attributes is input.attributes of an http request.
type Attributes struct {
	Request struct {
		HTTP HTTPRequest `json:"http"`
	} `json:"request"`
}

// HTTPRequest is input.attributes.request.http: as Envoy's, path holds
// the query too; headers have lowercase names, repeated ones joined by ", ".
type HTTPRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`  // escaped path, "?" and the query when there is one: byte for byte what the upstream gets
	Query   string            `json:"query"` // the raw query, without "?"
	Host    string            `json:"host"`
	Scheme  string            `json:"scheme"`
	Headers map[string]string `json:"headers"`
}

// Prepared is an Input with the value OPA evaluates built once, so that the
// policy step and the decision log (its mask rule) share it. Prepare takes
// the Input's Args over: changing them afterwards would make the schema and
// the policy see different arguments. A Prepared is safe for concurrent use.
type Prepared struct {
	in    Input
	once  sync.Once
	value ast.Value
	err   error // OPA cannot represent the input (a number past its range)
}

// Prepare takes in over. Its OPA value is built when first needed: the
// fast path builds only the members its residual reads instead.
func Prepare(in Input) *Prepared {
	return &Prepared{in: in}
}

// full is the whole input's OPA value, built once.
func (pr *Prepared) full() (ast.Value, error) {
	pr.once.Do(func() { pr.value, pr.err = pr.in.build() })
	return pr.value, pr.err
}

// Input returns the prepared input.
func (pr *Prepared) Input() Input { return pr.in }

// Verdict is the final decision on one message.
type Verdict struct {
	Allow   bool       `json:"allow"`
	Code    codes.Code `json:"code,omitempty"` // empty when allowed: denied, unknown_command or invalid_args
	Reasons []string   `json:"reasons"`
}

// Policy is one whole, loaded policy directory. It is immutable and safe for
// concurrent use.
type Policy struct {
	revision    string        // sha256 of the loaded files, names and contents
	pending     string        // set for Pending: why there is no policy yet
	evalTimeout time.Duration // bounds one evaluation

	schemas map[string]*jsonschema.Schema
	raw     map[string]json.RawMessage
	query   rego.PreparedEvalQuery
	mask    rego.PreparedEvalQuery
	hook    []byte
	openapi *openapi3.T                // the app's HTTP API, or nil
	fast    map[[2]string]*specialized // nil: the policy takes the generic path
	generic string                     // why it does
}

// Revision identifies what was loaded: the sha256 of the files' names and
// contents, shortened.
func (p *Policy) Revision() string { return p.revision }

// Pending is the policy of a core that has none yet (a fleet install
// before its first bundle): it knows no names, and every message is
// unavailable, with why as the reason; the decision log withholds the
// inputs, as there is no mask rule yet. Fail closed, never open.
func Pending(why string) *Policy {
	return &Policy{evalTimeout: DefaultEvalTimeout, revision: PendingRevision, pending: why, generic: "no policy yet"}
}

// PendingRevision is the revision of a Pending policy.
const PendingRevision = "none"

// IsPending reports whether p is a Pending policy.
func (p *Policy) IsPending() bool { return p.pending != "" }

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
// to run the same checks before sealing. The map is the caller's; the
// documents are shared and must not be changed.
func (p *Policy) Schemas() map[string]json.RawMessage { return maps.Clone(p.raw) }

// Hook returns a copy of the isolation hook's source, or nil when there is
// none.
func (p *Policy) Hook() []byte { return bytes.Clone(p.hook) }

// Check runs the schema step and then the policy step on one message whose
// args were decoded with json.Number (as the core's strict decoder does).
func (p *Policy) Check(ctx context.Context, in Input) Verdict {
	return p.check(ctx, Prepare(in), true)
}

// CheckPrepared is Check on a prepared input, which the decision log can
// then take without building it again.
func (p *Policy) CheckPrepared(ctx context.Context, in *Prepared) Verdict {
	return p.check(ctx, in, true)
}

// checkGeneric is Check without the fast path: the whole policy for every
// message. The differential test compares the two.
func (p *Policy) checkGeneric(ctx context.Context, in Input) Verdict {
	return p.check(ctx, Prepare(in), false)
}

// check is the schema step, then the policy step: the fast path's
// specialized query where there is one and fast is set, else the whole
// policy.
func (p *Policy) check(ctx context.Context, pr *Prepared, fast bool, opts ...rego.EvalOption) (v Verdict) {
	defer failClosed(&v)
	if p.pending != "" {
		return Verdict{Code: codes.Unavailable, Reasons: []string{p.pending}}
	}
	in := &pr.in
	if v, ok := p.checkSchema(in); !ok {
		return v
	}
	// Evaluation options (a tracer) are the rego package's: a call that
	// passes any gets the whole policy, never a fast path that drops them.
	s := p.fast[fastKey(in.Kind, in.Name)]
	if !fast || len(opts) != 0 {
		s = nil
	}
	// On every path, the fast one's constant verdicts included, an input
	// OPA cannot represent (a number past its range) is denied: args are
	// always built, and they are where such a number can be.
	var value ast.Value
	var err error
	if s != nil && !in.hasExtras() {
		value, err = in.buildReading(s.reads)
	} else {
		value, err = pr.full()
	}
	if err != nil {
		return evalFailed(err)
	}
	if s != nil {
		if s.constant != nil {
			return Verdict{Allow: s.constant.Allow, Code: s.constant.Code, Reasons: append([]string{}, s.constant.Reasons...)}
		}
		return p.evalFast(ctx, s, value)
	}
	return p.decideWith(ctx, p.query, value, opts...)
}

// failClosed turns a panic in the schema validator or the evaluator into a
// denial: a library bug met by some input must cost that message, not the
// connection or the process.
func failClosed(v *Verdict) {
	if r := recover(); r != nil {
		msg := oneLine(fmt.Sprint(r))
		if len(msg) > 200 {
			msg = msg[:200]
		}
		*v = Verdict{Code: codes.Denied, Reasons: []string{"policy evaluation failed: internal error: " + msg}}
	}
}

// FastPath reports how many (kind, name) pairs take the fast path and, when
// the whole policy is evaluated for every message instead, why.
func (p *Policy) FastPath() (specialized int, generic string) { return len(p.fast), p.generic }

// checkSchema is the schema step. Listen requests carry no args and have no
// schema: the policy alone decides them.
func (p *Policy) checkSchema(in *Input) (Verdict, bool) {
	if in.Kind == KindListen || in.Kind == KindHTTP {
		// An http request is held to the policy directory's OpenAPI
		// document where there is one (by the core, before Check); the
		// policy decides it either way.
		return Verdict{}, true
	}
	s, ok := p.schemas[in.Name]
	if !ok {
		return Verdict{Code: codes.UnknownCommand, Reasons: []string{fmt.Sprintf("no schema for %q", in.Name)}}, false
	}
	if err := s.Validate(in.Args); err != nil {
		return Verdict{Code: codes.InvalidArgs, Reasons: []string{schemaReason(err)}}, false
	}
	return Verdict{}, true
}

func schemaReason(err error) string {
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		// The validator visits properties in map order; pick the cause by
		// location so the same input always gets the same reason.
		leaf := ve
		for len(leaf.Causes) > 0 {
			next := leaf.Causes[0]
			for _, c := range leaf.Causes[1:] {
				if c.InstanceLocation+"\x00"+c.KeywordLocation < next.InstanceLocation+"\x00"+next.KeywordLocation {
					next = c
				}
			}
			leaf = next
		}
		return fmt.Sprintf("args%s: %s", leaf.InstanceLocation, stableMessage(leaf.Message))
	}
	return err.Error()
}

// eval evaluates q on input, cancelled when ctx ends or after the
// policy's evalTimeout. OPA would watch a context's end with a goroutine
// of its own per evaluation, whose start also wakes another thread; an
// evalBound does the same without it.
func (p *Policy) eval(ctx context.Context, q rego.PreparedEvalQuery, input ast.Value, opts ...rego.EvalOption) (rs rego.ResultSet, err error) {
	err = p.bounded(ctx, func(c topdown.Cancel) (err error) {
		rs, err = q.Eval(ctx, append(opts, rego.EvalParsedInput(input), rego.EvalExternalCancel(c))...)
		return err
	})
	return rs, err
}

// bounded runs an evaluation with a cancel that reads as cancelled once ctx
// has ended or evalTimeout has passed, and names the timeout in the error
// it caused.
func (p *Policy) bounded(ctx context.Context, run func(topdown.Cancel) error) error {
	if err := ctx.Err(); err != nil {
		return err // the call is over before its evaluation began
	}
	b := &evalBound{ctx: ctx, deadline: time.Now().Add(p.evalTimeout)}
	err := run(b)
	// A short evaluation asks fewer than 16 times, and one slow step (a
	// sort of a long list) never asks: the bound is read once more at the
	// end, so an evaluation past it is denied whatever it found.
	if err == nil && time.Now().After(b.deadline) {
		b.state.CompareAndSwap(boundRunning, boundTimedOut)
	}
	if b.state.Load() == boundTimedOut {
		return fmt.Errorf("evaluation timed out after %v", p.evalTimeout)
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// evalBound is one evaluation's cancel. OPA asks it before every
// expression and in every step of its long builtins (numbers.range,
// net.cidr_expand); the first time and every 16th it looks at the clock and
// at ctx, and bounded looks once more when the evaluation ends. So an
// evaluation is bounded at least as a timer and a callback on ctx bound it,
// without starting and stopping a timer and registering the callback for
// every message (which cost more than the evaluation of a small residual
// saves).
type evalBound struct {
	ctx      context.Context
	deadline time.Time
	asked    atomic.Uint32
	state    atomic.Int32 // boundRunning, then boundCancelled or boundTimedOut
}

const (
	boundRunning int32 = iota
	boundCancelled
	boundTimedOut
)

func (b *evalBound) Cancel() { b.state.CompareAndSwap(boundRunning, boundCancelled) }

func (b *evalBound) Cancelled() bool {
	if b.state.Load() != boundRunning {
		return true
	}
	if b.asked.Add(1)%16 != 1 { // the first time, and every 16th
		return false
	}
	if time.Now().After(b.deadline) {
		b.state.CompareAndSwap(boundRunning, boundTimedOut)
		return true
	}
	if b.ctx.Err() != nil {
		b.Cancel()
		return true
	}
	return false
}

// evalFast evaluates a specialized query with OPA's evaluator directly,
// with the options the rego package gives the generic path that can
// matter to it: strict builtin errors, the cancel, a read transaction.
// The fast path has no nondeterministic builtins, so the evaluation's
// clock and random seed are never read.
func (p *Policy) evalFast(ctx context.Context, s *specialized, input ast.Value) Verdict {
	txn, err := s.store.NewTransaction(ctx)
	if err != nil {
		return evalFailed(err)
	}
	defer s.store.Abort(ctx, txn)
	results := 0
	var allow ast.Value
	var denies ast.Set
	err = p.bounded(ctx, func(c topdown.Cancel) error {
		q := topdown.NewQuery(s.query).WithCompiler(s.compiler).WithStore(s.store).WithTransaction(txn).
			WithInput(ast.NewTerm(input)).WithCancel(c).WithStrictBuiltinErrors(true).WithMetrics(noMetrics).
			WithVirtualCache(&smallCache{})
		return q.Iter(ctx, func(qr topdown.QueryResult) error {
			results++
			allow = termValue(qr, "allow")
			denies, _ = termValue(qr, "deny").(ast.Set)
			return nil
		})
	})
	if err != nil {
		return evalFailed(err)
	}
	allowed, isBool := allow.(ast.Boolean)
	if results != 1 || !isBool || denies == nil {
		return Verdict{Code: codes.Denied, Reasons: []string{"policy returned no result"}}
	}
	reasons := make([]string, 0, denies.Len())
	err = denies.Iter(func(t *ast.Term) error {
		switch r := t.Value.(type) {
		case ast.String:
			reasons = append(reasons, string(r))
		default:
			j, err := ast.JSON(r)
			if err != nil {
				return err
			}
			reasons = append(reasons, reasonText(j))
		}
		return nil
	})
	if err != nil {
		return evalFailed(err)
	}
	// The residual's allow is true or, by its default, false: none of its
	// rules matched. Then the policy's allow had its own default's value,
	// false, if it has one, and no value if not.
	return verdict(boolInt(bool(allowed) || s.defaultFalse), bool(allowed), reasons)
}

// noMetrics: isogate reads no evaluation metrics, and OPA would otherwise
// start a set of timers for every evaluation.
var noMetrics = metrics.NoOp()

func termValue(qr topdown.QueryResult, name string) ast.Value {
	if t := qr[ast.Var(name)]; t != nil {
		return t.Value
	}
	return nil
}

func evalFailed(err error) Verdict {
	return Verdict{Code: codes.Denied, Reasons: []string{"policy evaluation failed: " + oneLine(err.Error())}}
}

func (p *Policy) decideWith(ctx context.Context, q rego.PreparedEvalQuery, input ast.Value, opts ...rego.EvalOption) Verdict {
	rs, err := p.eval(ctx, q, input, opts...)
	if err != nil {
		return evalFailed(err)
	}
	if len(rs) != 1 {
		return Verdict{Code: codes.Denied, Reasons: []string{"policy returned no result"}}
	}
	allows, _ := rs[0].Bindings["allow"].([]any)
	denies, _ := rs[0].Bindings["deny"].([]any)
	reasons := make([]string, 0, len(denies))
	for _, d := range denies {
		reasons = append(reasons, reasonText(d))
	}
	return verdict(len(allows), len(allows) == 1 && allows[0] == true, reasons)
}

// verdict is the decision from the values allow had (how many, and
// whether it was the one value true) and the deny reasons: allowed only
// when allow is exactly true and nothing denies.
func verdict(allowValues int, allowed bool, reasons []string) Verdict {
	v := Verdict{Reasons: reasons}
	switch {
	case allowValues == 0:
		v.Reasons = append(v.Reasons, "no allow rule matched")
	case !allowed:
		v.Reasons = append(v.Reasons, "allow is not the boolean true")
	}
	v.Allow = allowed && len(v.Reasons) == 0
	if !v.Allow {
		v.Code = codes.Denied
	}
	sort.Strings(v.Reasons)
	return v
}

// Explain is Check with OPA's explanation of the policy step: the trace of
// the evaluation, filtered as `opa eval --explain` filters it (mode "full",
// "notes" or "fails"), one line per event.
func (p *Policy) Explain(ctx context.Context, in Input, mode string) (Verdict, []string) {
	buf := topdown.NewBufferTracer()
	v := p.check(ctx, Prepare(in), false, rego.EvalQueryTracer(buf))
	var events []*topdown.Event
	switch mode {
	case "notes":
		events = lineage.Notes(*buf)
	case "fails":
		events = lineage.Fails(*buf)
	default:
		events = lineage.Full(*buf)
	}
	if len(events) == 0 {
		return v, nil
	}
	var sb strings.Builder
	topdown.PrettyTraceWithLocation(&sb, events)
	return v, strings.Split(strings.TrimRight(sb.String(), "\n"), "\n")
}

func reasonText(r any) string {
	if s, ok := r.(string); ok {
		return s
	}
	b, _ := json.Marshal(r)
	return string(b)
}

// argsKey is the input's args member name, made once: OPA's InternedTerm
// only interns the strings it knows, and makes a new term for every other
// one on every call. Terms are never changed once built, so every input
// shares it, and the member names below.
var argsKey = ast.StringTerm("args")

// commonTerms are the values most inputs share: the kinds, no origin
// (a desktop window's), the first window's usual label.
var commonTerms = map[string]*ast.Term{}

func init() {
	for _, s := range []string{KindCommand, KindEvent, KindListen, KindHTTP, "", "main"} {
		commonTerms[s] = ast.StringTerm(s)
	}
}

// commonTerm is s as a term, shared when it is one of commonTerms.
func commonTerm(s string) *ast.Term {
	if t, ok := commonTerms[s]; ok {
		return t
	}
	return ast.StringTerm(s)
}

// inputMembers are the members every input value has besides args: the
// one list buildReading, readsOf and readsAll come from. Member i is bit
// 1<<i of reads. An array, so that buildReading's list of items has a
// constant size and stays off the heap.
var inputMembers = [...]struct {
	key  *ast.Term
	term func(in *Input) *ast.Term
}{
	{ast.StringTerm("kind"), func(in *Input) *ast.Term { return commonTerm(in.Kind) }},
	{ast.StringTerm("name"), func(in *Input) *ast.Term { return ast.StringTerm(in.Name) }},
	{ast.StringTerm("origin"), func(in *Input) *ast.Term { return commonTerm(in.Origin) }},
	{ast.StringTerm("window"), func(in *Input) *ast.Term { return commonTerm(in.Window) }},
	{ast.StringTerm("session"), func(in *Input) *ast.Term { return ast.StringTerm(in.Session) }},
	{ast.StringTerm("seq"), func(in *Input) *ast.Term { return ast.UIntNumberTerm(in.Seq) }},
}

// reads is a set of inputMembers: the ones a residual reads.
type reads uint8

// readsAll is every member; readsOf is each member's bit by its name (the
// extras have none: buildReading never makes them).
var readsAll, readsOf = func() (reads, map[string]reads) {
	of := map[string]reads{}
	for i, m := range inputMembers {
		of[string(m.key.Value.(ast.String))] = 1 << i
	}
	return 1<<len(inputMembers) - 1, of
}()

// hasExtras reports whether the input has members only some messages have.
func (in *Input) hasExtras() bool {
	return in.Attributes != nil || in.ParsedPath != nil || in.ParsedQuery != nil || in.ParsedBody != nil || in.Tauri != nil
}

// buildReading is build for an input without extras, with only args and
// the members in r: a residual that reads nothing else evaluates the same
// on it, and the members it leaves out are allocations saved.
func (in *Input) buildReading(r reads) (ast.Object, error) {
	args, err := termOf(in.Args)
	if err != nil {
		return nil, err
	}
	items := make([][2]*ast.Term, 1, 1+len(inputMembers))
	items[0] = ast.Item(argsKey, args)
	for i, m := range inputMembers {
		if r&(1<<i) != 0 {
			items = append(items, ast.Item(m.key, m.term(in)))
		}
	}
	return ast.NewObject(items...), nil
}

// build is document() as OPA's own value, built directly: OPA would
// otherwise convert the document on every evaluation, a sixth of its cost.
// Values of Go types other than the decoders produce go through OPA's own
// conversion, whose error fails the evaluation as before.
func (in *Input) build() (ast.Value, error) {
	obj, err := in.buildReading(readsAll)
	if err != nil {
		return nil, err
	}
	if in.hasExtras() {
		// The request parts go through OPA's own conversion: they are plain
		// strings, lists and maps (and the body decoded with json.Number).
		for k, v := range in.extraDocument() {
			t, err := termOf(v)
			if err != nil {
				return nil, err
			}
			obj.Insert(ast.StringTerm(k), t)
		}
	}
	return obj, nil
}

// extraDocument is the members of the input document only some messages
// have: an http request's, a Tauri call's.
func (in *Input) extraDocument() map[string]any {
	doc := map[string]any{}
	if t := in.Tauri; t != nil {
		headers := make(map[string]any, len(t.Headers))
		for k, v := range t.Headers {
			headers[k] = v
		}
		channels := make([]any, len(t.Channels))
		for i, c := range t.Channels {
			channels[i] = c
		}
		var plugin, target any
		if t.Plugin != nil {
			plugin = *t.Plugin
		}
		if t.Target != nil {
			tg := map[string]any{"kind": t.Target.Kind}
			if t.Target.Label != "" {
				tg["label"] = t.Target.Label
			}
			target = tg
		}
		doc["tauri"] = map[string]any{"cmd": t.Cmd, "plugin": plugin, "command": t.Command, "permission": t.Permission,
			"headers": headers, "raw": t.Raw, "channels": channels, "target": target}
	}
	if in.Attributes != nil {
		h := in.Attributes.Request.HTTP
		headers := make(map[string]any, len(h.Headers))
		for k, v := range h.Headers {
			headers[k] = v
		}
		doc["attributes"] = map[string]any{"request": map[string]any{"http": map[string]any{
			"method": h.Method, "path": h.Path, "query": h.Query, "host": h.Host, "scheme": h.Scheme, "headers": headers}}}
	}
	if in.ParsedPath != nil {
		list := make([]any, len(in.ParsedPath))
		for i, s := range in.ParsedPath {
			list[i] = s
		}
		doc["parsed_path"] = list
	}
	if in.ParsedQuery != nil {
		q := make(map[string]any, len(in.ParsedQuery))
		for k, vs := range in.ParsedQuery {
			list := make([]any, len(vs))
			for i, s := range vs {
				list[i] = s
			}
			q[k] = list
		}
		doc["parsed_query"] = q
	}
	if in.ParsedBody != nil {
		doc["parsed_body"] = in.ParsedBody
	}
	return doc
}

func termOf(v any) (*ast.Term, error) {
	switch x := v.(type) {
	case nil:
		return ast.NullTerm(), nil
	case bool:
		return ast.BooleanTerm(x), nil
	case string:
		return ast.StringTerm(x), nil
	case json.Number:
		n, err := ast.NumberChecked(string(x)) // as OPA's conversion: out-of-range exponents are errors
		if err != nil {
			return nil, err
		}
		return ast.NewTerm(n), nil
	case []any:
		terms := make([]*ast.Term, len(x))
		for i, e := range x {
			t, err := termOf(e)
			if err != nil {
				return nil, err
			}
			terms[i] = t
		}
		return ast.ArrayTerm(terms...), nil
	case map[string]any:
		items := make([][2]*ast.Term, 0, len(x))
		for k, e := range x {
			t, err := termOf(e)
			if err != nil {
				return nil, err
			}
			items = append(items, ast.Item(ast.StringTerm(k), t))
		}
		return ast.ObjectTerm(items...), nil
	}
	t, err := ast.InterfaceToValue(v)
	if err != nil {
		return nil, err
	}
	return ast.NewTerm(t), nil
}

func (in *Input) document() map[string]any {
	doc := map[string]any{
		"kind": in.Kind, "name": in.Name, "args": in.Args, "origin": in.Origin,
		"window": in.Window, "session": in.Session, "seq": json.Number(fmt.Sprint(in.Seq)),
	}
	for k, v := range in.extraDocument() {
		doc[k] = v
	}
	return doc
}

// quotedName is one name as jsonschema quotes it: in single quotes, with a
// quote or backslash inside escaped by a backslash.
const quotedName = `'(?:[^'\\]|\\.)*'`

// listed matches the property lists jsonschema prints in map order; names
// matches each name in such a list (a name may itself hold ", " or a quote).
var (
	listed = regexp.MustCompile(`^(.*?)((?:` + quotedName + `, )+` + quotedName + `)(.*)$`)
	names  = regexp.MustCompile(quotedName)
)

// stableMessage sorts the names a schema message lists, so the same input
// always gets the same reason.
func stableMessage(msg string) string {
	m := listed.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	list := names.FindAllString(m[2], -1)
	sort.Strings(list)
	return m[1] + strings.Join(list, ", ") + m[3]
}
