package localplane

import (
	"syscall"
	"unsafe"
)

// applyLimits applies the backend's resource limits to the started process
// with prlimit(2): memory_limit_bytes as RLIMIT_AS, cpu_time_limit as
// RLIMIT_CPU and disk_limit_bytes as RLIMIT_FSIZE. CPU shares have no rlimit
// and are only logged. The process runs briefly before the limits apply.
func applyLimits(b *backend, pid int) {
	l := b.spec.limits
	if l == nil {
		return
	}
	log := b.srv.log.With("backend", b.id)
	for _, lim := range []struct {
		name     string
		resource int
		value    int64
	}{
		{"memory_limit_bytes", syscall.RLIMIT_AS, l.MemoryLimitBytes},
		{"cpu_time_limit", syscall.RLIMIT_CPU, l.CPUTimeLimit},
		{"disk_limit_bytes", syscall.RLIMIT_FSIZE, l.DiskLimitBytes},
	} {
		if lim.value <= 0 {
			continue
		}
		if err := prlimit(pid, lim.resource, uint64(lim.value)); err != nil {
			log.Warn("resource limit not applied", "limit", lim.name, "err", err)
		}
	}
	if l.CPUPeriod > 0 || l.CPUPeriodPercent > 0 {
		log.Info("resource limit not applied locally", "limit", "cpu_period_percent")
	}
}

type rlimit struct{ cur, max uint64 }

func prlimit(pid, resource int, value uint64) error {
	lim := rlimit{cur: value, max: value}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(resource),
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
