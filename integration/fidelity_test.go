package integration_test

import (
	"errors"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// The scenarios of issue 18: what Plane's source and the official dev
// server do, asserted through the Client on every target they apply to.

// scenarioIdleFromTheSpawn: the idle time counts from the spawn, so a
// backend still waiting to answer when max_idle_seconds runs out is swept.
// Only a process can be slow to answer: the plane serves a handler
// backend's listener itself.
func scenarioIdleFromTheSpawn(t *testing.T, tg target, r runner) {
	if !r.process {
		t.Skip("handler backends are served by the plane, which answers at once")
	}
	srv := newServer(t, tg, r, nil) // startup timeout 30 s
	spawn := inMode(modeNoListen)
	spawn.MaxIdleSeconds = 1
	conn, term := spawnNeverReady(t, srv.Client, &jamsocket.ConnectRequest{Spawn: spawn})
	assert.Equal(t, jamsocket.ReasonSwept, term.State.TerminationReason)
	seen := states(t, srv.Client, conn.BackendID, nil)
	assert.Equal(t, []jamsocket.BackendStatus{jamsocket.StatusScheduled, jamsocket.StatusLoading,
		jamsocket.StatusStarting, jamsocket.StatusWaiting, jamsocket.StatusTerminating,
		jamsocket.StatusTerminated}, statuses(seen), "swept while waiting, never ready")
}

// scenarioStaticTokenHeaders: with static tokens the backend gets no user
// data and an empty x-verified-secret, as from Plane's proxy.
func scenarioStaticTokenHeaders(t *testing.T, tg target, r runner) {
	srv := newServer(t, tg, r, func(cfg *localplane.Config) { cfg.UseStaticToken = true })
	conn := spawnReady(t, srv.Client, &jamsocket.ConnectRequest{Key: "static", User: "ann", Auth: map[string]any{"role": "editor"}})
	assert.Empty(t, conn.SecretToken, "a static token has no secret")
	got := echo(t, http.MethodGet, conn.URL)
	assert.NotContains(t, got.Verified, "x-verified-user-data")
	assert.NotContains(t, got.Verified, "x-verified-username", "a static token carries no user")
	secret, sent := got.Verified["x-verified-secret"]
	assert.True(t, sent, "x-verified-secret is sent")
	assert.Empty(t, secret)
	assert.Equal(t, conn.BackendID, got.Verified["x-verified-backend"])
}

// scenarioLimitsPlaneCannotRead: resource limits outside Plane's types end
// the backend terminated with no reason, while it loads. On Plane's surface
// the Plane driver refuses them before sending: nothing is spawned (what
// the plane does when they are sent, localplane's tests check).
func scenarioLimitsPlaneCannotRead(t *testing.T, tg target, r runner) {
	srv := newServer(t, tg, r, nil)
	ctx := testContext(t)
	spawn := func(limits jamsocket.ResourceLimits) *jamsocket.ConnectRequest {
		return &jamsocket.ConnectRequest{Spawn: &jamsocket.SpawnConfig{Executable: &jamsocket.Executable{ResourceLimits: &limits}}}
	}
	if tg.plane {
		_, err := srv.Client.Spawn(ctx, spawn(jamsocket.ResourceLimits{CPUPeriodPercent: 256}))
		require.Error(t, err, "refused before sending")
		assert.Empty(t, srv.Backends(), "nothing spawned")
		return
	}
	for name, limits := range map[string]jamsocket.ResourceLimits{
		"cpu_period_percent over 255": {CPUPeriodPercent: 256},
		"negative cpu_period":         {CPUPeriod: -1},
		"negative cpu_time_limit":     {CPUTimeLimit: -1},
	} {
		conn, term := spawnNeverReady(t, srv.Client, spawn(limits))
		assertNeverRan(t, tg, term.State)
		assert.Equal(t, []jamsocket.BackendStatus{jamsocket.StatusScheduled, jamsocket.StatusLoading,
			jamsocket.StatusTerminated}, statuses(states(t, srv.Client, conn.BackendID, nil)), "%s: ended while loading", name)
	}
}

// scenarioStartFails: a backend that cannot be started (a Handler that
// panics, a process whose directory is gone) ends as on Plane.
func scenarioStartFails(t *testing.T, tg target, r runner) {
	srv := newServer(t, tg, r, func(cfg *localplane.Config) {
		if r.process {
			cfg.Dir = filepath.Join(t.TempDir(), "gone")
		} else {
			cfg.Handler = func(localplane.Backend) http.Handler { panic("cannot start") }
		}
	})
	ctx := testContext(t)
	conn, term := spawnNeverReady(t, srv.Client, &jamsocket.ConnectRequest{Key: "k"})
	assertNeverRan(t, tg, term.State)
	seen := states(t, srv.Client, conn.BackendID, nil)
	assert.Equal(t, []jamsocket.BackendStatus{jamsocket.StatusScheduled, jamsocket.StatusLoading,
		jamsocket.StatusStarting, jamsocket.StatusTerminated}, statuses(seen))
	st, err := srv.Client.Status(ctx, conn.BackendID)
	require.NoError(t, err)
	assertNeverRan(t, tg, st)

	again, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "k"})
	require.NoError(t, err)
	assert.True(t, again.Spawned, "the key is free again")
}

// assertNeverRan checks the terminated state of a backend that never ran:
// no reason, no kind; exit_error false on Plane, absent on the Jamsocket
// surface (the official dev server drops a false one).
func assertNeverRan(t *testing.T, tg target, st *jamsocket.BackendState) {
	t.Helper()
	assert.Equal(t, jamsocket.StatusTerminated, st.Status)
	assert.Empty(t, st.TerminationReason)
	assert.Empty(t, st.TerminationKind)
	if tg.plane {
		if assert.NotNil(t, st.ExitError) {
			assert.False(t, *st.ExitError)
		}
	} else {
		assert.Nil(t, st.ExitError)
	}
}

// scenarioNoDroneAvailable: a spawn the plane cannot make now is Plane's
// 500 NoDroneAvailable on Plane's surface, the dev server's 503
// NotReadyToSpawn on the Jamsocket surface.
func scenarioNoDroneAvailable(t *testing.T, tg target, r runner) {
	hold := &spawnHold{reason: "the image is building"}
	srv := newServer(t, tg, r, func(cfg *localplane.Config) { cfg.Builder = hold })
	_, err := srv.Client.Spawn(testContext(t), nil)
	apiErr := apiError(t, err)
	if tg.plane {
		assert.Equal(t, http.StatusInternalServerError, apiErr.StatusCode)
		assert.Equal(t, "NoDroneAvailable", apiErr.Code)
	} else {
		assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
		assert.Equal(t, "NotReadyToSpawn", apiErr.Code)
	}
	assert.Contains(t, apiErr.Message, "the image is building")
	assert.Empty(t, srv.Backends(), "nothing spawned")

	hold.set("")
	spawnReady(t, srv.Client, nil)
}

// spawnHold is a localplane.Builder that only holds spawns, for reason;
// these planes run no image.
type spawnHold struct {
	mu     sync.Mutex
	reason string
}

func (h *spawnHold) set(reason string) {
	h.mu.Lock()
	h.reason = reason
	h.mu.Unlock()
}

func (h *spawnHold) Image() (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.reason != "" {
		return "", errors.New(h.reason)
	}
	return "", nil
}

func (h *spawnHold) Rebuild() {}

func (h *spawnHold) Log(int) localplane.BuildLog { return localplane.BuildLog{} }
