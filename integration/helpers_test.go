package integration_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/jamsockettest"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// target is one API surface of the local plane, with what differs between
// the surfaces; everything else the tests check is identical.
type target struct {
	name  string
	plane bool // Plane's controller API (jamsocket.NewPlane) instead of Jamsocket's

	// otherTagConflicts says whether a connect with another spawn tag for a
	// held key is refused (409 KeyHeld) or joins the holder.
	otherTagConflicts bool
}

var targets = []target{
	{
		name: "jamsocket",
		// The Jamsocket surface has no key tags (Jamsocket picks the image by
		// tag at spawn time only), so another tag joins the live backend.
		otherTagConflicts: false,
	},
	{
		name: "plane", plane: true,
		otherTagConflicts: true,
	},
}

// runner says how backends run: in-process handlers or processes.
type runner struct {
	name    string
	process bool
}

var runners = []runner{{name: "handler"}, {name: "process", process: true}}

// forTargets runs f once per target, in parallel subtests.
func forTargets(t *testing.T, f func(t *testing.T, tg target)) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			f(t, tg)
		})
	}
}

// forTargetsAndRunners runs f once per target and runner, in parallel.
func forTargetsAndRunners(t *testing.T, f func(t *testing.T, tg target, r runner)) {
	for _, tg := range targets {
		for _, r := range runners {
			t.Run(tg.name+"/"+r.name, func(t *testing.T) {
				t.Parallel()
				f(t, tg, r)
			})
		}
	}
}

// newServer starts a local plane serving tg's surface with r's backends.
// configure, if set, adjusts the plane's configuration last.
func newServer(t *testing.T, tg target, r runner, configure func(*localplane.Config)) *jamsockettest.Server {
	t.Helper()
	opts := &jamsockettest.Options{
		Plane: tg.plane,
		Configure: func(cfg *localplane.Config) {
			cfg.StartupTimeout = 30 * time.Second
			cfg.GracePeriod = 5 * time.Second
			if configure != nil {
				configure(cfg)
			}
		},
	}
	if r.process {
		opts.Command = processCommand()
	} else {
		opts.Handler = handlerBackend
	}
	return jamsockettest.NewServer(t, opts)
}

// handlerBackend is backendHandler served in-process; in mode crashatboot
// it fails to start, as a handler can (a panic in Config.Handler).
func handlerBackend(b localplane.Backend) http.Handler {
	if b.Env[modeEnv] == modeCrashAtBoot {
		panic("crashing at start")
	}
	return backendHandler(b)
}

// inMode is a spawn configuration that runs the backend in mode.
func inMode(mode string) *jamsocket.SpawnConfig {
	return &jamsocket.SpawnConfig{Executable: &jamsocket.Executable{Env: map[string]string{modeEnv: mode}}}
}

// testContext bounds a test's calls; nothing here should take long.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// spawnReady spawns with req and waits until the backend is ready.
func spawnReady(t *testing.T, c *jamsocket.Client, req *jamsocket.ConnectRequest) *jamsocket.ConnectResponse {
	t.Helper()
	ctx := testContext(t)
	conn, err := c.Spawn(ctx, req)
	require.NoError(t, err)
	st, err := c.WaitReady(ctx, conn.BackendID)
	require.NoError(t, err)
	require.Equal(t, jamsocket.StatusReady, st.Status)
	return conn
}

// spawnNeverReady spawns with req and waits for ready, which must not
// come: it returns the connect's answer and the ending state WaitReady
// reported.
func spawnNeverReady(t *testing.T, c *jamsocket.Client, req *jamsocket.ConnectRequest) (*jamsocket.ConnectResponse, *jamsocket.BackendTerminatedError) {
	t.Helper()
	ctx := testContext(t)
	conn, err := c.Spawn(ctx, req)
	require.NoError(t, err)
	_, err = c.WaitReady(ctx, conn.BackendID)
	var term *jamsocket.BackendTerminatedError
	require.True(t, errors.As(err, &term), "want a *BackendTerminatedError, got %T: %v", err, err)
	require.ErrorIs(t, err, jamsocket.ErrBackendTerminated)
	require.Equal(t, conn.BackendID, term.BackendID)
	return conn, term
}

// states reads a backend's status stream to its end (after terminated).
// onReady, if set, is called once when ready arrives.
func states(t *testing.T, c *jamsocket.Client, id string, onReady func()) []*jamsocket.BackendState {
	t.Helper()
	var seen []*jamsocket.BackendState
	for st, err := range c.StatusStream(testContext(t), id) {
		require.NoError(t, err, "status stream after %v", statuses(seen))
		seen = append(seen, st)
		if st.Status == jamsocket.StatusReady && onReady != nil {
			onReady()
		}
	}
	require.NotEmpty(t, seen)
	require.Equal(t, jamsocket.StatusTerminated, seen[len(seen)-1].Status, "the stream ends after terminated")
	return seen
}

// after returns the states from the first one with status on.
func after(seen []*jamsocket.BackendState, status jamsocket.BackendStatus) []*jamsocket.BackendState {
	for i, st := range seen {
		if st.Status == status {
			return seen[i:]
		}
	}
	return nil
}

func statuses(seen []*jamsocket.BackendState) []jamsocket.BackendStatus {
	out := make([]jamsocket.BackendStatus, len(seen))
	for i, st := range seen {
		out[i] = st.Status
	}
	return out
}

// lifecycle is what every backend goes through up to ready, in Plane's order.
var lifecycle = []jamsocket.BackendStatus{
	jamsocket.StatusScheduled, jamsocket.StatusLoading, jamsocket.StatusStarting,
	jamsocket.StatusWaiting, jamsocket.StatusReady,
}

// get sends a request (through the proxy, typically) and returns the status
// and body.
func get(t *testing.T, method, url string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

// echo sends a request through a connection URL and decodes what the backend
// saw.
func echo(t *testing.T, method, url string, header ...string) jamsockettest.EchoResponse {
	t.Helper()
	code, body := get(t, method, url, header...)
	require.Equal(t, http.StatusOK, code, string(body))
	var res jamsockettest.EchoResponse
	require.NoError(t, json.Unmarshal(body, &res), string(body))
	return res
}

// apiError asserts that err is an *APIError and returns it.
func apiError(t *testing.T, err error) *jamsocket.APIError {
	t.Helper()
	var apiErr *jamsocket.APIError
	require.True(t, errors.As(err, &apiErr), "want an *APIError, got %T: %v", err, err)
	return apiErr
}

// wsURL turns a connection URL into its WebSocket form.
func wsURL(url string) string { return "ws" + strings.TrimPrefix(url, "http") }
