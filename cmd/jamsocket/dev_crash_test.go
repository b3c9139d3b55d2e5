//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDevLeavesNoProcess runs `jamsocket dev` as a real process (the test
// binary as the jamsocket command), spawns a backend that starts a child of
// its own, stops the dev server with a signal, and checks by pid that
// neither the backend nor its child survives: SIGKILL (no cleanup code
// runs: the parent-death signal and the guard do it), and SIGHUP and
// SIGQUIT, which shut down like Ctrl-C.
func TestDevLeavesNoProcess(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], mainArg, "dev", "--json",
				"--api-addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0", "--",
				os.Args[0], devBackendArg, "grandchild")
			cmd.Env = append(os.Environ(), "JAMSOCKET_TOKEN=hosted-secret")
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			t.Cleanup(func() {
				cmd.Process.Kill()
				cmd.Wait()
			})
			next := devEvents(t, stdout, &stderr)

			listening := next(func(e devEvent) bool { return e.Type == "listening" })
			resp, err := http.Post(listening.APIURL+"/v2/service/-/-/connect", "application/json", strings.NewReader(`{"key":"crash"}`))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)

			var backendPID, grandchildPID int
			for backendPID == 0 || grandchildPID == 0 {
				e := next(func(e devEvent) bool {
					return (e.Type == "status" && e.PID != 0) || (e.Type == "output" && strings.HasPrefix(e.Line, "grandchild pid="))
				})
				if e.Type == "status" {
					backendPID = e.PID
				} else {
					grandchildPID, err = strconv.Atoi(strings.TrimPrefix(e.Line, "grandchild pid="))
					require.NoError(t, err)
				}
			}
			require.True(t, alive(backendPID) && alive(grandchildPID))

			require.NoError(t, cmd.Process.Signal(sig))
			err = cmd.Wait()
			if sig != syscall.SIGKILL {
				assert.NoError(t, err, "a clean shutdown; stderr: %s", stderr.String())
			}
			// The kernel and the guard act after the dev server is gone;
			// poll until they have (or give up).
			assert.Eventually(t, func() bool { return !alive(backendPID) && !alive(grandchildPID) },
				10*time.Second, 10*time.Millisecond, "backend %d and its child %d are gone", backendPID, grandchildPID)
		})
	}
}

// alive reports whether pid runs (a zombie does not count).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}
