package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/policy"
)

// DefaultWindow is the label of the first window.
const DefaultWindow = "main"

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
	in := policy.Prepare(policy.Input{
		Kind: m.Kind, Name: m.Name, Args: m.Args,
		Origin: s.origin, Window: s.window, Session: s.id, Seq: seq,
	})
	p := c.policy.Load()
	v := p.CheckPrepared(s.ctx, in)
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
		if err := c.decisions.Record(s.ctx, p, in, v, time.Since(start)); err != nil {
			c.log.Error("decision not logged; message rejected", "session", s.id, "seq", seq, "err", err)
			return &Error{Code: CodeUnavailable, Message: "the decision could not be logged"}
		}
	}
	if !v.Allow && !c.dryRun {
		return &Error{Code: v.Code, Message: rejection(m, v)}
	}
	return nil
}

// dispatch hands a message that passed decide to its handler, the
// upstream, or the event's subscribers, by kind. Handlers get the bytes
// where the policy saw placeholders.
func (c *Core) dispatch(s *session, m *message) (any, error) {
	attachBlobs(m.Args, m.Bins)
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
		return nil, nil
	}
	if h, ok := c.handlers[m.Name]; ok {
		return c.call(s, m, h)
	}
	if c.upstream != nil {
		return c.call(s, m, func(ctx context.Context, args any) (any, error) { return c.upstream.Call(ctx, m.Name, args) })
	}
	return nil, &Error{Code: CodeUnknown, Message: fmt.Sprintf("no handler for %q", m.Name)}
}

func rejection(m *message, v policy.Verdict) string {
	switch v.Code {
	case policy.CodeUnknown:
		return fmt.Sprintf("unknown command %q", m.Name)
	case policy.CodeInvalid:
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

// call runs a handler with the per-call timeout, turning a panic into
// handler_error with the stack in the log.
func (c *Core) call(s *session, m *message, h Handler) (any, error) {
	ctx, cancel := context.WithTimeout(s.callCtx, c.limits.CallTimeout)
	defer cancel()
	type outcome struct {
		result any
		err    error
	}
	done := make(chan outcome, 1) // buffered: a handler finishing after its timeout does not leak
	go func() {
		defer func() {
			if p := recover(); p != nil {
				c.log.Error("handler panicked", "name", m.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				done <- outcome{err: &Error{Code: CodeHandler, Message: "command failed"}}
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
	}
	if ended {
		if s.ctx.Err() != nil {
			return nil, &Error{Code: CodeUnavailable, Message: "the page went away"}
		}
		return nil, &Error{Code: CodeTimeout, Message: "command timed out"}
	}
	var pub *Error
	if o.err != nil && (!errors.As(o.err, &pub) || pub == nil) { // a typed nil *Error is a failure too
		c.log.Error("handler failed", "name", m.Name, "err", o.err)
		return nil, &Error{Code: CodeHandler, Message: "command failed"}
	}
	return o.result, o.err
}

type reply struct {
	Type   string          `json:"type"`
	ID     uint64          `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *replyError     `json:"error,omitempty"`
	Bin    []binEntry      `json:"bin,omitempty"`
}

type replyError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// answer is the plaintext of the reply to call id.
func (c *Core) answer(s *session, id uint64, result any, err error) []byte {
	r := reply{Type: "reply", ID: id, OK: err == nil}
	var blobs [][]byte
	if err == nil {
		var value any
		value, r.Bin, blobs = splitBlobs(result)
		if r.Result, err = json.Marshal(value); err != nil {
			c.log.Error("result not encodable", "session", s.id, "err", err)
			r.OK = false
			err = &Error{Code: CodeHandler, Message: "command result could not be encoded"}
		} else if d := jsonDepth(r.Result); d > c.limits.MaxDepth {
			// The iframe holds replies to the same depth limit as requests.
			c.log.Error("result nested too deeply", "session", s.id, "depth", d, "limit", c.limits.MaxDepth)
			r.OK = false
			err = &Error{Code: CodeHandler, Message: fmt.Sprintf("command result is nested more than %d deep", c.limits.MaxDepth)}
		}
	}
	if err != nil {
		var pub *Error
		if !errors.As(err, &pub) || pub == nil {
			pub = &Error{Code: CodeHandler, Message: "command failed"}
		}
		r.Result, r.Bin, blobs = nil, nil, nil
		r.Error = &replyError{Code: pub.Code, Message: pub.Message}
	}
	b, _ := json.Marshal(r) // only strings, numbers and already-valid JSON
	return joinPlaintext(b, blobs)
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

// write queues plaintexts for conn (nil: the session's connection) and,
// when no write is under way, writes them: at once, or with async on a
// goroutine of its own, so that an emitter never waits on a slow page. It
// reports whether they were queued; a session over MaxBufferedBytes loses
// its connection instead.
func (c *Core) write(s *session, conn *websocket.Conn, async bool, plaintexts ...[]byte) bool {
	writer, err := s.enqueue(conn, plaintexts...)
	if err != nil {
		c.log.Warn("connection dropped", "session", s.id, "why", err.Error())
		return false
	}
	switch {
	case writer && async:
		go c.drain(s)
	case writer:
		c.drain(s)
	}
	return true
}

// drain writes the session's queue. It also runs on timers and its own
// goroutines, where a panic would end the process: a panic closes the
// connection instead, and the iframe settles its calls and reconnects.
func (c *Core) drain(s *session) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("write panicked; connection closed", "session", s.id, "panic", fmt.Sprint(r))
			if cur := s.current.Load(); cur != nil {
				cur.Close(websocket.StatusInternalError, "")
			}
		}
	}()
	if err := s.drain(); err != nil {
		c.log.Debug("not sent", "session", s.id, "err", err)
	}
}

// groupWait is the longest a reply to a message of a batch is held back.
const groupWait = 2 * time.Millisecond

// replyGroup gathers the replies to one frame's messages so that they leave
// together: a ready reply waits until all the others are ready, or at most
// groupWait, and everything ready by then leaves in one frame. The iframe
// then opens, checks and relays one frame for many calls instead of one
// each. The reply to a message sent alone is the last one outstanding, so it
// is never held.
type replyGroup struct {
	c       *Core
	s       *session
	conn    *websocket.Conn
	mu      sync.Mutex
	waiting int      // replies not yet ready
	ready   [][]byte // ready and held
	timer   *time.Timer
}

// newReplyGroup returns the group for the n replies to a frame's messages,
// sent on conn, the connection the frame came on.
func (c *Core) newReplyGroup(s *session, conn *websocket.Conn, n int) *replyGroup {
	return &replyGroup{c: c, s: s, conn: conn, waiting: n}
}

// add holds one reply's plaintext, or sends everything held when it was the
// last one outstanding.
func (g *replyGroup) add(b []byte) {
	g.mu.Lock()
	g.waiting--
	g.ready = append(g.ready, b)
	if g.waiting > 0 {
		if g.timer == nil {
			g.timer = time.AfterFunc(groupWait, g.flush)
		}
		g.mu.Unlock()
		return
	}
	if g.timer != nil {
		g.timer.Stop()
	}
	g.mu.Unlock()
	g.flush()
}

// flush sends what is held; the next reply to come starts a new wait.
func (g *replyGroup) flush() {
	g.mu.Lock()
	ready := g.ready
	g.ready = nil
	g.timer = nil
	g.mu.Unlock()
	if len(ready) > 0 {
		g.c.write(g.s, g.conn, false, ready...)
	}
}
