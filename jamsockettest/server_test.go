package jamsockettest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/internal/dockertest"
	"github.com/jamsocket-go/jamsocket/jamsockettest"
	"github.com/jamsocket-go/jamsocket/localplane"
)

func TestMain(m *testing.M) {
	jamsockettest.BackendMain(jamsockettest.Echo)
	goleak.VerifyTestMain(m)
}

func TestSelfCommandRunsTheTestBinaryAsABackend(t *testing.T) {
	srv := jamsockettest.NewServer(t, &jamsockettest.Options{Command: jamsockettest.SelfCommand()})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := spawnReady(ctx, t, srv, &jamsocket.ConnectRequest{Key: "proc", User: "alice"})
	require.NotZero(t, srv.Backends()[0].PID, "a real process")

	resp, err := http.Get(conn.URL + "x")
	require.NoError(t, err)
	defer resp.Body.Close()
	var seen jamsockettest.EchoResponse
	require.NoError(t, decodeJSON(resp, &seen))
	assert.Equal(t, conn.BackendID, seen.BackendID)
	assert.Equal(t, "proc", seen.Key)
	assert.Equal(t, "alice", seen.Verified["x-verified-username"])

	require.NoError(t, srv.Client.Terminate(ctx, conn.BackendID, nil))
	var last *jamsocket.BackendState
	for state, err := range srv.Client.StatusStream(ctx, conn.BackendID) {
		require.NoError(t, err)
		last = state
	}
	require.NotNil(t, last.ExitError)
	assert.False(t, *last.ExitError, "a clean exit on SIGTERM")
	assert.Equal(t, jamsocket.KindSoft, last.TerminationKind)
}

func TestTerminateFromOutsideEndsTheBackend(t *testing.T) {
	for _, plane := range []bool{false, true} {
		t.Run(map[bool]string{false: "jamsocket", true: "plane"}[plane], func(t *testing.T) {
			srv := jamsockettest.NewServer(t, &jamsockettest.Options{Plane: plane})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn := spawnReady(ctx, t, srv, &jamsocket.ConnectRequest{Key: "doc"})

			require.Len(t, srv.Backends(), 1)
			assert.Equal(t, "doc", srv.Backends()[0].Key)
			require.NoError(t, srv.Terminate(conn.BackendID, true))

			var last *jamsocket.BackendState
			for state, err := range srv.Client.StatusStream(ctx, conn.BackendID) {
				require.NoError(t, err)
				last = state
			}
			assert.Equal(t, jamsocket.StatusTerminated, last.Status)
			assert.Equal(t, jamsocket.KindHard, last.TerminationKind)
		})
	}
}

func TestCloseStopsEverything(t *testing.T) {
	srv, err := jamsockettest.Start(&jamsockettest.Options{
		Configure: func(c *localplane.Config) { c.StartupTimeout = 10 * time.Second },
	})
	require.NoError(t, err)
	ctx := context.Background()
	spawnReady(ctx, t, srv, nil)

	require.NoError(t, srv.Close())
	require.NoError(t, srv.Close(), "Close is idempotent")
	for _, raw := range []string{srv.APIURL, srv.ProxyURL} {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		_, err = net.DialTimeout("tcp", u.Host, time.Second)
		assert.Error(t, err, "nothing listens on %s after Close", u.Host)
	}
}

func TestEchoReportsTheVerifiedHeaders(t *testing.T) {
	srv := jamsockettest.NewServer(t, nil)
	ctx := context.Background()
	conn, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{User: "alice", Auth: map[string]any{"plan": "pro"}})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, conn.URL+"a/b?c=d", nil)
	require.NoError(t, err)
	req.Header.Set("X-Verified-Username", "mallory")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var seen jamsockettest.EchoResponse
	require.NoError(t, decodeJSON(resp, &seen))
	assert.Equal(t, conn.BackendID, seen.BackendID)
	assert.Equal(t, "/a/b?c=d", seen.Path)
	assert.Equal(t, "alice", seen.Verified["x-verified-username"])
	assert.JSONEq(t, `{"plan":"pro"}`, seen.Verified["x-verified-user-data"])
	assert.Equal(t, conn.SecretToken, seen.Verified["x-verified-secret"])
	assert.Equal(t, conn.BackendID, seen.Verified["x-verified-backend"])
}

func TestWrongTokenIsRefused(t *testing.T) {
	srv := jamsockettest.NewServer(t, &jamsockettest.Options{Token: "right"})
	other, err := jamsocket.New(jamsocket.Config{Account: "a", Service: "s", Token: "wrong", APIURL: srv.APIURL},
		jamsocket.WithRetry(jamsocket.RetryPolicy{MaxRetries: -1}))
	require.NoError(t, err)
	_, err = other.Spawn(context.Background(), nil)
	assert.True(t, errors.Is(err, jamsocket.ErrUnauthorized), "got %v", err)
	assert.Empty(t, srv.Backends())
}

// spawnReady spawns req on srv and waits until the backend is ready.
func spawnReady(ctx context.Context, t *testing.T, srv *jamsockettest.Server, req *jamsocket.ConnectRequest) *jamsocket.ConnectResponse {
	t.Helper()
	conn, err := srv.Client.Spawn(ctx, req)
	require.NoError(t, err)
	_, err = srv.Client.WaitReady(ctx, conn.BackendID)
	require.NoError(t, err)
	return conn
}

func decodeJSON(resp *http.Response, v any) error {
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// The Client sends the token the plane ends up demanding, also when
// Configure changes it.
func TestConfigureMayChangeTheToken(t *testing.T) {
	srv := jamsockettest.NewServer(t, &jamsockettest.Options{
		Configure: func(c *localplane.Config) { c.Token = "from-configure" },
	})
	_, err := srv.Client.Spawn(context.Background(), nil)
	require.NoError(t, err)
}

// The official browser client opens the WebSocket from the app's page, whose
// origin is never the backend's: Echo takes it as it takes one with no
// Origin at all.
func TestEchoEchoesWebSocketMessagesThroughTheProxy(t *testing.T) {
	srv := jamsockettest.NewServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := srv.Client.Spawn(ctx, nil)
	require.NoError(t, err)
	for name, header := range map[string]http.Header{"no origin": nil, "the app's origin": {"Origin": {"https://app.example.com"}}} {
		t.Run(name, func(t *testing.T) {
			ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(conn.URL, "http")+"socket", &websocket.DialOptions{HTTPHeader: header})
			require.NoError(t, err)
			defer ws.CloseNow()
			for _, msg := range []string{"hello", "again"} {
				require.NoError(t, ws.Write(ctx, websocket.MessageText, []byte(msg)))
				typ, got, err := ws.Read(ctx)
				require.NoError(t, err)
				assert.Equal(t, websocket.MessageText, typ)
				assert.Equal(t, msg, string(got))
			}
			require.NoError(t, ws.Close(websocket.StatusNormalClosure, ""))
		})
	}
}

func TestImageBackends(t *testing.T) {
	cli := dockertest.Client(t)
	image := dockertest.GoImage(t, cli, "github.com/jamsocket-go/jamsocket/internal/dockertest/testbackend")
	srv := jamsockettest.NewServer(t, &jamsockettest.Options{Image: image})
	ctx := context.Background()
	conn, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-1", User: "ann"})
	require.NoError(t, err)
	resp, err := http.Get(conn.URL + "hello")
	require.NoError(t, err)
	defer resp.Body.Close()
	var got struct {
		Headers map[string]string `json:"headers"`
		Env     map[string]string `json:"env"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	assert.Equal(t, "8080", got.Env["PORT"], "a container, as on Plane")
	assert.Equal(t, "ann", got.Headers["x-verified-username"])
	views := srv.Backends()
	require.Len(t, views, 1)
	assert.NotEmpty(t, views[0].Image)
}

func TestDockerfileBackends(t *testing.T) {
	dockertest.CLI(t)
	dir := t.TempDir()
	dockertest.GoBinary(t, "github.com/jamsocket-go/jamsocket/internal/dockertest/testbackend", filepath.Join(dir, "app"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n"), 0o644))
	srv := jamsockettest.NewServer(t, &jamsockettest.Options{Dockerfile: filepath.Join(dir, "Dockerfile")})
	conn, err := srv.Client.Spawn(context.Background(), &jamsocket.ConnectRequest{Key: "k"})
	require.NoError(t, err)
	resp, err := http.Get(conn.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestWarmPoolServesSpawnsFromRunningBackends(t *testing.T) {
	srv := jamsockettest.NewServer(t, &jamsockettest.Options{Command: jamsockettest.SelfCommand(), WarmPool: 1})
	require.Eventually(t, func() bool { return srv.Plane.WarmPool().Ready == 1 }, 30*time.Second, 2*time.Millisecond)
	assert.Empty(t, srv.Backends(), "a warm backend is in no list")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := spawnReady(ctx, t, srv, &jamsocket.ConnectRequest{Key: "warm", User: "alice"})

	resp, err := http.Get(conn.URL + "x")
	require.NoError(t, err)
	defer resp.Body.Close()
	var seen jamsockettest.EchoResponse
	require.NoError(t, decodeJSON(resp, &seen))
	assert.Equal(t, conn.BackendID, seen.BackendID, "the assignment's id")
	assert.Equal(t, "warm", seen.Key)
	assert.Equal(t, "alice", seen.Verified["x-verified-username"])
}
