package crypto

import (
	"testing"

	"github.com/isogate/isogate/internal/deptest"
)

// crypto/ is a trust boundary: it must not grow a dependency on the network,
// processes or the rest of isogate (doc.go).
func TestDependencies(t *testing.T) {
	deptest.Check(t, deptest.Rules{
		NoDeps:     []string{"net/http", "os/exec", "net"},
		OnlyModule: "github.com/isogate/isogate/crypto",
	})
}
