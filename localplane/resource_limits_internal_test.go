package localplane

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/types"
)

func TestCheckResourceLimits(t *testing.T) {
	for _, tc := range []struct {
		period, percent int64
		err             string
	}{
		{0, 0, ""},
		{0, 50, ""},
		{1_000, 255, ""},
		{1_000_000, 1, ""},
		{999, 50, "resource_limits.cpu_period 999 is outside 1000..1000000 (microseconds)"},
		{1_000_001, 50, "resource_limits.cpu_period 1000001 is outside 1000..1000000 (microseconds)"},
		{-100_000, 50, "resource_limits.cpu_period -100000 is outside 1000..1000000 (microseconds)"},
		{0, 92233720368548, "resource_limits.cpu_period_percent 92233720368548 is outside 0..255"},
		{100_000, 256, "resource_limits.cpu_period_percent 256 is outside 0..255"},
		{100_000, -1, "resource_limits.cpu_period_percent -1 is outside 0..255"},
	} {
		err := checkResourceLimits(&types.ResourceLimits{CPUPeriod: tc.period, CPUPeriodPercent: tc.percent})
		if tc.err == "" {
			assert.NoError(t, err, "%d %d", tc.period, tc.percent)
		} else {
			assert.EqualError(t, err, tc.err)
		}
	}
	assert.NoError(t, checkResourceLimits(nil))
}

// FuzzCPUQuota: whatever a spawn asks for, a quota is either refused or
// exactly percent of the period, never negative and never wrapped.
func FuzzCPUQuota(f *testing.F) {
	for _, seed := range [][2]int64{
		{0, 92233720368548}, {100_000, 50}, {50_000, 50}, {0, 0}, {1_000_000, 255},
		{math.MaxInt64, math.MaxInt64}, {math.MinInt64, -1}, {1 << 62, 100},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, period, percent int64) {
		err := checkResourceLimits(&types.ResourceLimits{CPUPeriod: period, CPUPeriodPercent: percent})
		inRange := (period == 0 || (period >= minCPUPeriod && period <= maxCPUPeriod)) &&
			percent >= 0 && percent <= maxCPUPeriodPercent
		require.Equal(t, inRange, err == nil, "period %d, percent %d: %v", period, percent, err)
		if err != nil {
			return
		}
		quota := cpuQuota(period, percent)
		effective := period
		if effective == 0 {
			effective = defaultCPUPeriod
		}
		want := new(big.Int).Mul(big.NewInt(effective), big.NewInt(percent))
		want.Quo(want, big.NewInt(100))
		require.Equal(t, want.Int64(), quota, "period %d, percent %d", period, percent)
		require.GreaterOrEqual(t, quota, int64(0))
	})
}
