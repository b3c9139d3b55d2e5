//go:build !unix

package osproc

import (
	"errors"
	"os"
	"syscall"
)

// sysProcAttr is nil: this OS has neither process groups nor parent-death
// signals, so a backend's own children, and a backend of a plane that is
// killed, are not cleaned up.
func sysProcAttr() *syscall.SysProcAttr { return nil }

func applyLimits(pid int, l Limits) error {
	if l != (Limits{}) {
		return errors.ErrUnsupported
	}
	return nil
}

// signalGroup kills the process; without signals soft and hard are the same.
func signalGroup(p *os.Process, hard bool) { p.Kill() }

func killGroup(pgid int) {}

func guard(pgid int)   {}
func unguard(pgid int) {}

func exitOf(ps *os.ProcessState, err error) Exit {
	if ps == nil {
		return Exit{Code: -1}
	}
	return Exit{Code: ps.ExitCode()}
}
