package localplane_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// TestContainerCPUQuotaNeverOverflows: cpu_period_percent 92233720368548
// made a quota that wrapped negative, which the engine takes for no CPU
// limit at all. Limits are range-checked before any arithmetic, and a
// spawn asking for what cannot be applied fails to start, as on Plane's
// drone (where the percentage is a u8).
func TestContainerCPUQuotaNeverOverflows(t *testing.T) {
	p, cli := startContainerPlane(t, localplane.Config{})
	for _, tc := range []struct {
		limits map[string]any
		reason string
	}{
		{map[string]any{"cpu_period_percent": 92233720368548}, "resource_limits.cpu_period_percent 92233720368548 is outside"},
		{map[string]any{"cpu_period": int64(1) << 60, "cpu_period_percent": 100}, "resource_limits.cpu_period 1152921504606846976 is outside 1000..1000000"},
		{map[string]any{"cpu_period": 999, "cpu_period_percent": 50}, "resource_limits.cpu_period 999 is outside 1000..1000000"},
	} {
		res := p.connect(map[string]any{"spawn": map[string]any{"executable": map[string]any{"resource_limits": tc.limits}}})
		assert.Contains(t, failedStart(t, p, cli, res.BackendID), tc.reason)
	}
}
