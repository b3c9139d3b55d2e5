package localplane

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// processAlive reports whether a process with this pid exists (EPERM: it
// exists but is someone else's).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// processStart is the start time of process pid, in clock ticks since boot
// (field 22 of /proc/PID/stat), or "" if unreadable. With the pid it names
// one process, even after its pid is reused.
func processStart(pid int) string {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return ""
	}
	fields := bytes.Fields(stat[i+1:])
	if len(fields) < 20 {
		return ""
	}
	return string(fields[19]) // fields after the name start at field 3
}

// bootID is the kernel's id of this boot, new at every boot, or "" if
// unreadable.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// pidNamespace names this process's PID namespace ("pid:[4026531836]"), or
// "" if unreadable.
func pidNamespace() string {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return ns
}
