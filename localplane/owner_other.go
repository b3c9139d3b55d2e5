//go:build unix && !linux

package localplane

import (
	"errors"
	"os"
	"syscall"
)

// processAlive reports whether a process with this pid exists.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// processStart is unknown here: the pid alone names the owner.
func processStart(int) string { return "" }
