package integration_test

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
)

// Closing the plane leaves no backend process behind: not one that stops on
// SIGTERM, not one that ignores it, not one that never became ready.
func TestShutdownLeavesNoChildProcess(t *testing.T) {
	t.Parallel()
	forTargets(t, func(t *testing.T, tg target) {
		srv := newServer(t, tg, runner{process: true}, nil)
		spawnReady(t, srv.Client, &jamsocket.ConnectRequest{Key: "serve"})
		spawnReady(t, srv.Client, &jamsocket.ConnectRequest{Key: "stubborn", Spawn: inMode(modeIgnoreTerm)})
		_, err := srv.Client.Spawn(testContext(t), &jamsocket.ConnectRequest{Key: "mute", Spawn: inMode(modeNoListen)})
		require.NoError(t, err)

		var pids []int
		require.Eventually(t, func() bool {
			pids = pids[:0]
			for _, b := range srv.Backends() {
				if b.PID > 0 {
					pids = append(pids, b.PID)
				}
			}
			return len(pids) == 3
		}, 10*time.Second, 5*time.Millisecond, "every backend has a process")
		for _, pid := range pids {
			require.NoError(t, syscall.Kill(pid, 0), "pid %d runs before Close", pid)
		}

		require.NoError(t, srv.Close())
		for _, pid := range pids {
			err := syscall.Kill(pid, 0)
			assert.True(t, errors.Is(err, syscall.ESRCH), "pid %d is gone after Close (kill: %v)", pid, err)
		}
		for _, b := range srv.Backends() {
			assert.True(t, b.Terminated, "backend %s terminated", b.ID)
		}
		noRetry, err := srv.NewClient(jamsocket.WithRetry(jamsocket.RetryPolicy{MaxRetries: -1}))
		require.NoError(t, err)
		_, err = noRetry.Status(testContext(t), "anything")
		assert.Error(t, err, "nothing listens after Close")
	})
}
