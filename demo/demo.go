// Package demo is the app `isogate demo` serves: a small web page, the policy
// a security team would write for it, and its Go command handlers. It uses
// only the public API of core, as any wrapping app would.
package demo

import (
	"context"
	"embed"
	"io/fs"

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

// Register adds the demo's command handlers to c.
func Register(c *core.Core) {
	core.Command(c, "demo.greet", func(_ context.Context, a greetArgs) (greeting, error) {
		return greeting{Greeting: "Hello, " + a.Name + "!"}, nil
	})
	// The policy denies demo.secret to every page; the handler exists to show
	// that a denied command never runs.
	core.Command(c, "demo.secret", func(context.Context, struct{}) (string, error) {
		return "the secret", nil
	})
}
