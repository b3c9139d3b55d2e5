//go:build !unix

package localplane

import (
	"os"
	"os/exec"
)

// setProcessGroup does nothing where process groups are not available.
func setProcessGroup(cmd *exec.Cmd) {}

// signalGroup kills the process; without signals soft and hard are the same.
func signalGroup(p *os.Process, hard bool) { p.Kill() }

// killGroup does nothing where process groups are not available.
func killGroup(pgid int) {}

// exitCode is the process's exit code.
func exitCode(ps *os.ProcessState, err error) int {
	if ps == nil {
		return -1
	}
	return ps.ExitCode()
}
