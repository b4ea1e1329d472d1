package crypto

import (
	"os/exec"
	"strings"
	"testing"
)

// crypto/ is a trust boundary: it must not grow a dependency on the network,
// processes or the rest of isogate.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "net/http" || dep == "os/exec" || (strings.HasPrefix(dep, "github.com/") && dep != "github.com/isogate/isogate/crypto") {
			t.Errorf("crypto depends on %s", dep)
		}
	}
}
