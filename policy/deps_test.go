package policy

import (
	"testing"

	"github.com/isogate/isogate/internal/deptest"
)

// doc.go: the package imports neither net/http, os/exec nor anything of the
// core. (OPA itself links net/http for http.send, which the capabilities
// remove.)
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{
		NoImports: []string{"net/http", "os/exec", "net"},
		NoDeps: []string{"github.com/isogate/isogate/core", "github.com/isogate/isogate/isolation",
			"github.com/isogate/isogate/crypto", "github.com/isogate/isogate/jsonrpc", "github.com/isogate/isogate/desktop"},
	})
}
