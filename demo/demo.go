// Package demo is the app `isogate demo` serves: a small web page, the policy
// a security team would write for it, and its Go handlers. It uses only the
// public API of core, as any wrapping app would.
package demo

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/isogate/isogate/core"
)

//go:embed app
var appFS embed.FS

//go:embed policy
var policyFS embed.FS

// App is the demo's built web app.
func App() fs.FS { sub, _ := fs.Sub(appFS, "app"); return sub }

// Policy is the demo's policy directory.
func Policy() fs.FS { sub, _ := fs.Sub(policyFS, "policy"); return sub }

type greetArgs struct {
	Name string `json:"name"`
}

type greeting struct {
	Greeting string `json:"greeting"`
}

type noteArgs struct {
	Path string `json:"path"`
	Text string `json:"text"`
}

// Register adds the demo's handlers to c and starts its tick; notesDir is
// the folder the notes commands work in (the policy confines them to it).
func Register(ctx context.Context, c *core.Core, notesDir string) error {
	root, err := os.OpenRoot(notesDir) // a second line: the handler cannot leave the folder either
	if err != nil {
		return err
	}
	core.Command(c, "demo.greet", func(_ context.Context, a greetArgs) (greeting, error) {
		return greeting{Greeting: Greet(a.Name)}, nil
	})
	// The policy denies demo.secret to every page; the handler exists to show
	// that a denied command never runs.
	core.Command(c, "demo.secret", func(context.Context, struct{}) (string, error) {
		return "the secret", nil
	})
	core.Command(c, "demo.notes.list", func(context.Context, struct{}) ([]string, error) {
		entries, err := fs.ReadDir(root.FS(), ".")
		if err != nil {
			return nil, err
		}
		names := []string{}
		for _, e := range entries {
			if !e.IsDir() {
				names = append(names, e.Name())
			}
		}
		slices.Sort(names)
		return names, nil
	})
	core.Command(c, "demo.notes.read", func(_ context.Context, a noteArgs) (string, error) {
		b, err := root.ReadFile(a.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return "", core.Errorf("no note named %q", a.Path)
		}
		return string(b), err
	})
	core.Command(c, "demo.notes.write", func(_ context.Context, a noteArgs) (struct{}, error) {
		return struct{}{}, root.WriteFile(a.Path, []byte(a.Text), 0o600)
	})
	// Binary in and out: raw bytes on the wire, no base64.
	c.Handle("demo.bytes.invert", func(_ context.Context, args any) (any, error) {
		in, _ := args.(map[string]any)["data"].([]byte)
		return map[string]any{"data": Invert(in)}, nil
	})
	var clicks atomic.Int64
	core.Subscribe(c, "demo.clicked", func(_ context.Context, p struct {
		Button string `json:"button"`
	}) error {
		c.Emit("demo.clicks", map[string]any{"count": clicks.Add(1), "last": p.Button})
		return nil
	})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				c.Emit("demo.tick", map[string]any{"n": n, "time": now.UTC().Format(time.RFC3339)})
			}
		}
	}()
	return nil
}

// API is the demo's own small HTTP API, which isogate demo mounts under
// /api behind the gate (in process, no socket): the page calls it with
// plain fetch, and the policy decides each request like any message.
func API(notesDir string) http.Handler {
	started := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		entries, _ := os.ReadDir(notesDir)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"notes": len(entries), "uptime_s": int(time.Since(started).Seconds())})
	})
	mux.HandleFunc("DELETE /api/notes/{name}", func(w http.ResponseWriter, r *http.Request) {
		// Never reached from the page: the policy denies it. Were it
		// reached, it would only say so.
		http.Error(w, "the demo deletes nothing", http.StatusMethodNotAllowed)
	})
	return mux
}

// NotesDir makes the demo's notes folder under dir with a first note in it.
func NotesDir(dir string) (string, error) {
	notes := filepath.Join(dir, "notes")
	if err := os.MkdirAll(notes, 0o700); err != nil {
		return "", err
	}
	welcome := filepath.Join(notes, "welcome.txt")
	if _, err := os.Stat(welcome); errors.Is(err, fs.ErrNotExist) {
		os.WriteFile(welcome, []byte("Notes live in the demo's own folder. The policy refuses any path outside it.\n"), 0o600)
	}
	return notes, nil
}

// Greet is demo.greet's answer.
func Greet(name string) string { return "Hello, " + name + "!" }

// Invert is demo.bytes.invert's answer: every bit flipped.
func Invert(in []byte) []byte {
	out := make([]byte, len(in))
	for i, b := range in {
		out[i] = ^b
	}
	return out
}
