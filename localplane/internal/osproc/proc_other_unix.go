//go:build unix && !linux

package osproc

import (
	"errors"
	"syscall"
)

// sysProcAttr puts the child in a process group of its own. This OS has no
// parent-death signal: if this process is killed, the guard (which notices
// the end of its pipe) kills the group.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// applyLimits applies nothing: only Linux has prlimit.
func applyLimits(pid int, l Limits) error {
	if l != (Limits{}) {
		return errors.ErrUnsupported
	}
	return nil
}
