package core

import (
	"math"
	"os"
	"runtime/debug"
)

// GC settings for a process that runs a core. A core keeps a few MiB live
// and allocates a little per message, so Go's default (collect when the
// heap has doubled) collects several times a second under load; at 400% it
// collects a quarter as often (P4 measured about 40% more messages per
// second). The soft limit makes it collect harder before bursts of large
// binary payloads could grow the heap far.
const (
	gcPercent   = 400
	memoryLimit = 1 << 30
)

// TuneGC applies those settings where nothing else chose: GOGC and
// GOMEMLIMIT in the environment, or values the program set itself, win. No
// limit is added when the collector is off. The isogate binary calls it at
// start; a program embedding a core may, or may leave its own settings.
func TuneGC() {
	gogc := os.Getenv("GOGC")
	if gogc == "" {
		if prev := debug.SetGCPercent(gcPercent); prev != 100 {
			debug.SetGCPercent(prev) // the program chose its own
		}
	}
	if os.Getenv("GOMEMLIMIT") == "" && gogc != "off" && debug.SetMemoryLimit(-1) == math.MaxInt64 {
		debug.SetMemoryLimit(memoryLimit)
	}
}
