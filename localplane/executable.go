package localplane

import (
	"fmt"
	"math"

	"github.com/jamsocket-go/jamsocket/types"
)

// Plane's controller takes the executable as any JSON and passes it on; only
// the drone parses it, while the backend is loading, into its executor
// config (plane common/src/types/mod.rs: cpu_period and cpu_time_limit are
// u64, cpu_period_percent is u8). A value those types cannot hold fails that
// parse, and the drone ends the backend terminated with no reason
// (drone/backend_manager.rs, the Loading step). The connect itself succeeds.
// Both surfaces of the local plane do the same: the official dev server
// passes resource_limits through to Plane unchanged
// (cli/src/dev-server/plane.ts).

// unreadableExecutable says why Plane's drone could not parse the
// executable of spec, or returns nil.
func unreadableExecutable(spec *spawnSpec) error {
	l := spec.limits
	if l == nil {
		return nil
	}
	switch {
	case l.CPUPeriod < 0:
		return fmt.Errorf("resource_limits.cpu_period %d is negative; Plane reads it as an unsigned number", l.CPUPeriod)
	case l.CPUTimeLimit < 0:
		return fmt.Errorf("resource_limits.cpu_time_limit %d is negative; Plane reads it as an unsigned number", l.CPUTimeLimit)
	case l.CPUPeriodPercent < 0 || l.CPUPeriodPercent > math.MaxUint8:
		return fmt.Errorf("resource_limits.cpu_period_percent %d is outside Plane's range 0-%d", l.CPUPeriodPercent, math.MaxUint8)
	}
	return nil
}

// neverRan is the terminated state of a backend whose start failed, after
// last: no reason, no kind and exit_error false, as Plane's drone records a
// backend that never ran (BackendState::to_terminated(None)).
func neverRan(last types.BackendStatus) state {
	noError := false
	return state{BackendState: types.BackendState{Status: types.StatusTerminated, ExitError: &noError}, lastStatus: last}
}
