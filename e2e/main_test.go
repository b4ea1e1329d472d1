// Package e2e runs the isogate binary as a child process and drives it from
// Debian's headless Chromium: the whole path, real parts only.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var binary string

func TestMain(m *testing.M) {
	if os.Getenv(echoChild) != "" {
		serveEcho() // a child process of a benchmark: never returns
	}
	dir, err := os.MkdirTemp("", "isogate-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "isogate")
	if out, err := exec.Command("go", "build", "-o", binary, "../cmd/isogate").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build isogate: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// chromiumPath finds Debian's chromium. make test sets ISOGATE_REQUIRE_BROWSER
// so that a missing browser fails instead of skipping.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("ISOGATE_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if os.Getenv("ISOGATE_REQUIRE_BROWSER") != "" {
		t.Fatal("chromium not found and ISOGATE_REQUIRE_BROWSER is set")
	}
	t.Skip("chromium not installed (make test installs it)")
	return ""
}

// proc is a running isogate child.
type proc struct {
	cmd    *exec.Cmd
	URL    string // the launch URL, with its token
	Origin string // the app's address without the token, ending in "/"
	stderr *syncBuffer

	decisionLog string // set by startLogged
}

// syncBuffer collects the child's stderr while tests read it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// decisions counts the decisions logged for name in the decision log. The
// core logs a decision before it answers, and decides a session's messages
// in order: once a page has the reply to a call, every message it sent
// before that call which reached the core is counted. Nothing here waits
// for the log to "settle".
func (p *proc) decisions(t *testing.T, name string) int {
	t.Helper()
	if p.decisionLog == "" {
		t.Fatal("isogate was not started with a decision log (startLogged)")
	}
	b, err := os.ReadFile(p.decisionLog)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		var d struct{ Name string }
		if json.Unmarshal([]byte(line), &d) == nil && d.Name == name {
			n++
		}
	}
	return n
}

// startLogged is startIsogate with a decision log the test can count.
func startLogged(t *testing.T, args ...string) *proc {
	t.Helper()
	path := filepath.Join(t.TempDir(), "decisions.jsonl")
	p := startIsogate(t, append(args, "--decision-log", path)...)
	p.decisionLog = path
	return p
}

// startIsogate runs `isogate args...` with no display (browser mode) and
// waits for the URL line.
func startIsogate(t *testing.T, args ...string) *proc {
	t.Helper()
	return startProc(t, append(os.Environ(), "DISPLAY="), args...)
}

// startProc runs isogate with env and waits for the URL line.
func startProc(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("isogate stderr:\n%s", p.stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL line from isogate: %v\n%s", err, p.stderr.String())
	}
	p.URL = strings.TrimSpace(line)
	if !strings.HasPrefix(p.URL, "http://127.0.0.1:") {
		t.Fatalf("first stdout line %q is not the app URL", p.URL)
	}
	p.Origin, _, _ = strings.Cut(p.URL, "?")
	return p
}

// windowURL waits for the launch URL of window label on stderr.
func (p *proc) windowURL(t *testing.T, label string) string {
	t.Helper()
	prefix := "window " + label + ": "
	var u string
	eventually(t, "the URL of window "+label, func() bool {
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			if strings.HasPrefix(line, prefix) {
				u = strings.TrimPrefix(line, prefix)
				return true
			}
		}
		return false
	})
	return u
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop(t *testing.T) int {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("isogate did not exit after SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode()
}

// browser starts a fresh headless Chromium and returns a tab context.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
	)
	opts = append(opts, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, 90*time.Second) // a hang fails the test instead of CI
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	return ctx
}

// eval runs an expression in the page, awaiting a promise.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

// openApp navigates to url and waits for window.isogate to be ready. On the
// demo page it also waits for what the page does by itself on load (greet,
// listen, notes, the attack panel), so tests can count what they cause.
func openApp(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	eval[bool](t, ctx, `isogate.ready.then(() => new Promise((resolve) => {
	  const settled = () => !document.getElementById('attacks') || document.querySelectorAll('#attacks td.pill').length === 9;
	  const poll = () => settled() ? resolve(true) : setTimeout(poll, 50);
	  poll();
	}))`)
}
