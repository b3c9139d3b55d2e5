package integration_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// Issue 3's lifecycle proofs, through the SDK.

func TestConcurrentSameKeyConnects(t *testing.T) {
	t.Parallel()
	forTargets(t, func(t *testing.T, tg target) {
		srv := newServer(t, tg, runner{}, nil)
		ctx := testContext(t)
		const n = 100
		start := make(chan struct{})
		results := make([]*jamsocket.ConnectResponse, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				results[i], errs[i] = srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "hot-key"})
			})
		}
		close(start)
		wg.Wait()

		spawned, ids, tokens := 0, map[string]bool{}, map[string]bool{}
		for i := range n {
			require.NoError(t, errs[i])
			if results[i].Spawned {
				spawned++
			}
			ids[results[i].BackendID] = true
			tokens[results[i].Token] = true
		}
		assert.Equal(t, 1, spawned, "exactly one connect spawned")
		assert.Len(t, ids, 1, "all got the same backend")
		assert.Len(t, tokens, n, "each got its own token")
		assert.Len(t, srv.Backends(), 1)
	})
}

func TestCrashAfterReady(t *testing.T) {
	t.Parallel()
	forTargets(t, func(t *testing.T, tg target) {
		srv := newServer(t, tg, runner{process: true}, nil)
		conn := spawnReady(t, srv.Client, &jamsocket.ConnectRequest{Key: "crashy"})
		other, err := srv.Client.Spawn(testContext(t), &jamsocket.ConnectRequest{Key: "crashy"})
		require.NoError(t, err)

		code, _ := get(t, http.MethodGet, conn.URL+"crash")
		assert.Equal(t, http.StatusBadGateway, code, "the backend died mid-request")
		seen := states(t, srv.Client, conn.BackendID, nil)
		rest := after(seen, jamsocket.StatusReady)[1:]
		require.Equal(t, []jamsocket.BackendStatus{jamsocket.StatusTerminated}, statuses(rest),
			"no terminating: it exited by itself")
		require.NotNil(t, rest[0].ExitError)
		assert.True(t, *rest[0].ExitError, "exit code 3")
		assert.Empty(t, rest[0].TerminationReason)

		for _, url := range []string{conn.URL, other.URL} {
			code, _ := get(t, http.MethodGet, url)
			assert.Equal(t, http.StatusGone, code, "every token of the backend answers 410")
		}
		again := spawnReady(t, srv.Client, &jamsocket.ConnectRequest{Key: "crashy"})
		assert.NotEqual(t, conn.BackendID, again.BackendID, "the key is free again")
		assert.Equal(t, again.BackendID, echo(t, http.MethodGet, again.URL).BackendID)
	})
}

func TestSoftTerminateEscalatesAfterGracePeriod(t *testing.T) {
	t.Parallel()
	const grace = 300 * time.Millisecond
	forTargets(t, func(t *testing.T, tg target) {
		srv := newServer(t, tg, runner{process: true}, func(cfg *localplane.Config) { cfg.GracePeriod = grace })
		conn := spawnReady(t, srv.Client, &jamsocket.ConnectRequest{Spawn: inMode(modeIgnoreTerm)})
		require.NoError(t, srv.Client.Terminate(testContext(t), conn.BackendID, nil))

		rest := after(states(t, srv.Client, conn.BackendID, nil), jamsocket.StatusTerminating)
		require.Equal(t, []jamsocket.BackendStatus{jamsocket.StatusTerminating, jamsocket.StatusHardTerminating,
			jamsocket.StatusTerminated}, statuses(rest))
		for _, st := range rest {
			assert.Equal(t, jamsocket.ReasonExternal, st.TerminationReason, "the reason is kept")
		}
		last := rest[len(rest)-1]
		assert.Equal(t, jamsocket.KindHard, last.TerminationKind, "it took a SIGKILL")
		require.NotNil(t, last.ExitError)
		assert.True(t, *last.ExitError)
		assert.GreaterOrEqual(t, rest[1].Time.Sub(rest[0].Time), grace-10*time.Millisecond, // times are stamped in ms, some nudged 1 ms forward
			"the plane's own timestamps: SIGKILL only after the grace period")
	})
}

// The limits are observed through the status stream: it ends with the
// sweep, however long that takes.
func TestIdleSweep(t *testing.T) {
	t.Parallel()
	forTargets(t, func(t *testing.T, tg target) {
		srv := newServer(t, tg, runner{}, nil)
		conn := spawnReady(t, srv.Client, &jamsocket.ConnectRequest{Spawn: &jamsocket.SpawnConfig{MaxIdleSeconds: 1}})
		echo(t, http.MethodGet, conn.URL) // activity, then none
		seen := states(t, srv.Client, conn.BackendID, nil)
		rest := after(seen, jamsocket.StatusReady)[1:]
		require.Equal(t, []jamsocket.BackendStatus{jamsocket.StatusTerminating, jamsocket.StatusTerminated}, statuses(rest))
		assert.Equal(t, jamsocket.ReasonSwept, rest[0].TerminationReason)
		assert.Equal(t, jamsocket.ReasonSwept, rest[1].TerminationReason)
		// The plane nudges a status's time a millisecond past the previous
		// one's to keep them strictly increasing, and a handler backend goes
		// from scheduled to ready within a millisecond or two: allow for it.
		assert.GreaterOrEqual(t, rest[0].Time.Sub(seen[len(lifecycle)-1].Time), time.Second-10*time.Millisecond,
			"not swept before a second of idleness")
	})
}

func TestLifetimeLimit(t *testing.T) {
	t.Parallel()
	forTargets(t, func(t *testing.T, tg target) {
		srv := newServer(t, tg, runner{}, nil)
		conn := spawnReady(t, srv.Client, &jamsocket.ConnectRequest{Spawn: &jamsocket.SpawnConfig{LifetimeLimitSeconds: 1}})
		seen := states(t, srv.Client, conn.BackendID, nil)
		rest := after(seen, jamsocket.StatusReady)[1:]
		require.Equal(t, []jamsocket.BackendStatus{jamsocket.StatusTerminating, jamsocket.StatusTerminated}, statuses(rest))
		assert.Equal(t, jamsocket.ReasonSwept, rest[0].TerminationReason)
		assert.GreaterOrEqual(t, rest[0].Time.Sub(seen[0].Time).Seconds(), 1.0, "swept a second after it was scheduled")
	})
}
