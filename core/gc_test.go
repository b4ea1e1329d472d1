package core

import (
	"math"
	"runtime/debug"
	"testing"
)

// TuneGC leaves what the program set itself alone.
func TestTuneGC_KeepsTheProgramsOwnSettings(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))

	TuneGC()
	if got := debug.SetGCPercent(150); got != gcPercent {
		t.Fatalf("GOGC = %d after TuneGC on defaults, want %d", got, gcPercent)
	}
	debug.SetMemoryLimit(64 << 20)
	TuneGC() // GOGC is now 150 and the limit 64 MiB, both chosen by the program
	if got := debug.SetGCPercent(100); got != 150 {
		t.Fatalf("TuneGC replaced the program's GOGC 150 with %d", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 64<<20 {
		t.Fatalf("TuneGC replaced the program's memory limit with %d", got)
	}
}
