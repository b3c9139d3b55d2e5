package main

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// startLocalPlane runs a local plane whose backends are in-process handlers
// that log one line when they start.
func startLocalPlane(t *testing.T, token string) *localplane.Server {
	t.Helper()
	return startLocalPlaneWith(t, localplane.Config{Token: token})
}

// startLocalPlaneWith is startLocalPlane with more configuration.
func startLocalPlaneWith(t *testing.T, cfg localplane.Config) *localplane.Server {
	t.Helper()
	cfg.APIAddr, cfg.ProxyAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.StartupTimeout, cfg.GracePeriod = 20*time.Second, 5*time.Second
	cfg.Handler = func(b localplane.Backend) http.Handler {
		fmt.Fprintf(b.Output, "hello from %s\n", b.ID)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	}
	srv, err := localplane.New(cfg)
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	return srv
}

// TestAgainstLocalPlane drives a backend's whole life through the command
// line against the local plane: spawn and wait, status, info, list,
// terminate, follow to terminated, logs.
func TestAgainstLocalPlane(t *testing.T) {
	srv := startLocalPlane(t, token)
	env := map[string]string{
		"JAMSOCKET_ACCOUNT": "acct", "JAMSOCKET_SERVICE": "svc", "JAMSOCKET_TOKEN": token, "JAMSOCKET_API_URL": srv.APIURL(),
	}

	resp := decode[jamsocket.ConnectResponse](t, cli(t, env, "spawn", "--wait", "--json", "--key", "doc-1"))
	assert.Equal(t, jamsocket.StatusReady, resp.Status)
	id := resp.BackendID

	state := decode[jamsocket.BackendState](t, cli(t, env, "status", id, "--json"))
	assert.Equal(t, jamsocket.StatusReady, state.Status)
	decode[jamsocket.BackendState](t, cli(t, env, "wait", id, "--json"))

	info := decode[jamsocket.BackendInfo](t, cli(t, env, "backend", "info", id, "--json"))
	assert.Equal(t, id, info.ID)
	assert.EqualValues(t, "doc-1", info.Key)
	require.NotEmpty(t, info.Statuses)
	assert.Equal(t, jamsocket.StatusReady, info.LastState().Status)

	list := decode[[]jamsocket.BackendSummary](t, cli(t, env, "backend", "list", "--json"))
	var ids []string
	for _, b := range list {
		ids = append(ids, b.ID)
	}
	assert.Contains(t, ids, id)

	decode[map[string]any](t, cli(t, env, "terminate", id, "--hard", "--json"))
	states := decodeLines[jamsocket.BackendState](t, cli(t, env, "status", id, "--follow", "--json"))
	require.NotEmpty(t, states)
	assert.Equal(t, jamsocket.StatusTerminated, states[len(states)-1].Status)

	logs := decodeLines[jamsocket.LogLine](t, cli(t, env, "backend", "logs", id, "--json"))
	assert.Equal(t, []jamsocket.LogLine{{Text: "hello from " + id, ID: "0"}}, logs, "the stream ends with the backend")

	// A bad token is refused with one line, and never printed.
	bad := map[string]string{"JAMSOCKET_ACCOUNT": "acct", "JAMSOCKET_TOKEN": "wrong-token-123", "JAMSOCKET_API_URL": srv.APIURL()}
	r := cli(t, bad, "backend", "list")
	assert.Equal(t, exitError, r.code)
	assert.NotContains(t, r.stderr, "wrong-token-123")
}

// TestDevAgainstLocalPlane is `jamsocket spawn --wait --dev` against a local
// plane, as the README's CLI section describes it.
func TestDevAgainstLocalPlane(t *testing.T) {
	srv := startLocalPlane(t, "")
	u, err := url.Parse(srv.APIURL())
	require.NoError(t, err)
	r := cli(t, map[string]string{}, "spawn", "--wait", "--dev", "--dev-port", u.Port())
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "ready")
	resp := decode[jamsocket.ConnectResponse](t, cli(t, map[string]string{"JAMSOCKET_DEV": "true", "JAMSOCKET_DEV_PORT": u.Port()},
		"spawn", "--json", "--key", "k"))
	decode[map[string]any](t, cli(t, map[string]string{"JAMSOCKET_DEV": "true", "JAMSOCKET_DEV_PORT": u.Port()},
		"terminate", resp.BackendID, "--json"))
}

// On Plane the stream of an unknown backend stays open forever; following
// one must fail at once instead.
func TestFollowUnknownBackendOnPlane(t *testing.T) {
	srv := startLocalPlane(t, "")
	env := map[string]string{"JAMSOCKET_PLANE_URL": srv.APIURL(), "JAMSOCKET_PLANE_IMAGE": "x"}
	r := cli(t, env, "status", "nosuchbackend0", "--follow")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "404")
}
