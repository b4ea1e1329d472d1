package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"isogate": main})
}

// TestScripts runs the CLI scripts in testdata/script (txtar files: the
// commands, their expected output and the files they use).
func TestScripts(t *testing.T) {
	entries, _ := os.ReadDir("testdata/script")
	if len(entries) == 0 {
		t.Fatal("no scripts in testdata/script")
	}
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}
