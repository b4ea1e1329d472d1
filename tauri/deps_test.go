package tauri

import (
	"testing"

	"github.com/isogate/isogate/internal/deptest"
)

// The tauri package serves handlers in the core; it opens no window and
// starts no process.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{
		NoImports: []string{"os/exec"},
		NoDeps:    []string{"github.com/isogate/isogate/jsonrpc", "github.com/isogate/isogate/desktop", "github.com/webview/webview_go"},
	})
}
