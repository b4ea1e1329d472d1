//go:build cgo && !nodesktop

package desktop

/*
#cgo pkg-config: gtk+-3.0 webkit2gtk-4.0
#include <gtk/gtk.h>
#include <webkit2/webkit2.h>
#include <signal.h>
#include <stdio.h>

static int isogate_display_ok(void) {
	return gtk_init_check(NULL, NULL) ? 1 : 0;
}

static void isogate_webkit_version(char *buf, size_t n) {
	snprintf(buf, n, "%u.%u.%u", webkit_get_major_version(), webkit_get_minor_version(), webkit_get_micro_version());
}

// isogate_unstacked writes into out the signals (1..31) whose handler lacks
// SA_ONSTACK and returns how many there are.
static int isogate_unstacked(int *out) {
	int n = 0;
	for (int s = 1; s < 32; s++) {
		struct sigaction sa;
		if (sigaction(s, NULL, &sa) != 0) continue;
		if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN) continue;
		if (!(sa.sa_flags & SA_ONSTACK)) out[n++] = s;
	}
	return n;
}

// isogate_fix_signals adds SA_ONSTACK to every handler that lacks it, as
// JavaScriptCore's do (seen: SIGUSR1 and SIGXCPU; reported: SIGSEGV and
// SIGBUS). It returns how many it changed.
static int isogate_fix_signals(void) {
	int sigs[32];
	int n = isogate_unstacked(sigs), changed = 0;
	for (int i = 0; i < n; i++) {
		struct sigaction sa;
		if (sigaction(sigs[i], NULL, &sa) != 0) continue;
		sa.sa_flags |= SA_ONSTACK;
		if (sigaction(sigs[i], &sa, NULL) == 0) changed++;
	}
	return changed;
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	webview "github.com/webview/webview_go"
)

// Available reports whether a window can be opened here: a display that
// GTK can open.
func Available() bool {
	return C.isogate_display_ok() == 1
}

// WebKitVersion is the version of the WebKitGTK library linked in.
func WebKitVersion() string {
	var buf [32]C.char
	C.isogate_webkit_version(&buf[0], C.size_t(len(buf)))
	return C.GoString(&buf[0])
}

// FixSignals restores SA_ONSTACK on handlers installed without it and
// returns how many it changed.
func FixSignals() int { return int(C.isogate_fix_signals()) }

// Unstacked lists the signals whose handler lacks SA_ONSTACK: a Go signal
// arriving through one of them kills the process.
func Unstacked() []int {
	var buf [32]C.int
	n := int(C.isogate_unstacked(&buf[0]))
	out := make([]int, n)
	for i := range out {
		out[i] = int(buf[i])
	}
	return out
}

// Window describes the window to open.
type Window struct {
	Label         string // names it to Controls
	URL           string
	Title         string
	Width, Height int
	Debug         bool // enable the web inspector
}

// Run opens the windows, all in this process on one GTK loop, and runs the
// loop until the user closes the last of them or ctx is done. It must be
// called from the main goroutine (webview_go locks it to the main thread).
// Check Available first.
func Run(ctx context.Context, windows ...Window) error { return RunWith(ctx, nil, windows...) }

// RunWith is Run with ctl (if not nil) acting on the windows while they
// are open.
func RunWith(ctx context.Context, ctl *Controls, windows ...Window) error {
	if !Available() {
		return ErrNoDisplay
	}
	if len(windows) == 0 {
		return nil
	}
	var wv webview.WebView
	for i, w := range windows {
		v := webview.New(w.Debug)
		defer v.Destroy()
		v.SetTitle(w.Title)
		v.SetSize(w.Width, w.Height, webview.HintNone)
		v.Navigate(w.URL)
		if i == 0 {
			wv = v // webview_go ends the loop when its last window is closed
		}
		if ctl != nil {
			ctl.add(w, v, i == 0)
			defer ctl.remove(w.Label)
		}
	}

	done := make(chan struct{})
	defer close(done)
	go guardSignals(done)
	go func() {
		select {
		case <-ctx.Done():
			wv.Dispatch(wv.Terminate)
		case <-done:
		}
	}()
	wv.Run()
	return nil
}

// guardSignals re-applies SA_ONSTACK while the window lives: JavaScriptCore
// installs its handlers when it first runs, which is after the page starts
// loading, and may again for new frames. Often at first, then slowly.
func guardSignals(done <-chan struct{}) {
	FixSignals()
	for i := 0; ; i++ {
		wait := 50 * time.Millisecond
		if i > 200 {
			wait = time.Second
		}
		select {
		case <-done:
			return
		case <-time.After(wait):
			FixSignals()
		}
	}
}

// Controls acts on open windows by label, for the window calls a Tauri
// frontend makes: their title and size (webview_go has no getters, so
// these are what was last set), and closing the first window, which ends
// the loop as closing it by hand does.
type Controls struct {
	mu   sync.Mutex
	wins map[string]*controlled
}

type controlled struct {
	v     webview.WebView
	first bool
	title string
	w, h  int
}

// NewControls returns controls for the windows RunWith will open.
func NewControls() *Controls { return &Controls{wins: map[string]*controlled{}} }

func (c *Controls) add(w Window, v webview.WebView, first bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wins[w.Label] = &controlled{v: v, first: first, title: w.Title, w: w.Width, h: w.Height}
}

func (c *Controls) remove(label string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.wins, label)
}

func (c *Controls) get(label string) (*controlled, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w, ok := c.wins[label]; ok {
		return w, nil
	}
	return nil, fmt.Errorf("no open window %q", label)
}

// Title is the window's title.
func (c *Controls) Title(label string) (string, error) {
	w, err := c.get(label)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return w.title, nil
}

// SetTitle sets the window's title, on the GTK loop.
func (c *Controls) SetTitle(label, title string) error {
	w, err := c.get(label)
	if err != nil {
		return err
	}
	c.mu.Lock()
	w.title = title
	c.mu.Unlock()
	w.v.Dispatch(func() { w.v.SetTitle(title) })
	return nil
}

// Size is the window's inner size.
func (c *Controls) Size(label string) (int, int, error) {
	w, err := c.get(label)
	if err != nil {
		return 0, 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return w.w, w.h, nil
}

// SetSize sets the window's inner size, on the GTK loop.
func (c *Controls) SetSize(label string, width, height int) error {
	if width <= 0 || height <= 0 || width > 1<<15 || height > 1<<15 {
		return fmt.Errorf("a window of %dx%d", width, height)
	}
	w, err := c.get(label)
	if err != nil {
		return err
	}
	c.mu.Lock()
	w.w, w.h = width, height
	c.mu.Unlock()
	w.v.Dispatch(func() { w.v.SetSize(width, height, webview.HintNone) })
	return nil
}

// Close closes the first window, which ends the loop; other windows stay
// until it closes.
func (c *Controls) Close(label string) error {
	w, err := c.get(label)
	if err != nil {
		return err
	}
	if !w.first {
		return errors.New("only the first window can be closed")
	}
	w.v.Dispatch(w.v.Terminate)
	return nil
}
