package localplane_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
)

func dialWS(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), nil)
	require.NoError(t, err)
	assert.NotEmpty(t, resp.Header.Get("X-Plane-Backend-Id"))
	return c
}

func TestProxy(t *testing.T) {
	for name, cfg := range map[string]localplane.Config{
		"handler": {},
		"process": {Command: processCommand()},
	} {
		t.Run(name, func(t *testing.T) {
			p := startPlane(t, cfg)
			res := p.connect(map[string]any{
				"key": "k1", "user": "ann", "auth": map[string]any{"role": "editor"},
				"spawn": map[string]any{"executable": map[string]any{"env": map[string]string{"FOO": "bar"}}},
			})
			// Sent before ready: the proxy waits.
			code, body, hdr := get(t, res.URL+"some/path?q=1&r=%2F",
				"X-Verified-Username", "mallory", "X-Verified-Evil", "1", "X-Test", "kept")
			require.Equal(t, http.StatusOK, code, string(body))
			assert.Equal(t, res.BackendID, hdr.Get("X-Plane-Backend-Id"))
			assert.Equal(t, "*", hdr.Get("Access-Control-Allow-Origin"))
			var e echoed
			require.NoError(t, json.Unmarshal(body, &e))
			assert.Equal(t, "/some/path", e.Path)
			assert.Equal(t, "q=1&r=%2F", e.Query)
			assert.Equal(t, map[string]string{
				"x-verified-username":  "ann",
				"x-verified-user-data": `{"role":"editor"}`,
				"x-verified-secret":    res.SecretToken,
				"x-verified-backend":   res.BackendID,
				"x-verified-path":      "/" + res.Token + "/some/path",
				"x-test":               "kept",
			}, e.Headers)
			assert.Equal(t, "bar", e.Env["FOO"])
			assert.Equal(t, res.BackendID, e.Env["SESSION_BACKEND_ID"])
			assert.Equal(t, "k1", e.Env["SESSION_BACKEND_KEY"])
			assert.Equal(t, "svc", e.Env["JAMSOCKET_SERVICE"])
			assert.NotContains(t, e.Env, "SESSION_BACKEND_STATIC_TOKEN")
			fencing, err := strconv.ParseInt(e.Env["SESSION_BACKEND_FENCING_TOKEN"], 10, 64)
			require.NoError(t, err)
			assert.InDelta(t, time.Now().UnixMilli(), fencing, 60e3)
			port, err := strconv.Atoi(e.Env["PORT"])
			require.NoError(t, err)
			assert.Positive(t, port)

			// A second connect has its own token and identity; no auth is {}.
			other := p.connect(map[string]any{"key": "k1"})
			assert.False(t, other.Spawned)
			assert.NotEqual(t, res.Token, other.Token)
			code, body, _ = get(t, strings.TrimSuffix(other.URL, "/"))
			require.Equal(t, http.StatusOK, code)
			e = echoed{}
			require.NoError(t, json.Unmarshal(body, &e))
			assert.Equal(t, "/", e.Path, "/{token} without a slash is /")
			assert.Equal(t, "{}", e.Headers["x-verified-user-data"])
			assert.NotContains(t, e.Headers, "x-verified-username")
			assert.Equal(t, other.SecretToken, e.Headers["x-verified-secret"])

			// WebSocket echo.
			ws := dialWS(t, res.URL+"ws")
			defer ws.CloseNow()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, ws.Write(ctx, websocket.MessageText, []byte("hi")))
			_, msg, err := ws.Read(ctx)
			require.NoError(t, err)
			assert.Equal(t, "echo: hi", string(msg))

			// Terminating the backend ends the WebSocket and the tokens.
			require.NoError(t, p.Terminate(res.BackendID, true))
			_, _, err = ws.Read(ctx)
			assert.Error(t, err)
			require.Eventually(t, func() bool {
				code, _, _ := get(t, res.URL)
				return code == http.StatusGone
			}, 10*time.Second, 10*time.Millisecond)
		})
	}
}

func TestProxyUnknownToken(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	code, body, _ := get(t, p.ProxyURL()+"/nosuchtoken/x")
	assert.Equal(t, http.StatusGone, code)
	assert.Empty(t, body)
	code, _, _ = get(t, p.ProxyURL()+"/")
	assert.Equal(t, http.StatusBadRequest, code)
}

func TestProxyWaitTimeout(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: processCommand(), ProxyWaitTimeout: 200e6})
	res := p.connect(map[string]any{"spawn": map[string]any{
		"executable": map[string]any{"env": map[string]string{"LOCALPLANE_TEST_BACKEND": "nolisten"}},
	}})
	code, _, _ := get(t, res.URL)
	assert.Equal(t, http.StatusGatewayTimeout, code)
}

// A client may name headers in Connection to have them dropped as
// hop-by-hop; that must not remove the verified headers the proxy sets.
func TestProxyVerifiedHeadersSurviveConnectionHeader(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	res := p.connect(map[string]any{"key": "k", "user": "ann"})
	code, body, _ := get(t, res.URL,
		"Connection", "X-Verified-Username, x-verified-secret, X-Verified-User-Data, X-Verified-Backend, X-Verified-Path")
	require.Equal(t, http.StatusOK, code, string(body))
	var e echoed
	require.NoError(t, json.Unmarshal(body, &e))
	assert.Equal(t, map[string]string{
		"x-verified-username":  "ann",
		"x-verified-user-data": "{}",
		"x-verified-secret":    res.SecretToken,
		"x-verified-backend":   res.BackendID,
		"x-verified-path":      "/" + res.Token + "/",
	}, e.Headers)
}

// What net/http and ReverseProxy report (here: a backend cutting a response
// short) goes to Config.Logger, not to the process's standard logger.
func TestProxyErrorsGoToTheLogger(t *testing.T) {
	var logs syncBuffer
	p := startPlane(t, localplane.Config{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Handler: func(localplane.Backend) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100")
				w.Write([]byte("short"))
				http.NewResponseController(w).Flush()
				panic(http.ErrAbortHandler) // closes the connection mid-body
			})
		},
	})
	var std syncBuffer
	log.SetOutput(&std)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })

	res := p.connect(map[string]any{})
	if resp, err := http.Get(res.URL); err == nil { // the proxy may cut it before the headers
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	require.Eventually(t, func() bool {
		return strings.Contains(logs.String(), "read error during body copy")
	}, 10*time.Second, 5*time.Millisecond, "plane log: %s", logs.String())
	assert.Empty(t, std.String())
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A client cannot pass an x-verified-* header of its own to the backend in
// any spelling a CGI/WSGI server would read as one: underscores, mixed
// case, duplicates; over HTTP and the WebSocket upgrade alike.
func TestProxyDropsSpoofedVerifiedHeaders(t *testing.T) {
	spoofed := http.Header{
		"x_verified_username":  {"admin"},
		"X_Verified_User_Data": {`{"role":"admin"}`},
		"X-VERIFIED-SECRET":    {"guess", "again"},
		"x-Verified_backend":   {"other"},
		"X-Verified-Path":      {"/elsewhere"},
		"X-Verified-Admin":     {"1"},
		"X_VERIFIED_ADMIN":     {"1"},
		"X-Test":               {"kept"},
	}
	for name, cfg := range map[string]localplane.Config{
		"handler": {},
		"process": {Command: processCommand()},
	} {
		t.Run(name, func(t *testing.T) {
			p := startPlane(t, cfg)
			res := p.connect(map[string]any{"key": "k", "user": "ann"})
			want := map[string]string{
				"x-verified-username":  "ann",
				"x-verified-user-data": "{}",
				"x-verified-secret":    res.SecretToken,
				"x-verified-backend":   res.BackendID,
				"x-verified-path":      "/" + res.Token + "/",
				"x-test":               "kept",
			}

			req, err := http.NewRequest(http.MethodGet, res.URL, nil)
			require.NoError(t, err)
			for k, v := range spoofed {
				req.Header[k] = v // as spelled, not canonicalized
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
			var e echoed
			require.NoError(t, json.Unmarshal(body, &e))
			assert.Equal(t, want, e.Headers, "HTTP")

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			hdr := http.Header{}
			for k, v := range spoofed {
				hdr[k] = v
			}
			ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(res.URL, "http")+"wsheaders", &websocket.DialOptions{HTTPHeader: hdr})
			require.NoError(t, err)
			defer ws.CloseNow()
			_, msg, err := ws.Read(ctx)
			require.NoError(t, err)
			var got map[string]string
			require.NoError(t, json.Unmarshal(msg, &got))
			want["x-verified-path"] = "/" + res.Token + "/wsheaders"
			assert.Equal(t, want, got, "WebSocket upgrade")
		})
	}
}

// A process backend gets the drone's variables, the spawn's env and the
// pass-through set of the plane's environment, never the plane's
// credentials.
func TestProcessBackendEnvironment(t *testing.T) {
	t.Setenv("JAMSOCKET_TOKEN", "hosted-api-token")
	t.Setenv("LOCALPLANE_TEST_PASS", "passed")
	for name, pass := range map[string][]string{"default": nil, "pass": {"LOCALPLANE_TEST_PASS"}} {
		t.Run(name, func(t *testing.T) {
			p := startPlane(t, localplane.Config{Command: processCommand(), PassEnv: pass})
			res := p.connect(map[string]any{"key": "k"})
			code, body, _ := get(t, res.URL)
			require.Equal(t, http.StatusOK, code, string(body))
			var e echoed
			require.NoError(t, json.Unmarshal(body, &e))
			assert.NotContains(t, e.Env, "JAMSOCKET_TOKEN")
			assert.Equal(t, os.Getenv("PATH"), e.Env["PATH"])
			assert.Equal(t, res.BackendID, e.Env["SESSION_BACKEND_ID"])
			if pass != nil {
				assert.Equal(t, "passed", e.Env["LOCALPLANE_TEST_PASS"])
			} else {
				assert.NotContains(t, e.Env, "LOCALPLANE_TEST_PASS")
			}
		})
	}
}

func TestNewRefusesAMissingCommand(t *testing.T) {
	_, err := localplane.New(localplane.Config{Command: []string{"/nonexistent/backend"}})
	assert.ErrorContains(t, err, "/nonexistent/backend")
}

// A Config names one runner: two or three of Command, Handler and Container
// are refused by New, not silently ranked.
func TestNewRefusesMoreThanOneRunner(t *testing.T) {
	handler := func(localplane.Backend) http.Handler { return http.NotFoundHandler() }
	command := []string{os.Args[0]}
	container := &localplane.ContainerConfig{Image: "never-started"}
	for name, cfg := range map[string]localplane.Config{
		"command and handler":   {Command: command, Handler: handler},
		"command and container": {Command: command, Container: container},
		"handler and container": {Handler: handler, Container: container},
		"all three":             {Command: command, Handler: handler, Container: container},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := localplane.New(cfg)
			assert.Nil(t, s)
			assert.ErrorContains(t, err, "more than one of Command, Handler and Container")
		})
	}
	s, err := localplane.New(localplane.Config{Handler: handler})
	require.NoError(t, err)
	require.NoError(t, s.Close())
}
