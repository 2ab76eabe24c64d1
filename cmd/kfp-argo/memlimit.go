package main

import (
	"os"
	"runtime/debug"
)

// compileMemoryLimit is the Go runtime's soft memory limit while a pipeline is compiled (compile, lint), unless
// GOMEMLIMIT says otherwise. It is not a cap: near it the garbage collector runs more often, instead of letting
// the heap grow to twice what was live at the last collection (GOGC=100), which is what decides the peak of a
// large pipeline (a 10,000-task spec: about 100 MB live at most, a heap of up to 200 MB and more depending on
// when the collections fall). It trims that worst case for about the same CPU (docs/benchmarks.md). A
// pipeline that needs more still gets it, at more GC work (which the runtime caps at about half the CPU).
const compileMemoryLimit = 200 << 20

// limitMemory sets compileMemoryLimit; a limit set with GOMEMLIMIT wins (empty is unset, as for the runtime).
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(compileMemoryLimit)
	}
}
