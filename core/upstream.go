package core

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

// Upstream is an existing backend that allowed commands are forwarded to as
// JSON-RPC 2.0: method = the command name, params = its args. Its
// notifications {"method": "isogate.emit", "params": {"event", "payload"}}
// become events to the pages whose listen the policy allowed; params may name
// a "session" or a "window" to address only those pages. Each request
// carries "meta": {"session", "window"}, the page it came from (see Caller).
type Upstream interface {
	// Call forwards one command. A JSON-RPC error comes back as a
	// handler_error *Error carrying the backend's message; a backend that is
	// down or answers garbage gives an unavailable *Error.
	Call(ctx context.Context, method string, params any) (json.RawMessage, error)
}

// MaxUpstreamReply bounds one reply (or one line) from a backend: a
// runaway backend cannot exhaust the core's memory.
const MaxUpstreamReply = 16 << 20

var errUnavailable = &Error{Code: CodeUnavailable, Message: "the backend is not available"}

type rpcRequest struct {
	JSONRPC string  `json:"jsonrpc"`
	ID      int64   `json:"id"`
	Method  string  `json:"method"`
	Params  any     `json:"params"`
	Meta    *Caller `json:"meta,omitempty"`
}

// newRequest is the JSON-RPC request for a call made with ctx.
func newRequest(ctx context.Context, id int64, method string, params any) rpcRequest {
	r := rpcRequest{JSONRPC: "2.0", ID: id, Method: method, Params: params}
	if c, ok := CallerFrom(ctx); ok {
		r.Meta = &c
	}
	return r
}

// Emitter delivers an event to the pages a target names (Core.EmitTarget).
type Emitter func(t Target, name string, payload any) int

// rpcMessage is anything a backend sends: a response or a notification.
type rpcMessage struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      *int64          `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// outcome turns a response into the call's result or error.
func (m *rpcMessage) outcome() (json.RawMessage, error) {
	if m.Error != nil {
		return nil, &Error{Code: CodeHandler, Message: m.Error.Message}
	}
	if m.Result == nil {
		return nil, errUnavailable // neither result nor error: garbage
	}
	return m.Result, nil
}

// notification handles an isogate.emit notification; it reports whether m
// was one.
func notification(m *rpcMessage, emit Emitter, log *slog.Logger) bool {
	if m.ID != nil || m.Method == "" {
		return false
	}
	if m.Method != "isogate.emit" {
		log.Warn("backend sent an unknown notification", "method", m.Method)
		return true
	}
	var p struct {
		Event   string  `json:"event"`
		Payload any     `json:"payload"`
		Session *string `json:"session"`
		Window  *string `json:"window"`
	}
	if err := json.Unmarshal(m.Params, &p); err != nil || p.Event == "" {
		log.Warn("backend sent a malformed isogate.emit", "err", err)
		return true
	}
	// A target named but empty is a mistake, not "everyone": dropped.
	var t Target
	for _, f := range []struct {
		v   *string
		dst *string
	}{{p.Session, &t.Session}, {p.Window, &t.Window}} {
		if f.v != nil && *f.v == "" {
			log.Warn("backend sent an isogate.emit with an empty target; dropped", "event", p.Event)
			return true
		}
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	emit(t, p.Event, p.Payload)
	return true
}

// HTTPUpstream posts each call to a JSON-RPC endpoint. The response body is
// the response object, or an array holding it and any isogate.emit
// notifications (an HTTP backend has no other way to speak first).
type HTTPUpstream struct {
	URL    string
	Client *http.Client
	emit   Emitter
	log    *slog.Logger
	nextID atomic.Int64
}

// NewHTTPUpstream returns an upstream posting to url; emit delivers its
// notifications (use Core.EmitTarget).
func NewHTTPUpstream(url string, emit Emitter, log *slog.Logger) *HTTPUpstream {
	return &HTTPUpstream{URL: url, Client: &http.Client{}, emit: emit, log: log}
}

func (u *HTTPUpstream) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	id := u.nextID.Add(1)
	body, err := json.Marshal(newRequest(ctx, id, method, params))
	if err != nil {
		return nil, &Error{Code: CodeInvalidArgs, Message: "args cannot be encoded"}
	}
	req, err := http.NewRequestWithContext(ctx, "POST", u.URL, bytes.NewReader(body))
	if err != nil {
		return nil, errUnavailable
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := u.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		u.log.Warn("backend unreachable", "url", u.URL, "err", err)
		return nil, errUnavailable
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxUpstreamReply+1))
	if err != nil || len(b) > MaxUpstreamReply || resp.StatusCode != http.StatusOK {
		u.log.Warn("backend answered badly", "url", u.URL, "status", resp.StatusCode, "bytes", len(b), "err", err)
		return nil, errUnavailable
	}
	var msgs []rpcMessage
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		err = json.Unmarshal(b, &msgs)
	} else {
		msgs = make([]rpcMessage, 1)
		err = json.Unmarshal(b, &msgs[0])
	}
	if err != nil {
		u.log.Warn("backend answered garbage", "url", u.URL, "err", err)
		return nil, errUnavailable
	}
	var reply *rpcMessage
	for i := range msgs {
		m := &msgs[i]
		if notification(m, u.emit, u.log) {
			continue
		}
		if m.ID != nil && *m.ID == id && reply == nil {
			reply = m
		}
	}
	if reply == nil {
		u.log.Warn("backend answered without a response to the call", "url", u.URL, "id", id)
		return nil, errUnavailable
	}
	return reply.outcome()
}

// StdioUpstream runs a backend as a child process speaking JSON-RPC, one
// object per line, on its stdin and stdout; its stderr passes through. A
// child that exits, or writes a line that is not JSON-RPC, fails the calls in
// flight with unavailable and is restarted with backoff.
type StdioUpstream struct {
	Argv   []string
	Stderr io.Writer
	emit   Emitter
	log    *slog.Logger

	nextID  atomic.Int64
	mu      sync.Mutex
	stdin   io.WriteCloser // nil while the child is down
	child   *os.Process
	pending map[int64]chan rpcMessage
	starts  atomic.Int64
	wmu     sync.Mutex // serializes writes to stdin, apart from mu so reading never waits on a write
}

// stdinWriteTimeout bounds one write to a child's stdin: a child that stops
// reading is killed and restarted rather than left to block every call.
const stdinWriteTimeout = 5 * time.Second

// Restart backoff for a stdio backend: doubling from the first to the last
// delay, and back to the first after a child that ran for backoffReset.
const (
	backoffFirst = 100 * time.Millisecond
	backoffMax   = 5 * time.Second
	backoffReset = 10 * time.Second
)

// NewStdioUpstream returns a supervised child backend; Run starts it.
func NewStdioUpstream(argv []string, stderr io.Writer, emit Emitter, log *slog.Logger) *StdioUpstream {
	return &StdioUpstream{Argv: argv, Stderr: stderr, emit: emit, log: log, pending: map[int64]chan rpcMessage{}}
}

// Starts reports how many times the child has been started.
func (u *StdioUpstream) Starts() int64 { return u.starts.Load() }

// Run supervises the child until ctx is done, then kills it.
func (u *StdioUpstream) Run(ctx context.Context) {
	delay := backoffFirst
	for ctx.Err() == nil {
		began := time.Now()
		err := u.runOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > backoffReset {
			delay = backoffFirst
		}
		u.log.Warn("backend exited; restarting", "argv", u.Argv, "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, backoffMax)
	}
}

func (u *StdioUpstream) runOnce(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, u.Argv[0], u.Argv[1:]...)
	cmd.Stderr = u.Stderr
	cmd.WaitDelay = time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	u.starts.Add(1)
	u.mu.Lock()
	u.stdin, u.child = stdin, cmd.Process
	u.mu.Unlock()

	readErr := u.read(stdout)
	if readErr != nil {
		cmd.Process.Kill() // out of step with us: start afresh
	}
	u.mu.Lock()
	u.stdin = nil
	for id, ch := range u.pending {
		close(ch) // a closed channel means unavailable
		delete(u.pending, id)
	}
	u.mu.Unlock()
	stdin.Close()
	waitErr := cmd.Wait()
	return errors.Join(readErr, waitErr)
}

// read delivers responses and notifications until EOF or garbage.
func (u *StdioUpstream) read(stdout io.Reader) error {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), MaxUpstreamReply)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var m rpcMessage
		if err := json.Unmarshal(line, &m); err != nil || m.JSONRPC != "2.0" {
			return fmt.Errorf("backend wrote a line that is not JSON-RPC 2.0: %.80q", line)
		}
		if notification(&m, u.emit, u.log) {
			continue
		}
		if m.ID == nil {
			return errors.New("backend wrote a response without an id")
		}
		u.mu.Lock()
		ch, ok := u.pending[*m.ID]
		delete(u.pending, *m.ID)
		u.mu.Unlock()
		if ok {
			ch <- m
		}
	}
	return sc.Err()
}

func (u *StdioUpstream) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	id := u.nextID.Add(1)
	line, err := json.Marshal(newRequest(ctx, id, method, params))
	if err != nil {
		return nil, &Error{Code: CodeInvalidArgs, Message: "args cannot be encoded"}
	}
	ch := make(chan rpcMessage, 1)
	u.mu.Lock()
	stdin, child := u.stdin, u.child
	if stdin == nil {
		u.mu.Unlock()
		return nil, errUnavailable
	}
	u.pending[id] = ch
	u.mu.Unlock()
	u.wmu.Lock()
	if f, ok := stdin.(*os.File); ok {
		f.SetWriteDeadline(time.Now().Add(stdinWriteTimeout))
	}
	_, err = stdin.Write(append(line, '\n'))
	u.wmu.Unlock()
	if err != nil {
		u.forget(id)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			u.log.Warn("backend stopped reading its stdin; killing it", "argv", u.Argv)
			child.Kill()
		}
		return nil, errUnavailable
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return nil, errUnavailable
		}
		return m.outcome()
	case <-ctx.Done():
		u.forget(id)
		return nil, ctx.Err()
	}
}

func (u *StdioUpstream) forget(id int64) {
	u.mu.Lock()
	delete(u.pending, id)
	u.mu.Unlock()
}
