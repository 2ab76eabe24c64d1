package main

import (
	"os"
	"runtime/debug"
)

// compileMemoryLimit is the Go runtime's soft memory limit while a pipeline is compiled (compile, lint), unless
// GOMEMLIMIT says otherwise. It is not a cap: near it the garbage collector runs more often, instead of letting
// the heap grow to twice what was live at the last collection (GOGC=100). Loading a 10,000-task spec (19 MB of
// YAML) holds about 160 MB live at its peak, and the heap then reaches 250-320 MB before the next collection;
// with the limit it stays near 200 MB for about the same CPU (docs/benchmarks.md). A pipeline that needs more
// still gets it, at more GC work (which the runtime caps at about half the CPU).
const compileMemoryLimit = 200 << 20

// limitMemory sets compileMemoryLimit; a limit set with GOMEMLIMIT wins (empty is unset, as for the runtime).
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(compileMemoryLimit)
	}
}
