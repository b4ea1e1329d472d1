package policy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/isogate/isogate/internal/jsonptr"
	"github.com/open-policy-agent/opa/v1/ast"
)

// DecisionLog writes one JSON line per decision. Each line goes to the file
// in a single write(2) before the caller answers the message, so a process
// killed even with SIGKILL has logged every decision it answered (the kernel
// keeps what was written; surviving power loss is out of scope). Unsealed
// refusals, which no policy decides and anyone can send, are recorded at a
// bounded rate, each counting the ones before it that were not
// (Decision.Suppressed).
//
// Sinks (AddSink) are told of each decision once it is on record: OPA's
// decision-log plugin for a fleet, the audit page.
type DecisionLog struct {
	mu    sync.Mutex
	w     io.Writer
	sinks atomic.Pointer[[]Sink]
}

// A Sink is told of each decision after its line is written, before the
// message is answered. It gets the line as written (the input masked) and
// must neither change it nor block for long: the message waits for it.
type Sink func(ctx context.Context, d *Decision)

// AddSink adds s to the sinks told of each decision from now on.
func (l *DecisionLog) AddSink(s Sink) {
	for {
		old := l.sinks.Load()
		var next []Sink
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, s)
		if l.sinks.CompareAndSwap(old, &next) {
			return
		}
	}
}

// OpenDecisionLog appends to the file at path, creating it with mode 0600.
func OpenDecisionLog(path string) (*DecisionLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &DecisionLog{w: f}, nil
}

// NewDecisionLog writes to w (which should not buffer). With w nil there is
// no file, only the sinks.
func NewDecisionLog(w io.Writer) *DecisionLog { return &DecisionLog{w: w} }

// Close closes the underlying file, if it is one.
func (l *DecisionLog) Close() error {
	if c, ok := l.w.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Decision is one line of the decision log.
type Decision struct {
	Time       time.Time `json:"time"`
	DecisionID string    `json:"decision_id"`
	Session    string    `json:"session"`
	Window     string    `json:"window"`
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	Seq        uint64    `json:"seq"`
	Input      any       `json:"input"` // the policy input, after masking
	Result     Verdict   `json:"result"`
	Revision   string    `json:"revision"`
	LatencyNS  int64     `json:"latency_ns"`
	DryRun     bool      `json:"dry_run,omitempty"`
	Erased     []string  `json:"erased,omitempty"`
	Masked     []string  `json:"masked,omitempty"`
	// Unsealed marks a request refused because it did not come through the
	// gate: no policy decided it (Revision is the one in force). Suppressed
	// counts the unsealed refusals not recorded since the last recorded
	// one, past the core's rate limit.
	Unsealed   bool   `json:"unsealed,omitempty"`
	Suppressed uint64 `json:"suppressed,omitempty"`
	// Pending marks a decision made before there was any policy (a fleet
	// install before its first bundle): every message is refused.
	Pending bool `json:"pending,omitempty"`
}

// Entry is one decision to record.
type Entry struct {
	Policy  *Policy   // the policy that decided
	Input   *Prepared // what it decided on
	Verdict Verdict
	Latency time.Duration
	DryRun  bool // the verdict was not enforced (the core's Config.DryRun)
	// Unsealed: refused before any policy saw it (Decision.Unsealed), with
	// Suppressed such refusals not recorded before it.
	Unsealed   bool
	Suppressed uint64
}

// Record masks the entry's input as the policy's system.log mask rule says
// (OPA's convention: JSON pointers such as "/input/args/password" to erase,
// or {"op": "upsert", "path": ..., "value": ...} to replace) and writes the
// line. An error means the decision is not on record: the core then
// rejects the message.
func (l *DecisionLog) Record(ctx context.Context, e Entry) error {
	p, pr, v, latency := e.Policy, e.Input, e.Verdict, e.Latency
	in := &pr.in
	id := make([]byte, 16)
	rand.Read(id)
	d := Decision{
		Time: time.Now().UTC(), DecisionID: hex.EncodeToString(id),
		Session: in.Session, Window: in.Window, Kind: in.Kind, Name: in.Name, Seq: in.Seq,
		Result: v, Revision: p.revision, LatencyNS: latency.Nanoseconds(), DryRun: e.DryRun,
		Unsealed: e.Unsealed, Suppressed: e.Suppressed, Pending: p.pending != "",
	}
	doc := in.document()
	event := map[string]any{"input": doc}
	if p.pending != "" {
		// No policy yet, so no mask rule either: the input is withheld.
		event["input"] = nil
		d.Erased = []string{"/input"}
	} else if value, err := pr.full(); err != nil {
		// OPA cannot represent this input (a number past its range), so the
		// mask rule cannot run on it, and the policy already denied it: the
		// decision is logged with the whole input withheld.
		event["input"] = nil
		d.Erased = []string{"/input"}
	} else if err := p.applyMasks(ctx, value, event, &d); err != nil {
		return err
	}
	d.Input = event["input"]
	if l.w != nil {
		line, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("decision log: %w", err)
		}
		if err := l.write(append(line, '\n')); err != nil {
			return fmt.Errorf("decision log: %w", err)
		}
	}
	if sinks := l.sinks.Load(); sinks != nil {
		// Each sink gets a copy of its own: the input shares the message's
		// arguments, which the handler gets, and a sink may change what it
		// is given (OPA's mask rules do) or read it later, from another
		// goroutine (OPA's event buffer does).
		for _, s := range *sinks {
			c := d
			c.Input = deepCopy(d.Input)
			s(ctx, &c)
		}
	}
	return nil
}

// write writes one line under the lock, released even if the writer
// panics (the core recovers that panic and the next decision must not
// wait on a lock nobody holds).
func (l *DecisionLog) write(line []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.w.Write(line)
	return err
}

// applyMasks evaluates the mask rule and applies it to a deep copy of the
// input inside event (the handler still gets the original arguments).
func (p *Policy) applyMasks(ctx context.Context, input ast.Value, event map[string]any, d *Decision) error {
	rs, err := p.eval(ctx, p.mask, input)
	if err != nil {
		return fmt.Errorf("decision log: mask rule: %w", err)
	}
	if len(rs) != 1 {
		return nil
	}
	masks, _ := rs[0].Bindings["mask"].([]any)
	if len(masks) == 0 {
		return nil
	}
	event["input"] = deepCopy(event["input"])
	for _, m := range masks {
		switch m := m.(type) {
		case string:
			if maskAt(event, m, jsonptr.Delete) {
				d.Erased = append(d.Erased, m)
			}
		case map[string]any:
			path, _ := m["path"].(string)
			upsert := func(c any, tok string) bool { return jsonptr.Set(c, tok, m["value"]) }
			if m["op"] == "upsert" && maskAt(event, path, upsert) {
				d.Masked = append(d.Masked, path)
			} else if m["op"] == "remove" && maskAt(event, path, jsonptr.Delete) {
				d.Erased = append(d.Erased, path)
			}
		}
	}
	return nil
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, x := range v {
			c[k] = deepCopy(x)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, x := range v {
			c[i] = deepCopy(x)
		}
		return c
	}
	return v
}

// maskAt applies op to the member path points at (below the event's top
// level: "/input/..."), and reports whether it did.
func maskAt(event map[string]any, path string, op func(c any, tok string) bool) bool {
	toks, err := jsonptr.Parse(path)
	if err != nil || len(toks) < 2 {
		return false
	}
	parent, ok := jsonptr.Parent(event, toks)
	return ok && op(parent, toks[len(toks)-1])
}
