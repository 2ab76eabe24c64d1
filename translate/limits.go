package translate

import (
	"fmt"
	"math"
)

// int32In converts an IR or flag number that Argo or Kubernetes stores as int32, refusing what would wrap
// (2147483648 becoming -2147483648) or fall outside [lo, hi].
func int32In(v float64, lo, hi int64, what string) (int32, error) {
	if math.IsNaN(v) || v < float64(lo) || v > float64(hi) || hi > math.MaxInt32 || lo < math.MinInt32 {
		return 0, fmt.Errorf("%s %v: expected %d to %d", what, v, lo, hi)
	}
	return int32(v), nil
}
