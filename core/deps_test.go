package core

import (
	"testing"

	"github.com/isogate/isogate/internal/deptest"
)

// doc.go: the core starts no processes (backends are package jsonrpc's),
// opens no window (package desktop) and holds no CLI.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{
		NoImports: []string{"os/exec"},
		NoDeps: []string{"github.com/isogate/isogate/jsonrpc", "github.com/isogate/isogate/desktop",
			"github.com/isogate/isogate/cmd/...", "github.com/webview/webview_go"},
	})
}
