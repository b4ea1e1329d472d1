package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/isogate/isogate/codes"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/policy"
)

// takeFrame runs one frame's messages down the path: each is admitted
// (limits, then decide) in turn, then the admitted ones are dispatched, each
// on its own goroutine. All of a frame's messages are decided before any is
// dispatched, and the replies to a batch, refusals included, leave together.
//
// An admitted message holds one of the session's in-flight slots. takeFrame
// owns the slot from admission until it hands the message to
// dispatchAndReply, which owns it until the reply is queued; whatever it
// still holds when it returns, a panic included, goes back here.
func (c *Core) takeFrame(s *session, conn *websocket.Conn, seq uint64, msgs []decoded) {
	replies := 0
	for _, d := range msgs {
		if !d.m.Cancel {
			replies++
		}
	}
	group := c.newReplyGroup(s, conn, replies)
	var admitted []*message
	defer func() {
		for _, m := range admitted { // taken, never handed over (a panic): the slots go back
			s.forget(m)
			<-s.slots
		}
	}()
	for _, d := range msgs {
		if d.m.Cancel {
			// The page gave up on a call (an aborted fetch): its context
			// ends, so its handler or upstream request stops; its reply,
			// which the page no longer waits for, still settles it. A
			// cancel costs a token like any message; over the rate it is
			// ignored, and the call runs on.
			if !s.rate.allow() {
				continue
			}
			if cc, ok := s.calls.Load(d.m.ID); ok {
				cc.(*callCancel).cancel(errCancelled)
			}
			continue
		}
		if err := c.admit(s, seq, d); err != nil {
			b, _ := c.answer(s, d.m.ID, nil, err, nil)
			group.add(b)
			continue
		}
		ctx, cancel := context.WithCancelCause(s.callCtx)
		d.m.ctx, d.m.cancel = ctx, &callCancel{cancel}
		s.calls.Store(d.m.ID, d.m.cancel)
		admitted = append(admitted, d.m)
	}
	for len(admitted) > 0 {
		m := admitted[0]
		admitted = admitted[1:] // handed over: dispatchAndReply gives the slot back
		if m.Kind == policy.KindListen {
			// In order, before anything after it runs: an event emitted by
			// a call sent after the listen reaches the page.
			c.dispatchAndReply(s, m, group)
			continue
		}
		go c.dispatchAndReply(s, m, group)
	}
}

// callCancel ends one admitted call's context; its pointer names the call
// in the session's table, so a call only ever takes its own entry out.
type callCancel struct{ cancel context.CancelCauseFunc }

// forget ends m's context and takes it out of the table of calls a cancel
// can reach.
func (s *session) forget(m *message) {
	if m.cancel != nil {
		s.calls.CompareAndDelete(m.ID, m.cancel)
		m.cancel.cancel(nil)
	}
}

// errCancelled is the cause of a call's context the page cancelled.
var errCancelled = errors.New("cancelled by the page")

// admit runs one decoded message through the session's limits and the
// decision. A nil error means it may be dispatched and holds one of the
// session's in-flight slots; an error is the message's answer.
func (c *Core) admit(s *session, seq uint64, d decoded) error {
	// Every message costs a token, even one refused for its shape.
	if !s.rate.allow() {
		return &Error{Code: codes.RateLimited, Message: "too many messages; slow down"}
	}
	if d.err != nil {
		return d.err
	}
	select {
	case s.slots <- struct{}{}:
	default:
		return &Error{Code: codes.RateLimited, Message: "too many calls in flight"}
	}
	refused := true
	defer func() {
		if refused { // denied, or a panic in decide: the slot goes back
			<-s.slots
		}
	}()
	if err := c.decide(s, seq, d.m); err != nil {
		return err
	}
	refused = false
	return nil
}

// decide runs the checks on one message that opened and decoded: schema and
// policy (one policy version for both), then the decision log. A nil error
// lets the message through to dispatch.
//
// The transport's read loop calls it for each message in turn, so a
// session's decisions are made, and logged, in sequence order, and one page
// cannot keep more than one core busy evaluating policy. It also keeps
// evaluation on a goroutine whose stack has already grown to what OPA
// needs: on a fresh goroutine per message, growing the stack cost more than
// the evaluation.
func (c *Core) decide(s *session, seq uint64, m *message) error {
	start := time.Now()
	p := c.policy.Load()
	// The policy's input, by kind. A message that cannot be put to the
	// policy at all (an http request whose path is ambiguous) is refused
	// as it is, on record, dry run or not: there is nothing to let through.
	in, refused := c.input(s, seq, m, p)
	var v policy.Verdict
	if refused != nil {
		v = policy.Verdict{Code: refused.Code, Reasons: []string{refused.Message}}
	} else {
		v = p.CheckPrepared(s.ctx, in)
	}
	// The decision log is the record of every decision; stderr gets the
	// denials, and the rest only at debug level.
	level := slog.LevelDebug
	if !v.Allow {
		level = slog.LevelInfo
	}
	if c.log.Enabled(s.ctx, level) { // building the line's attributes costs, even when it is dropped
		c.log.Log(s.ctx, level, "decision", "session", s.id, "seq", seq, "kind", m.Kind, "name", m.Name,
			"allow", v.Allow, "code", v.Code, "reasons", v.Reasons, "latency", time.Since(start))
	}
	if c.decisions != nil {
		if err := c.decisions.Record(s.ctx, policy.Entry{Policy: p, Input: in, Verdict: v, Latency: time.Since(start), DryRun: c.dryRun}); err != nil {
			c.log.Error("decision not logged; message rejected", "session", s.id, "seq", seq, "err", err)
			return &Error{Code: codes.Unavailable, Message: "the decision could not be logged"}
		}
	}
	if refused != nil {
		return refused
	}
	if !v.Allow && !c.dryRun {
		return &Error{Code: v.Code, Message: rejection(m, v), Reasons: v.Reasons}
	}
	return nil
}

// input is the policy's input for m: for an http request, the request in
// Envoy's shape (httpInput); for the other kinds, the message's args.
func (c *Core) input(s *session, seq uint64, m *message, p *policy.Policy) (*policy.Prepared, *Error) {
	in := policy.Input{Kind: m.Kind, Name: m.Name, Args: m.Args, Origin: s.origin, Window: s.window, Session: s.id, Seq: seq, Tauri: m.Tauri}
	if c.tauri != nil && m.Tauri == nil && m.Kind != policy.KindHTTP {
		// A Tauri app's page that calls without Tauri's API (window.isogate)
		// is described as Tauri would: a policy keyed on input.tauri holds.
		in.Tauri = impliedTauri(m)
	}
	if m.Kind == policy.KindHTTP {
		if err := c.httpInput(s, m, &in, p); err != nil {
			return policy.Prepare(in), err
		}
	}
	return policy.Prepare(in), nil
}

// dispatchAndReply runs an admitted message and hands its reply to group.
// A panic outside the handler (encoding its result, say) still answers the
// call, with handler_error, and costs nothing else.
func (c *Core) dispatchAndReply(s *session, m *message, group *replyGroup) {
	defer func() {
		s.forget(m)
		<-s.slots
	}()
	answered := false
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("dispatch panicked", "session", s.id, "name", m.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			if !answered {
				b, _ := c.answer(s, m.ID, nil, &Error{Code: codes.HandlerError, Message: "command failed"}, nil)
				group.add(b)
			}
		}
	}()
	// The call's timeout covers all of it, a streamed result's bytes too.
	ctx, stop := context.WithTimeout(m.ctx, c.limits.CallTimeout)
	defer stop()
	m.ctx = c.withTauri(ctx, s, group.conn, m)
	result, err := c.dispatch(s, m)
	if pub := (*Error)(nil); m.Tauri == nil && errors.As(err, &pub) && pub != nil && pub.Value != nil {
		err = &Error{Code: pub.Code, Message: pub.Message} // an error's value is for Tauri pages (a backend's error.data may be a traceback)
	}
	var st *stream
	if err == nil {
		result, st, err = c.openStream(s, m, result)
	}
	b, ok := c.answer(s, m.ID, result, err, st)
	answered = true
	if st != nil && !ok {
		st.feed.close()
	}
	if st == nil || !ok {
		group.add(b)
		return
	}
	group.flushWith(b) // out now: the stream's data messages must follow it
	c.pump(s, group.conn, m, st)
}

// dispatch hands a message that passed decide to its handler, the
// upstream, or the event's subscribers, by kind. Handlers get the bytes
// where the policy saw placeholders.
func (c *Core) dispatch(s *session, m *message) (any, error) {
	m.Args = attachBlobs(m.Args, m.Bins)
	switch m.Kind {
	case policy.KindListen:
		s.listen(m.Name)
		return nil, nil
	case policy.KindEvent:
		for _, h := range c.events[m.Name] {
			if _, err := c.call(s, m, func(ctx context.Context, p any) (any, error) { return nil, h(ctx, p) }); err != nil {
				return nil, err
			}
		}
		if m.Tauri != nil {
			// Tauri's emit reaches every page that listens, the sender's
			// too; an emit_to to a label only that window's pages (Tauri
			// would also hand it to other windows' listeners of Any). The
			// target goes along for the page's listeners to match on.
			t := Target{Tauri: m.Tauri.Target}
			if t.Tauri != nil && t.Tauri.Label != "" {
				t.Window = t.Tauri.Label
			}
			c.EmitTarget(t, m.Name, m.Args)
		}
		return nil, nil
	}
	if m.Kind == policy.KindHTTP {
		return c.call(s, m, func(ctx context.Context, _ any) (any, error) {
			r, err := c.forwardHTTP(ctx, m)
			if err != nil {
				c.upstreamErrors.Add(1)
			}
			return r, err
		})
	}
	if h, ok := c.handlers[m.Name]; ok {
		return c.call(s, m, h)
	}
	if c.upstream != nil {
		if err := c.upstream.Health(); err != nil {
			c.upstreamErrors.Add(1)
			c.log.Warn("backend not healthy; call refused", "name", m.Name, "err", err)
			return nil, &Error{Code: codes.Unavailable, Message: "the backend is not available"}
		}
		return c.call(s, m, func(ctx context.Context, args any) (any, error) {
			r, err := c.upstream.Call(ctx, m.Name, args)
			if err != nil {
				c.upstreamErrors.Add(1)
				return nil, err
			}
			return rawResult(r), nil
		})
	}
	return nil, &Error{Code: codes.UnknownCommand, Message: fmt.Sprintf("no handler for %q", m.Name)}
}

func rejection(m *message, v policy.Verdict) string {
	switch v.Code {
	case codes.UnknownCommand:
		return fmt.Sprintf("unknown command %q", m.Name)
	case codes.InvalidArgs:
		return strings.Join(v.Reasons, "; ")
	}
	return "denied by policy: " + strings.Join(v.Reasons, "; ")
}

// Caller is the page a command or event came from: its session (hex) and
// its window's label. Handlers get it from their context; an upstream
// backend gets it as the request's "meta" member.
type Caller struct {
	Session string `json:"session"`
	Window  string `json:"window"`
}

type callerKey struct{}

// CallerFrom returns the page a handler's call came from.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// call runs a handler within the call's context (its timeout, the page's
// cancel), turning a panic into handler_error with the stack in the log.
func (c *Core) call(s *session, m *message, h Handler) (any, error) {
	ctx := m.ctx
	type outcome struct {
		result any
		err    error
	}
	done := make(chan outcome, 1) // buffered: a handler finishing after its timeout does not leak
	go func() {
		defer func() {
			if p := recover(); p != nil {
				c.log.Error("handler panicked", "name", m.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				done <- outcome{err: &Error{Code: codes.HandlerError, Message: "command failed"}}
			}
		}()
		r, err := h(ctx, m.Args)
		done <- outcome{r, err}
	}()
	var o outcome
	ended := false // the call's context ended before the handler answered
	select {
	case o = <-done:
		ended = ctx.Err() != nil && (errors.Is(o.err, context.DeadlineExceeded) || errors.Is(o.err, context.Canceled))
	case <-ctx.Done():
		ended = true
		go func() { closeResult((<-done).result) }() // a reader in a result nobody takes is closed
	}
	if ended {
		return nil, c.ended(s, ctx)
	}
	var pub *Error
	if o.err != nil && (!errors.As(o.err, &pub) || pub == nil) { // a typed nil *Error is a failure too
		c.log.Error("handler failed", "name", m.Name, "err", o.err)
		return nil, &Error{Code: codes.HandlerError, Message: "command failed"}
	}
	return o.result, o.err
}

// answer is the plaintext of the reply to call id, and whether it is a
// success; st is the stream that will follow it, if any.
func (c *Core) answer(s *session, id uint64, result any, err error, st *stream) ([]byte, bool) {
	r := reply{Type: "reply", ID: id, OK: err == nil}
	if st != nil {
		r.Stream = &st.path
	}
	var blobs [][]byte
	if err == nil {
		var value any
		value, r.Bin, blobs = splitBlobs(result)
		if r.Result, err = json.Marshal(value); err != nil {
			c.log.Error("result not encodable", "session", s.id, "err", err)
			r.OK = false
			err = &Error{Code: codes.HandlerError, Message: "command result could not be encoded"}
		} else if _, raw := value.(json.RawMessage); raw && !jsontext.Value(r.Result).IsValid() {
			// A backend's raw result passes json.Marshal as it is: one with
			// a lone surrogate or invalid UTF-8 would make the iframe drop
			// the whole connection. (What json.Marshal encodes itself is
			// valid already: only raw results are scanned again.)
			c.log.Error("result is not valid JSON", "session", s.id)
			r.OK = false
			err = &Error{Code: codes.HandlerError, Message: "command result is not valid JSON"}
		} else if d := jsonDepth(r.Result); d > c.limits.MaxDepth {
			// The iframe holds replies to the same depth limit as requests.
			c.log.Error("result nested too deeply", "session", s.id, "depth", d, "limit", c.limits.MaxDepth)
			r.OK = false
			err = &Error{Code: codes.HandlerError, Message: fmt.Sprintf("command result is nested more than %d deep", c.limits.MaxDepth)}
		}
	}
	if err != nil {
		var pub *Error
		if !errors.As(err, &pub) || pub == nil {
			pub = &Error{Code: codes.HandlerError, Message: "command failed"}
		}
		r.Result, r.Bin, r.Stream, blobs = nil, nil, nil, nil
		r.Error = &replyError{Code: pub.Code, Message: pub.Message, Reasons: pub.Reasons}
		if pub.Value != nil {
			if v, err := json.Marshal(pub.Value); err == nil && jsonDepth(v) <= c.limits.MaxDepth {
				r.Error.Value = v
			} else {
				c.log.Error("an error's value is not encodable; sent without it", "session", s.id)
			}
		}
	}
	b, _ := json.Marshal(r) // only strings, numbers and already-valid JSON
	return joinPlaintext(b, blobs), r.OK
}

type reply struct {
	Type   string          `json:"type"`
	ID     uint64          `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *replyError     `json:"error,omitempty"`
	Bin    []binEntry      `json:"bin,omitempty"`
	Stream *string         `json:"stream,omitempty"` // where the data messages that follow go
}

type replyError struct {
	Code    codes.Code      `json:"code"`
	Message string          `json:"message"`
	Value   json.RawMessage `json:"value,omitempty"`   // a Tauri command's error value
	Reasons []string        `json:"reasons,omitempty"` // the policy's, for a refusal
}

// jsonDepth is how many containers deep valid JSON b nests.
func jsonDepth(b []byte) int {
	depth, max, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch ch := b[i]; {
		case inString && ch == '\\':
			i++
		case ch == '"':
			inString = !inString
		case inString:
		case ch == '{' || ch == '[':
			if depth++; depth > max {
				max = depth
			}
		case ch == '}' || ch == ']':
			depth--
		}
	}
	return max
}
