package core

import (
	"os"
	"runtime/debug"
)

// GC settings for a process that runs a core, unless its environment sets
// its own (GOGC, GOMEMLIMIT). A core keeps a few MiB live and allocates a
// little per message, so Go's default (collect when the heap has doubled)
// collects several times a second under load; at 400% it collects a quarter
// as often (P4 measured 40% more messages per second, and a shorter tail),
// and the soft limit makes it collect harder before a burst of large binary
// payloads could grow the heap far.
const (
	gcPercent   = 400
	memoryLimit = 512 << 20
)

// TuneGC applies those settings. The isogate binary calls it at start; a
// program embedding a core may, or may leave its own.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}
