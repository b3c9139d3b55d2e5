package localplane

import (
	"fmt"
	"math"

	"github.com/jamsocket-go/jamsocket/types"
)

// The ranges the container runner applies resource limits in. Each is
// checked before any arithmetic, so that no product overflows: a quota that
// wrapped negative would be no CPU limit at all.
const (
	// minCPUPeriod and maxCPUPeriod are the CFS periods the engine accepts,
	// in microseconds (1 ms to 1 s).
	minCPUPeriod = 1_000
	maxCPUPeriod = 1_000_000
	// defaultCPUPeriod is Plane's period when the spawn gives none: 100 ms.
	defaultCPUPeriod = 100_000
	// maxCPUPeriodPercent is Plane's bound: the field is a u8 there.
	maxCPUPeriodPercent = math.MaxUint8
)

// checkResourceLimits refuses limits the container runner cannot apply as
// given: a CPU period outside what the engine accepts, a percentage outside
// Plane's 0..255. A refusal is a start failure, as on Plane's drone.
func checkResourceLimits(l *types.ResourceLimits) error {
	if l == nil {
		return nil
	}
	if p := l.CPUPeriod; p != 0 && (p < minCPUPeriod || p > maxCPUPeriod) {
		return fmt.Errorf("resource_limits.cpu_period %d is outside %d..%d (microseconds)", p, minCPUPeriod, maxCPUPeriod)
	}
	if p := l.CPUPeriodPercent; p < 0 || p > maxCPUPeriodPercent {
		return fmt.Errorf("resource_limits.cpu_period_percent %d is outside 0..%d", p, maxCPUPeriodPercent)
	}
	return nil
}

// cpuQuota is the CFS quota of limits that passed checkResourceLimits:
// percent of period (Plane's default period when 0), in microseconds; 0
// (no quota) when percent is 0. In those ranges the product is at most
// 255,000,000: it cannot overflow.
func cpuQuota(period, percent int64) int64 {
	if period == 0 {
		period = defaultCPUPeriod
	}
	return period * percent / 100
}
