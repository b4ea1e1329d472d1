package jsonrpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/isogate/isogate/codes"

	"github.com/isogate/isogate/core"
)

// Stdio runs a backend as a child process speaking JSON-RPC, one object per
// line, on its stdin and stdout; its stderr passes through. A child that
// exits, or writes a line that is not JSON-RPC, fails the calls in flight
// with unavailable and is restarted with backoff.
type Stdio struct {
	argv   []string
	stderr io.Writer
	log    *slog.Logger
	emit   core.Emitter // set by Start, before the child runs

	cancel context.CancelFunc
	done   chan struct{} // closed when the supervisor has stopped

	nextID  atomic.Int64
	mu      sync.Mutex
	stdin   io.WriteCloser // nil while the child is down
	child   *os.Process
	pending map[int64]chan message
	starts  atomic.Int64
	onStart func()     // tests: told of each child started
	wmu     sync.Mutex // serializes writes to stdin, apart from mu so reading never waits on a write
}

// stdinWriteTimeout bounds one write to a child's stdin: a child that stops
// reading is killed and restarted rather than left to block every call.
const stdinWriteTimeout = 5 * time.Second

// Restart backoff: doubling from the first to the last delay, and back to
// the first after a child that ran for backoffReset.
const (
	backoffFirst = 100 * time.Millisecond
	backoffMax   = 5 * time.Second
	backoffReset = 10 * time.Second
)

// NewStdio returns a backend that Start runs as the command argv.
func NewStdio(argv []string, stderr io.Writer, log *slog.Logger) *Stdio {
	if stderr == nil {
		stderr = io.Discard
	}
	if log == nil {
		log = slog.Default()
	}
	return &Stdio{argv: argv, stderr: stderr, log: log, pending: map[int64]chan message{}}
}

// Start starts the child and supervises it until Stop or until ctx is
// done. It returns once the first child has started, or with the reason it
// could not (a missing command, say): then nothing runs.
func (u *Stdio) Start(ctx context.Context, emit core.Emitter) error {
	if len(u.argv) == 0 {
		return errors.New("jsonrpc: no command to run")
	}
	if u.done != nil {
		return errors.New("jsonrpc: started twice")
	}
	u.emit = emit
	ctx, u.cancel = context.WithCancel(ctx)
	u.done = make(chan struct{})
	first := make(chan error, 1)
	go func() {
		defer close(u.done)
		u.supervise(ctx, first)
	}()
	return <-first
}

// Health is nil while a child runs and can take calls.
func (u *Stdio) Health() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.stdin == nil {
		return errors.New("the backend is restarting")
	}
	return nil
}

// Stop kills the child and waits for it and its supervisor to end.
func (u *Stdio) Stop() error {
	if u.done == nil {
		return nil
	}
	u.cancel()
	<-u.done
	return nil
}

// supervise runs the child again and again until ctx is done. The first
// start's outcome goes to first; a first start that fails ends it.
func (u *Stdio) supervise(ctx context.Context, first chan<- error) {
	delay := backoffFirst
	for ctx.Err() == nil {
		began := time.Now()
		err := u.runOnce(ctx, first)
		if first != nil {
			first = nil
			if u.starts.Load() == 0 {
				return // runOnce reported the failed start
			}
		}
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > backoffReset {
			delay = backoffFirst
		}
		u.log.Warn("backend exited; restarting", "argv", u.argv, "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, backoffMax)
	}
	if first != nil {
		first <- ctx.Err()
	}
}

// runOnce runs one child until it exits or goes out of step. started, if
// not nil, is told whether the child started.
func (u *Stdio) runOnce(ctx context.Context, started chan<- error) error {
	report := func(err error) error {
		if started != nil {
			started <- err
		}
		return err
	}
	cmd := exec.CommandContext(ctx, u.argv[0], u.argv[1:]...)
	cmd.Stderr = u.stderr
	cmd.WaitDelay = time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return report(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return report(err)
	}
	if err := cmd.Start(); err != nil {
		return report(fmt.Errorf("jsonrpc: start %q: %w", u.argv[0], err))
	}
	u.starts.Add(1)
	if u.onStart != nil {
		u.onStart()
	}
	u.mu.Lock()
	u.stdin, u.child = stdin, cmd.Process
	u.mu.Unlock()
	report(nil)

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
func (u *Stdio) read(stdout io.Reader) error {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), MaxReply)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var m message
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

// Call writes one call to the child and waits for its response.
func (u *Stdio) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	id := u.nextID.Add(1)
	line, err := json.Marshal(newRequest(ctx, id, method, params))
	if err != nil {
		return nil, &core.Error{Code: codes.InvalidArgs, Message: "args cannot be encoded"}
	}
	ch := make(chan message, 1)
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
			u.log.Warn("backend stopped reading its stdin; killing it", "argv", u.argv)
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

func (u *Stdio) forget(id int64) {
	u.mu.Lock()
	delete(u.pending, id)
	u.mu.Unlock()
}
