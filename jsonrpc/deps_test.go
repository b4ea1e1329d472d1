package jsonrpc

import (
	"testing"

	"github.com/isogate/isogate/internal/deptest"
)

// doc.go: a backend reaches the pages only through the core's Emitter; it
// never decides (policy) or opens frames (crypto) itself.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{
		NoImports: []string{"github.com/isogate/isogate/policy", "github.com/isogate/isogate/crypto", "github.com/isogate/isogate/isolation"},
		NoDeps:    []string{"github.com/isogate/isogate/desktop", "github.com/webview/webview_go"},
	})
}
