package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestLimitMemory: compile sets its soft memory limit unless GOMEMLIMIT gives one.
func TestLimitMemory(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	for _, tc := range []struct {
		env  string
		want int64
	}{{"", compileMemoryLimit}, {"1GiB", math.MaxInt64}} {
		debug.SetMemoryLimit(math.MaxInt64)
		t.Setenv("GOMEMLIMIT", tc.env)
		limitMemory()
		if got := debug.SetMemoryLimit(-1); got != tc.want {
			t.Errorf("GOMEMLIMIT=%q: limit %d, want %d", tc.env, got, tc.want)
		}
	}
}
