// Package deptest holds a package to the dependency claims its doc.go
// makes, in the manner of Tailscale's tstest/deptest: a test per package
// lists what it must not import, directly or at any depth, and `go list`
// says what it does.
package deptest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// Rules are one package's claims.
type Rules struct {
	// NoImports are packages it must not import itself (others it uses may).
	NoImports []string
	// NoDeps are packages, or module prefixes ending in "/...", it must not
	// depend on at any depth.
	NoDeps []string
	// OnlyModule, if set, allows no dependency outside the standard library
	// but packages under this prefix.
	OnlyModule string
}

// Check runs `go list` on the package in the test's directory and reports
// every claim it breaks.
func Check(t *testing.T, r Rules) {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkg struct {
		ImportPath string
		Imports    []string
		Deps       []string
	}
	if err := json.Unmarshal(out, &pkg); err != nil {
		t.Fatal(err)
	}
	if len(pkg.Deps) == 0 {
		t.Fatalf("go list found no dependencies of %s", pkg.ImportPath)
	}
	for _, imp := range pkg.Imports {
		for _, bad := range r.NoImports {
			if imp == bad {
				t.Errorf("%s imports %s", pkg.ImportPath, imp)
			}
		}
	}
	for _, dep := range pkg.Deps {
		for _, bad := range r.NoDeps {
			if dep == bad || strings.HasSuffix(bad, "/...") && strings.HasPrefix(dep, strings.TrimSuffix(bad, "...")) {
				t.Errorf("%s depends on %s", pkg.ImportPath, dep)
			}
		}
		if r.OnlyModule != "" && strings.Contains(strings.SplitN(dep, "/", 2)[0], ".") && !strings.HasPrefix(dep, r.OnlyModule) {
			t.Errorf("%s depends on %s, outside %s", pkg.ImportPath, dep, r.OnlyModule)
		}
	}
}
