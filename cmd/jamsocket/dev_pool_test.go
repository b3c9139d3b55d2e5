//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/dockertest"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// startDevProcess runs `jamsocket dev --json` on free ports as a real
// process (the test binary as the jamsocket command), with args and env
// added to the test's; it is killed when the test ends. next reads its
// events.
func startDevProcess(t *testing.T, env []string, args ...string) (cmd *exec.Cmd, stderr *bytes.Buffer, next func(func(devEvent) bool) devEvent) {
	t.Helper()
	args = append([]string{mainArg, "dev", "--json", "--api-addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0"}, args...)
	cmd = exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr = new(bytes.Buffer)
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, stderr, devEvents(t, stdout, stderr)
}

// TestDevWarmPoolLeavesNoProcess runs `jamsocket dev --warm-pool 2` as a
// real process, has a connect take a warm backend, and stops the server
// with SIGKILL, SIGTERM and SIGINT: no backend, warm or assigned, survives.
func TestDevWarmPoolLeavesNoProcess(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			pids := t.TempDir()
			cmd, stderr, next := startDevProcess(t, []string{"DEVTEST_PIDS=" + pids}, "--warm-pool", "2", "--env-pass", "DEVTEST_PIDS",
				"--", os.Args[0], devBackendArg, "warm")
			full := func(e devEvent) bool { return e.Type == "warm_pool" && e.WarmPool.Ready == 2 }

			listening := next(func(e devEvent) bool { return e.Type == "listening" })
			next(full)
			code, body := devConnect(t, listening.APIURL, "k")
			require.Equal(t, http.StatusOK, code, string(body))
			var res types.ConnectResponse
			require.NoError(t, json.Unmarshal(body, &res))
			ready := next(func(e devEvent) bool { return e.Type == "status" && e.Status == "ready" })
			assert.Equal(t, res.BackendID, ready.BackendID)
			next(full)

			entries, err := os.ReadDir(pids)
			require.NoError(t, err)
			require.Len(t, entries, 3, "two warm backends, one of them taken, and the one that replaced it")
			var all []int
			for _, e := range entries {
				pid, err := strconv.Atoi(e.Name())
				require.NoError(t, err)
				require.True(t, alive(pid))
				all = append(all, pid)
			}
			assert.Contains(t, all, ready.PID, "the connect took a warm backend")

			require.NoError(t, cmd.Process.Signal(sig))
			err = cmd.Wait()
			if sig != syscall.SIGKILL {
				assert.NoError(t, err, "a clean shutdown; stderr: %s", stderr.String())
			}
			assert.Eventually(t, func() bool {
				for _, pid := range all {
					if alive(pid) {
						return false
					}
				}
				return true
			}, 10*time.Second, 10*time.Millisecond, "every backend is gone: %v", all)
		})
	}
}

// TestDevWarmPoolContainersLeaveNothing: `jamsocket dev --image
// --warm-pool` removes its warm containers on SIGTERM; killed with
// SIGKILL, it leaves them, and the next dev server removes them.
func TestDevWarmPoolContainersLeaveNothing(t *testing.T) {
	cli := dockertest.Client(t)
	image := dockertest.GoImage(t, cli, "github.com/jamsocket-go/jamsocket/internal/dockertest/warmbackend")
	start := func() (*exec.Cmd, func(func(devEvent) bool) devEvent) {
		cmd, _, next := startDevProcess(t, nil, "--no-interactive", "--image", image, "--warm-pool", "1")
		next(func(e devEvent) bool { return e.Type == "listening" })
		next(func(e devEvent) bool { return e.Type == "warm_pool" && e.WarmPool.Ready == 1 })
		return cmd, next
	}
	mine := func(cmd *exec.Cmd) []string {
		list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{
			All: true, Filters: client.Filters{}.Add("label", localplane.LabelOwnerPID+"="+strconv.Itoa(cmd.Process.Pid)),
		})
		require.NoError(t, err)
		var ids []string
		for _, c := range list.Items {
			ids = append(ids, c.ID)
		}
		return ids
	}

	first, _ := start()
	require.Len(t, mine(first), 1, "the warm container")
	require.NoError(t, first.Process.Signal(syscall.SIGTERM))
	require.NoError(t, first.Wait())
	assert.Empty(t, mine(first), "SIGTERM removes the warm container")

	second, _ := start()
	left := mine(second)
	require.Len(t, left, 1)
	require.NoError(t, second.Process.Signal(syscall.SIGKILL))
	_ = second.Wait()
	require.Len(t, mine(second), 1, "a killed server cannot remove its container")

	start()
	_, err := cli.ContainerInspect(context.Background(), left[0], client.ContainerInspectOptions{})
	assert.Error(t, err, "the next server removed the killed one's warm container")
}

func TestWarmPoolLine(t *testing.T) {
	assert.Empty(t, warmPoolLine(localplane.WarmPoolView{}), "no pool, no line")
	assert.Equal(t, "Warm pool: 1 ready, 2 warming (of 3)", warmPoolLine(localplane.WarmPoolView{Size: 3, Ready: 1, Warming: 2}))
	assert.Equal(t, `Warm pool off: 3 backends in a row never said Warmed\x1b`,
		warmPoolLine(localplane.WarmPoolView{Size: 3, Off: "3 backends in a row never said Warmed\x1b"}))
}
