package core_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"testing/fstest"

	"github.com/isogate/isogate/core"
	"github.com/isogate/isogate/jsonrpc"
	"github.com/isogate/isogate/policy"
)

type SaveArgs struct {
	Path string `json:"path"`
	Text string `json:"text"`
}

type SaveResult struct {
	Saved int `json:"saved"`
}

// Wrapping a built app: its policy directory decides every message, Go
// handlers answer the allowed commands, and the launch URL is what to open
// (the README's example).
func Example() {
	ctx := context.Background()
	p, err := policy.Load(ctx, os.DirFS("policy"))
	if err != nil {
		log.Fatal(err)
	}
	c, err := core.New(core.Config{App: os.DirFS("dist"), Policy: p})
	if err != nil {
		log.Fatal(err)
	}
	core.Command(c, "notes.save", func(ctx context.Context, a SaveArgs) (SaveResult, error) {
		caller, _ := core.CallerFrom(ctx) // the page: its session and window
		if a.Path == "" {
			return SaveResult{}, core.Errorf("a note needs a path (window %s)", caller.Window)
		}
		return SaveResult{Saved: len(a.Text)}, nil
	})
	fmt.Println(c.URL()) // with its launch token; c.OpenWindow("editor") for another window
	c.Serve(ctx)
}

// An existing JSON-RPC backend gets the allowed commands no Go handler
// answers; Serve starts it and stops it.
func ExampleConfig_upstream() {
	p, _ := policy.Load(context.Background(), os.DirFS("policy"))
	c, err := core.New(core.Config{
		App:      os.DirFS("dist"),
		Policy:   p,
		Upstream: jsonrpc.NewStdio([]string{"python3", "backend.py"}, os.Stderr, nil),
	})
	if err != nil {
		log.Fatal(err)
	}
	c.Serve(context.Background())
}

// Limits are checked at New: a negative one, or one past what the core can
// honour, is refused by name. Zero fields take the defaults.
func ExampleLimits_Validate() {
	p, _ := policy.Load(context.Background(), fstest.MapFS{"p.rego": {Data: []byte("package isogate\n")}})
	_, err := core.New(core.Config{App: fstest.MapFS{}, Policy: p, Limits: core.Limits{MaxDepth: -1}})
	var le *core.LimitError
	fmt.Println(errors.As(err, &le), le.Field)
	fmt.Println(core.DefaultLimits().MaxDepth)
	// Output:
	// true MaxDepth
	// 64
}
