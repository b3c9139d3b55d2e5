package osproc

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts the child in a process group of its own, so that the
// whole group can be signalled, and gives it SIGKILL as its parent-death
// signal: when this process dies, however it dies, the kernel kills the
// child. (Its own children get no such signal; the guard kills the group.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// applyLimits sets the rlimits of pid with prlimit(2). The process runs
// briefly before they apply.
func applyLimits(pid int, l Limits) error {
	var errs []error
	for _, lim := range []struct {
		resource int
		value    int64
	}{
		{unix.RLIMIT_AS, l.MemoryBytes},
		{unix.RLIMIT_CPU, l.CPUSeconds},
		{unix.RLIMIT_FSIZE, l.FileBytes},
	} {
		if lim.value <= 0 {
			continue
		}
		rl := unix.Rlimit{Cur: uint64(lim.value), Max: uint64(lim.value)}
		if err := unix.Prlimit(pid, lim.resource, &rl, nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
