package integration_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// The shared scenario suite (issue 5): the same code, run through the same
// *jamsocket.Client API against each surface of the local plane, with
// handler and with process backends. Only target's few expectation fields
// differ between the surfaces.
func TestScenarios(t *testing.T) {
	t.Parallel()
	scenarios := []struct {
		name string
		run  func(t *testing.T, tg target, r runner)
	}{
		{"SpawnWithKeyThenReuse", scenarioSpawnThenReuse},
		{"UserAndAuthReachTheBackend", scenarioVerifiedHeaders},
		{"WaitReady", scenarioWaitReady},
		{"StreamOrder", scenarioStreamOrder},
		{"TerminateSoft", func(t *testing.T, tg target, r runner) { scenarioTerminate(t, tg, r, false) }},
		{"TerminateHard", func(t *testing.T, tg target, r runner) { scenarioTerminate(t, tg, r, true) }},
		{"NoSpawnOnUnheldKey", scenarioNoSpawnUnheld},
		{"HeldKeyOtherTag", scenarioOtherTag},
		{"CrashAtStart", scenarioCrashAtStart},
		{"NeverListens", scenarioNeverListens},
		// Issue 18: as Plane's source and the official dev server behave.
		{"IdleCountsFromTheSpawn", scenarioIdleFromTheSpawn},
		{"StaticTokenHeaders", scenarioStaticTokenHeaders},
		{"LimitsPlaneCannotRead", scenarioLimitsPlaneCannotRead},
		{"StartFails", scenarioStartFails},
		{"NoDroneAvailable", scenarioNoDroneAvailable},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			forTargetsAndRunners(t, sc.run)
		})
	}
}

func scenarioSpawnThenReuse(t *testing.T, tg target, r runner) {
	srv := newServer(t, tg, r, nil)
	ctx := testContext(t)
	first, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-1"})
	require.NoError(t, err)
	assert.True(t, first.Spawned)
	assert.NotEmpty(t, first.BackendID)
	assert.Regexp(t, `^`+srv.ProxyURL+`/[^/]+/$`, first.URL)
	assert.NotEmpty(t, first.StatusURL)

	again, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-1"})
	require.NoError(t, err)
	assert.False(t, again.Spawned, "the key is held: the same backend")
	assert.Equal(t, first.BackendID, again.BackendID)
	assert.NotEqual(t, first.Token, again.Token, "every connect mints a new token")
	assert.NotEqual(t, first.URL, again.URL)

	// Both tokens reach the one backend, which knows its key.
	for _, conn := range []*jamsocket.ConnectResponse{first, again} {
		got := echo(t, http.MethodGet, conn.URL)
		assert.Equal(t, first.BackendID, got.BackendID)
		assert.Equal(t, "doc-1", got.Key)
	}

	other, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-2"})
	require.NoError(t, err)
	assert.True(t, other.Spawned)
	assert.NotEqual(t, first.BackendID, other.BackendID, "another key, another backend")
}

func scenarioVerifiedHeaders(t *testing.T, tg target, r runner) {
	srv := newServer(t, tg, r, nil)
	conn := spawnReady(t, srv.Client, &jamsocket.ConnectRequest{
		Key: "room", User: "ann", Auth: map[string]any{"role": "editor", "n": 1},
	})
	got := echo(t, http.MethodGet, conn.URL+"some/path?q=1",
		"X-Verified-Username", "mallory", "X-Verified-User-Data", `{"role":"admin"}`)
	assert.Equal(t, "/some/path?q=1", got.Path, "the token is stripped from the path")
	assert.Equal(t, "ann", got.Verified["x-verified-username"])
	assert.JSONEq(t, `{"role":"editor","n":1}`, got.Verified["x-verified-user-data"])
	assert.Equal(t, conn.BackendID, got.Verified["x-verified-backend"])
	if conn.SecretToken != "" {
		assert.Equal(t, conn.SecretToken, got.Verified["x-verified-secret"])
	}

	// A second connect to the same backend carries its own identity.
	bob, err := srv.Client.Spawn(testContext(t), &jamsocket.ConnectRequest{Key: "room", User: "bob"})
	require.NoError(t, err)
	got = echo(t, http.MethodGet, bob.URL)
	assert.Equal(t, "bob", got.Verified["x-verified-username"])
	assert.JSONEq(t, `{}`, got.Verified["x-verified-user-data"])
	got = echo(t, http.MethodGet, conn.URL)
	assert.Equal(t, "ann", got.Verified["x-verified-username"], "the first token keeps its user")
}

func scenarioWaitReady(t *testing.T, tg target, r runner) {
	srv := newServer(t, tg, r, nil)
	ctx := testContext(t)
	conn, err := srv.Client.Spawn(ctx, nil)
	require.NoError(t, err)
	st, err := srv.Client.WaitReady(ctx, conn.BackendID)
	require.NoError(t, err)
	assert.Equal(t, jamsocket.StatusReady, st.Status)
	assert.False(t, st.Time.IsZero())

	// Waiting again answers at once from the status.
	st, err = srv.Client.WaitReady(ctx, conn.BackendID)
	require.NoError(t, err)
	assert.Equal(t, jamsocket.StatusReady, st.Status)
	cur, err := srv.Client.Status(ctx, conn.BackendID)
	require.NoError(t, err)
	assert.Equal(t, jamsocket.StatusReady, cur.Status)
}

func scenarioStreamOrder(t *testing.T, tg target, r runner) {
	srv := newServer(t, tg, r, nil)
	conn, err := srv.Client.Spawn(testContext(t), nil)
	require.NoError(t, err)
	seen := states(t, srv.Client, conn.BackendID, func() {
		require.NoError(t, srv.Client.Terminate(testContext(t), conn.BackendID, nil))
	})
	want := append(append([]jamsocket.BackendStatus{}, lifecycle...), jamsocket.StatusTerminating, jamsocket.StatusTerminated)
	assert.Equal(t, want, statuses(seen), "each status once, in lifecycle order, ending after terminated")
	for i := 1; i < len(seen); i++ {
		assert.Greater(t, seen[i].Status.Rank(), seen[i-1].Status.Rank())
		assert.False(t, seen[i].Time.Before(seen[i-1].Time), "times do not go back")
	}

	// A stream opened after the end replays the whole history and ends.
	assert.Equal(t, want, statuses(states(t, srv.Client, conn.BackendID, nil)))
}

func scenarioTerminate(t *testing.T, tg target, r runner, hard bool) {
	srv := newServer(t, tg, r, nil)
	conn := spawnReady(t, srv.Client, &jamsocket.ConnectRequest{Key: "k"})
	require.NoError(t, srv.Client.Terminate(testContext(t), conn.BackendID, &jamsocket.TerminateOptions{Hard: hard}))
	rest := after(states(t, srv.Client, conn.BackendID, nil), jamsocket.StatusReady)[1:]

	last := rest[len(rest)-1]
	assert.Equal(t, jamsocket.ReasonExternal, last.TerminationReason)
	if hard {
		assert.Equal(t, []jamsocket.BackendStatus{jamsocket.StatusHardTerminating, jamsocket.StatusTerminated}, statuses(rest))
		assert.Equal(t, jamsocket.KindHard, last.TerminationKind)
	} else {
		assert.Equal(t, []jamsocket.BackendStatus{jamsocket.StatusTerminating, jamsocket.StatusTerminated}, statuses(rest))
		assert.Equal(t, jamsocket.KindSoft, last.TerminationKind)
		if assert.NotNil(t, last.ExitError) {
			assert.False(t, *last.ExitError, "the backend stopped cleanly on SIGTERM")
		}
	}
	st, err := srv.Client.Status(testContext(t), conn.BackendID)
	require.NoError(t, err)
	assert.Equal(t, jamsocket.StatusTerminated, st.Status, "a terminated backend's status stays readable")
	require.NoError(t, srv.Client.Terminate(testContext(t), conn.BackendID, &jamsocket.TerminateOptions{Hard: hard}),
		"terminating an ended backend is success on every target")
	require.ErrorIs(t, srv.Client.Terminate(testContext(t), "nosuchbackend1", nil), jamsocket.ErrNotFound,
		"an unknown id is not found on every target")

	code, _ := get(t, http.MethodGet, conn.URL)
	assert.Equal(t, http.StatusGone, code, "its connection URL is gone")
	again, err := srv.Client.Spawn(testContext(t), &jamsocket.ConnectRequest{Key: "k"})
	require.NoError(t, err)
	assert.True(t, again.Spawned, "the key is free again")
}

func scenarioNoSpawnUnheld(t *testing.T, tg target, r runner) {
	srv := newServer(t, tg, r, nil)
	ctx := testContext(t)
	_, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "nobody", NoSpawn: true})
	require.ErrorIs(t, err, jamsocket.ErrKeyNotHeld, "the same error on every target")
	assert.Empty(t, srv.Backends(), "nothing was spawned")

	held, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "nobody"})
	require.NoError(t, err)
	joined, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "nobody", NoSpawn: true})
	require.NoError(t, err, "NoSpawn joins a held key")
	assert.False(t, joined.Spawned)
	assert.Equal(t, held.BackendID, joined.BackendID)
}

func scenarioOtherTag(t *testing.T, tg target, r runner) {
	srv := newServer(t, tg, r, nil)
	ctx := testContext(t)
	v1, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "versioned", Spawn: &jamsocket.SpawnConfig{Tag: "v1"}})
	require.NoError(t, err)
	same, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "versioned", Spawn: &jamsocket.SpawnConfig{Tag: "v1"}})
	require.NoError(t, err)
	assert.Equal(t, v1.BackendID, same.BackendID, "the same tag joins")

	v2, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "versioned", Spawn: &jamsocket.SpawnConfig{Tag: "v2"}})
	if tg.otherTagConflicts {
		require.ErrorIs(t, err, jamsocket.ErrKeyHeld)
		require.ErrorIs(t, err, jamsocket.ErrConflict)
		return
	}
	require.NoError(t, err)
	assert.False(t, v2.Spawned)
	assert.Equal(t, v1.BackendID, v2.BackendID, "no key tags here: the live backend is joined")
}

// scenarioCrashAtStart: a process that exits at once, or a Handler that
// panics, never becomes ready.
func scenarioCrashAtStart(t *testing.T, tg target, r runner) {
	srv := newServer(t, tg, r, nil)
	_, term := spawnNeverReady(t, srv.Client, &jamsocket.ConnectRequest{Spawn: inMode(modeCrashAtBoot)})
	assert.Equal(t, jamsocket.StatusTerminated, term.State.Status)
	if r.process {
		require.NotNil(t, term.State.ExitError)
		assert.True(t, *term.State.ExitError, "exit code 1")
	} else {
		assertNeverRan(t, tg, term.State) // the panic is a failed start
	}
}

// scenarioNeverListens: a backend that runs but never answers is terminated
// with startuptimeout. Only a process can do that: the plane itself serves a
// handler backend's listener.
func scenarioNeverListens(t *testing.T, tg target, r runner) {
	if !r.process {
		t.Skip("handler backends are served by the plane, which always listens")
	}
	srv := newServer(t, tg, r, func(cfg *localplane.Config) { cfg.StartupTimeout = 300 * time.Millisecond })
	conn, term := spawnNeverReady(t, srv.Client, &jamsocket.ConnectRequest{Spawn: inMode(modeNoListen)})
	assert.Equal(t, jamsocket.ReasonStartupTimeout, term.State.TerminationReason)

	seen := states(t, srv.Client, conn.BackendID, nil)
	assert.Equal(t, []jamsocket.BackendStatus{jamsocket.StatusScheduled, jamsocket.StatusLoading,
		jamsocket.StatusStarting, jamsocket.StatusWaiting, jamsocket.StatusHardTerminating,
		jamsocket.StatusTerminated}, statuses(seen))
	assert.Equal(t, jamsocket.ReasonStartupTimeout, seen[len(seen)-1].TerminationReason)
}
