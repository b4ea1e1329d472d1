package isolation

import (
	"testing"

	"github.com/isogate/isogate/internal/deptest"
)

// doc.go: it holds no keys and decides nothing: no crypto, policy or core.
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{
		NoImports:  []string{"os/exec"},
		NoDeps:     []string{"github.com/isogate/isogate/crypto", "github.com/isogate/isogate/policy", "github.com/isogate/isogate/core", "os/exec"},
		OnlyModule: "github.com/isogate/isogate/isolation",
	})
}
