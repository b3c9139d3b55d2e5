//go:build unix

package osproc

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// signalGroup sends SIGTERM or SIGKILL to the process's group, falling back to
// the process alone.
func signalGroup(p *os.Process, hard bool) {
	sig := syscall.SIGTERM
	if hard {
		sig = syscall.SIGKILL
	}
	if err := syscall.Kill(-p.Pid, sig); err != nil {
		p.Signal(sig)
	}
}

// killGroup kills whatever is left of the process group pgid and waits,
// briefly, until it is gone.
func killGroup(pgid int) {
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(-pgid, syscall.SIGKILL) == nil && time.Now().Before(deadline) {
		// Members that are not our children are reaped by init; poll until
		// the group is empty.
		time.Sleep(5 * time.Millisecond)
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
	}
}

// exitOf is how the process ended: its code, or 128+signal when a signal
// killed it.
func exitOf(ps *os.ProcessState, err error) Exit {
	if ps == nil {
		return Exit{Code: -1}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return Exit{Code: 128 + int(ws.Signal()), Signal: ws.Signal().String()}
	}
	return Exit{Code: ps.ExitCode()}
}
