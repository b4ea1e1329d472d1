package httpapi

import (
	"testing"

	"github.com/isogate/isogate/internal/deptest"
)

// The HTTP API gate decides nothing and holds no keys: no policy, crypto
// or core.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{
		NoDeps: []string{"github.com/isogate/isogate/core", "github.com/isogate/isogate/policy", "github.com/isogate/isogate/crypto", "os/exec"},
	})
}
