package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
)

const token = "cli-SECRET-token-42"

// fakeAPI is an httptest server that answers the Jamsocket API for account
// "acct" and service "svc", and records what it was sent.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests []recorded
	// justSpawned makes the next status read answer scheduled, as a
	// server does right after a spawn.
	justSpawned bool
}

type recorded struct {
	Method, Path, Body string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t}
	mux := http.NewServeMux()
	ok := `{"status":"ok"}`
	connect := func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		_ = json.Unmarshal([]byte(f.last().Body), &req)
		id := "b1"
		if req["key"] == "doomed" {
			id = "doomed"
		}
		f.mu.Lock()
		f.justSpawned = true
		f.mu.Unlock()
		f.json(w, http.StatusOK, fmt.Sprintf(`{"backend_id":%q,"spawned":true,"status":"scheduled","token":"conn-token",
			"url":"https://%s.example/conn-token/","secret_token":"sec","status_url":"%s/v2/backend/%s/status","ready_url":""}`,
			id, id, f.srv.URL, id))
	}
	mux.HandleFunc("POST /v2/service/acct/svc/connect", connect)
	mux.HandleFunc("POST /v2/service/-/-/connect", connect)
	mux.HandleFunc("GET /v2/backend/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		status := map[string]string{"b1": "ready", "doomed": "terminated"}[r.PathValue("id")]
		f.mu.Lock()
		if f.justSpawned && status != "" {
			status, f.justSpawned = "scheduled", false
		}
		f.mu.Unlock()
		if status == "" {
			f.json(w, http.StatusNotFound, `{"error":{"message":"no such backend","code":"NotFound"}}`)
			return
		}
		f.json(w, http.StatusOK, `{"status":"`+status+`","time":"2024-08-21T17:21:15.000Z"}`)
	})
	mux.HandleFunc("GET /v2/backend/{id}/status/stream", func(w http.ResponseWriter, r *http.Request) {
		events := map[string][]string{
			"b1":     {"scheduled", "starting", "ready", "terminating", "terminated"},
			"doomed": {"scheduled", "terminating", "terminated"},
		}[r.PathValue("id")]
		w.Header().Set("Content-Type", "text/event-stream")
		for _, s := range events {
			fmt.Fprintf(w, "data: {\"status\":%q,\"time\":\"2024-08-21T17:21:15.000Z\",\"termination_reason\":%q}\n\n", s,
				map[bool]string{true: "external"}[strings.HasPrefix(s, "termin")])
		}
	})
	mux.HandleFunc("POST /v2/backend/b1/terminate", func(w http.ResponseWriter, r *http.Request) { f.json(w, http.StatusOK, ok) })
	mux.HandleFunc("GET /v2/backend/b1", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, http.StatusOK, `{"id":"b1","created_at":"2024-08-21T17:21:10.000Z","service_name":"svc","cluster_name":"c1",
			"account_name":"acct","image_digest":"sha256:1","key":"doc","statuses":[
			{"status":"ready","time":"2024-08-21T17:21:15.000Z","last_status":"waiting"},
			{"status":"scheduled","time":"2024-08-21T17:21:10.000Z"}]}`)
	})
	mux.HandleFunc("GET /v2/account/acct/backends", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, http.StatusOK, `{"running_backends":[{"id":"b1","created_at":"2024-08-21T17:21:10.000Z","service_name":"svc",
			"cluster_name":"c1","account_name":"acct","status":{"status":"ready","time":"2024-08-21T17:21:15.000Z"}}]}`)
	})
	mux.HandleFunc("GET /v2/backend/doomed/logs/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: starting up\n\ndata: listening on :8080\n\n")
	})
	mux.HandleFunc("GET /v2/backend/doomed/metrics/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, `data: {"cluster":"c1","backend_id":"doomed","mem_used":1048576,"mem_available":4194304,"cpu_used":5,"sys_cpu":100}`+"\n\n")
	})
	mux.HandleFunc("GET /v2/account/acct/services", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, http.StatusOK, `{"services":["svc","other"]}`)
	})
	mux.HandleFunc("GET /v2/service/acct/{svc}", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, http.StatusOK, `{"name":"`+r.PathValue("svc")+`","account_name":"acct","created_at":"2024-01-02T03:04:05.000Z",
			"last_spawned_at":null,"last_image_upload_time":null,"last_image_digest":null,"image_name":"reg/acct/svc",
			"environments":[{"name":"default","image_tag":"latest","cluster":"c1","created_at":"2024-01-02T03:04:05.000Z","last_spawned_at":null}]}`)
	})
	mux.HandleFunc("GET /v2/service/acct/{svc}/images", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, http.StatusOK, `{"images":[{"repository":"reg/acct/svc","digest":"sha256:1","tag":"latest","upload_time":"2024-02-03T04:05:06.000Z"}]}`)
	})
	mux.HandleFunc("POST /v2/account/acct/service", func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(f.last().Body, `"svc"`) {
			f.json(w, http.StatusConflict, `{"error":{"message":"service svc already exists","code":"ServiceExists","id":"e1"}}`)
			return
		}
		f.json(w, http.StatusOK, ok)
	})
	mux.HandleFunc("POST /v2/service/acct/{svc}/delete", func(w http.ResponseWriter, r *http.Request) { f.json(w, http.StatusOK, ok) })
	mux.HandleFunc("POST /v2/service/acct/{svc}/update", func(w http.ResponseWriter, r *http.Request) { f.json(w, http.StatusOK, ok) })
	mux.HandleFunc("POST /v2/service/acct/{svc}/{env}/update", func(w http.ResponseWriter, r *http.Request) { f.json(w, http.StatusOK, ok) })
	mux.HandleFunc("POST /service/acct/svc/terminate-backends", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, http.StatusOK, `{"backend_count":3,"terminated_count":3,"is_complete":true}`)
	})
	mux.HandleFunc("GET /auth", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, http.StatusOK, `{"status":"ok","accounts":["acct"],"is_admin":false}`)
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, recorded{r.Method, r.URL.EscapedPath(), string(body)})
		f.mu.Unlock()
		public := strings.HasSuffix(r.URL.Path, "/status") || strings.HasSuffix(r.URL.Path, "/status/stream")
		dev := strings.Contains(r.URL.Path, "/-/")
		if !public && !dev && r.Header.Get("Authorization") != "Bearer "+token {
			f.json(w, http.StatusUnauthorized, `{"error":{"message":"invalid token `+r.Header.Get("Authorization")+`","code":"Unauthorized"}}`)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) json(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (f *fakeAPI) last() recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

func (f *fakeAPI) find(method, path string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.requests {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// env is the environment of a configured caller of the fake API.
func (f *fakeAPI) env() map[string]string {
	return map[string]string{
		"JAMSOCKET_ACCOUNT": "acct", "JAMSOCKET_SERVICE": "svc", "JAMSOCKET_TOKEN": token, "JAMSOCKET_API_URL": f.srv.URL,
	}
}

type result struct {
	stdout, stderr string
	code           int
}

// cli runs the command line in-process with env as its whole environment.
func cli(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &stdout, &stderr, func(k string) string { return env[k] })
	r := result{stdout.String(), stderr.String(), code}
	assert.NotContains(t, r.stdout, token, "the token is never printed")
	assert.NotContains(t, r.stderr, token, "the token is never printed")
	if code == 0 {
		assert.Empty(t, r.stderr, "success prints nothing on stderr")
	} else {
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "a failure is one line on stderr: %q", r.stderr)
		assert.True(t, strings.HasPrefix(r.stderr, "jamsocket"), r.stderr)
	}
	return r
}

// decode parses stdout as exactly one JSON document.
func decode[T any](t *testing.T, r result) T {
	t.Helper()
	require.Equal(t, 0, r.code, r.stderr)
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	var v T
	require.NoError(t, dec.Decode(&v), r.stdout)
	var extra json.RawMessage
	require.ErrorIs(t, dec.Decode(&extra), io.EOF, "one JSON document only")
	return v
}

// decodeLines parses stdout as JSON lines.
func decodeLines[T any](t *testing.T, r result) []T {
	t.Helper()
	require.Equal(t, 0, r.code, r.stderr)
	var out []T
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var v T
		require.NoError(t, json.Unmarshal(sc.Bytes(), &v), sc.Text())
		out = append(out, v)
	}
	return out
}

func TestSpawnJSON(t *testing.T) {
	f := newFakeAPI(t)
	r := cli(t, f.env(), "spawn", "--json", "--key", "doc-1", "--tag", "v2", "--env", "A=1", "--env", "B=x=y",
		"--user", "ann", "--auth", `{"role":"editor"}`, "--lifetime", "1h", "--idle", "300")
	resp := decode[jamsocket.ConnectResponse](t, r)
	assert.Equal(t, "b1", resp.BackendID)
	assert.Equal(t, jamsocket.StatusScheduled, resp.Status)
	assert.True(t, resp.Spawned)

	sent := f.find(http.MethodPost, "/v2/service/acct/svc/connect")
	require.Len(t, sent, 1)
	assert.JSONEq(t, `{"key":"doc-1","user":"ann","auth":{"role":"editor"},"spawn":{"tag":"v2","lifetime_limit_seconds":3600,
		"max_idle_seconds":300,"executable":{"env":{"A":"1","B":"x=y"}}}}`, sent[0].Body)
}

func TestSpawnNoSpawn(t *testing.T) {
	f := newFakeAPI(t)
	r := cli(t, f.env(), "spawn", "--json", "--key", "doc-1", "--no-spawn")
	decode[jamsocket.ConnectResponse](t, r)
	assert.JSONEq(t, `{"key":"doc-1","spawn":false}`, f.find(http.MethodPost, "/v2/service/acct/svc/connect")[0].Body)

	r = cli(t, f.env(), "spawn", "--no-spawn")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "NoSpawn needs a Key")
}

func TestSpawnWait(t *testing.T) {
	f := newFakeAPI(t)
	r := cli(t, f.env(), "spawn", "--wait")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var shown []string
	for _, l := range lines {
		if strings.HasPrefix(l, "  ") {
			fields := strings.Fields(l)
			require.Len(t, fields, 2, l)
			assert.True(t, strings.HasPrefix(fields[1], "+") && strings.HasSuffix(fields[1], "s"), "elapsed time: %q", l)
			shown = append(shown, fields[0])
		}
	}
	assert.Equal(t, []string{"scheduled", "starting", "ready"}, shown, "each status, live, up to ready")
	assert.Contains(t, r.stdout, "backend_id  b1")

	resp := decode[jamsocket.ConnectResponse](t, cli(t, f.env(), "spawn", "--wait", "--json"))
	assert.Equal(t, jamsocket.StatusReady, resp.Status)
}

func TestSpawnWaitTerminated(t *testing.T) {
	f := newFakeAPI(t)
	r := cli(t, f.env(), "spawn", "--wait", "--key", "doomed")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "backend doomed is terminating")
}

func TestSpawnUsageErrors(t *testing.T) {
	f := newFakeAPI(t)
	for _, args := range [][]string{
		{"spawn", "--env", "NOEQUALS"},
		{"spawn", "--auth", "[1,2]"},
		{"spawn", "--lifetime", "soon"},
		{"spawn", "extra-arg"},
		{"spawn", "--no-such-flag"},
		{"no-such-command"},
		{"status"},
		{"service", "use-image", "svc"},
	} {
		r := cli(t, f.env(), args...)
		assert.Equal(t, exitUsage, r.code, "%v: %s", args, r.stderr)
		assert.Empty(t, r.stdout, args)
	}
	assert.Empty(t, f.find(http.MethodPost, "/v2/service/acct/svc/connect"), "nothing is sent on a usage error")
}

func TestStatus(t *testing.T) {
	f := newFakeAPI(t)
	env := f.env()
	delete(env, "JAMSOCKET_TOKEN") // public: needs no token
	state := decode[jamsocket.BackendState](t, cli(t, env, "status", "b1", "--json"))
	assert.Equal(t, jamsocket.StatusReady, state.Status)

	states := decodeLines[jamsocket.BackendState](t, cli(t, env, "status", "b1", "--follow", "--json"))
	var got []jamsocket.BackendStatus
	for _, s := range states {
		got = append(got, s.Status)
	}
	assert.Equal(t, []jamsocket.BackendStatus{"scheduled", "starting", "ready", "terminating", "terminated"}, got)
	assert.Equal(t, jamsocket.ReasonExternal, states[4].TerminationReason)

	human := cli(t, env, "status", "b1", "-f")
	assert.Len(t, strings.Split(strings.TrimSpace(human.stdout), "\n"), 5)

	r := cli(t, env, "status", "nope")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "404")
}

func TestWait(t *testing.T) {
	f := newFakeAPI(t)
	state := decode[jamsocket.BackendState](t, cli(t, f.env(), "wait", "b1", "--json"))
	assert.Equal(t, jamsocket.StatusReady, state.Status)

	r := cli(t, f.env(), "wait", "doomed")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "terminated")
}

func TestTerminate(t *testing.T) {
	f := newFakeAPI(t)
	out := decode[map[string]any](t, cli(t, f.env(), "terminate", "b1", "--hard", "--json"))
	assert.Equal(t, map[string]any{"backend_id": "b1", "hard": true, "status": "ok"}, out)
	assert.JSONEq(t, `{"hard":true}`, f.find(http.MethodPost, "/v2/backend/b1/terminate")[0].Body)

	r := cli(t, f.env(), "terminate", "b1")
	require.Equal(t, 0, r.code)
	assert.JSONEq(t, `{"hard":false}`, f.find(http.MethodPost, "/v2/backend/b1/terminate")[1].Body)
}

func TestBackendCommands(t *testing.T) {
	f := newFakeAPI(t)
	info := decode[jamsocket.BackendInfo](t, cli(t, f.env(), "backend", "info", "b1", "--json"))
	assert.EqualValues(t, "doc", info.Key)
	require.Len(t, info.Statuses, 2)
	assert.Equal(t, jamsocket.StatusScheduled, info.Statuses[0].Status, "sorted by time")
	assert.Equal(t, 0, cli(t, f.env(), "backend", "info", "b1").code)

	list := decode[[]jamsocket.BackendSummary](t, cli(t, f.env(), "backend", "list", "--json"))
	require.Len(t, list, 1)
	assert.Equal(t, "b1", list[0].ID)
	human := cli(t, f.env(), "backend", "list")
	assert.Contains(t, human.stdout, "ready")

	logs := decodeLines[jamsocket.LogLine](t, cli(t, f.env(), "backend", "logs", "doomed", "--json"))
	assert.Equal(t, []jamsocket.LogLine{{Text: "starting up"}, {Text: "listening on :8080"}}, logs)
	assert.Equal(t, "starting up\nlistening on :8080\n", cli(t, f.env(), "backend", "logs", "doomed").stdout)

	type metricsLine struct {
		jamsocket.Metrics
		CPUPercent float64 `json:"cpu_percent"`
	}
	metrics := decodeLines[metricsLine](t, cli(t, f.env(), "backend", "metrics", "doomed", "--json"))
	require.Len(t, metrics, 1)
	assert.Equal(t, float64(1<<20), metrics[0].MemUsed)
	assert.InDelta(t, 5.0, metrics[0].CPUPercent, 1e-9)
	assert.Equal(t, "cpu util\tmem used\tmem avail\n5.0%    \t1.0 MiB \t4.0 MiB\n", cli(t, f.env(), "backend", "metrics", "doomed").stdout)

	r := cli(t, f.env(), "backend", "logs", "nope")
	assert.Equal(t, exitError, r.code)
}

func TestServiceCommands(t *testing.T) {
	f := newFakeAPI(t)
	assert.Equal(t, []string{"svc", "other"}, decode[[]string](t, cli(t, f.env(), "service", "list", "--json")))

	info := decode[jamsocket.ServiceInfo](t, cli(t, f.env(), "service", "info", "--json"))
	assert.Equal(t, "svc", info.Name, "the configured service")
	info = decode[jamsocket.ServiceInfo](t, cli(t, f.env(), "service", "info", "other", "--json"))
	assert.Equal(t, "other", info.Name)
	assert.Contains(t, cli(t, f.env(), "service", "info").stdout, "  last spawn: -\n", "the official layout")

	images := decode[[]jamsocket.Image](t, cli(t, f.env(), "service", "images", "other", "--json"))
	require.Len(t, images, 1)
	assert.Equal(t, "sha256:1", images[0].Digest)
	require.Len(t, f.find(http.MethodGet, "/v2/service/acct/other/images"), 1)

	out := decode[map[string]string](t, cli(t, f.env(), "service", "create", "new-one", "--json"))
	assert.Equal(t, "ok", out["status"])
	assert.JSONEq(t, `{"name":"new-one"}`, f.find(http.MethodPost, "/v2/account/acct/service")[0].Body)

	r := cli(t, f.env(), "service", "create", "svc")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "ServiceExists: service svc already exists")

	decode[map[string]string](t, cli(t, f.env(), "service", "delete", "old", "--json"))
	require.Len(t, f.find(http.MethodPost, "/v2/service/acct/old/delete"), 1)

	decode[map[string]string](t, cli(t, f.env(), "service", "use-image", "other/staging", "v3", "--json"))
	assert.JSONEq(t, `{"image_tag":"v3"}`, f.find(http.MethodPost, "/v2/service/acct/other/staging/update")[0].Body)
	decode[map[string]string](t, cli(t, f.env(), "service", "use-image", "svc", "sha256:9", "--json"))
	require.Len(t, f.find(http.MethodPost, "/v2/service/acct/svc/update"), 1)

	res := decode[jamsocket.TerminateAllResult](t, cli(t, f.env(), "service", "terminate-all", "--dry-run", "--json",
		"--before", "2025-01-02T03:04:05Z"))
	assert.Equal(t, 3, res.BackendCount)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(f.find(http.MethodPost, "/service/acct/svc/terminate-backends")[0].Body), &body))
	assert.Equal(t, map[string]any{"before": "2025-01-02T03:04:05.000Z", "hard": false, "dry_run": true}, body)
}

func TestAuth(t *testing.T) {
	f := newFakeAPI(t)
	info := decode[jamsocket.AuthInfo](t, cli(t, f.env(), "auth", "--json"))
	assert.Equal(t, []string{"acct"}, info.Accounts)
	assert.Contains(t, cli(t, f.env(), "auth").stdout, "acct")

	// The server quotes the bad token back; the CLI must not print it.
	env := f.env()
	env["JAMSOCKET_TOKEN"] = token + "-wrong"
	r := cli(t, env, "auth")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "401")
	assert.Contains(t, r.stderr, "[redacted]")
}

func TestTokenFile(t *testing.T) {
	f := newFakeAPI(t)
	path := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(path, []byte(token+"\n"), 0o600))
	env := f.env()
	env["JAMSOCKET_TOKEN"] = "ignored"
	decode[jamsocket.AuthInfo](t, cli(t, env, "auth", "--json", "--token-file", path))

	r := cli(t, env, "auth", "--token-file", filepath.Join(t.TempDir(), "missing"))
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "token file")
}

func TestMissingConfiguration(t *testing.T) {
	r := cli(t, map[string]string{}, "spawn")
	assert.Equal(t, exitError, r.code)
	for _, v := range []string{"JAMSOCKET_ACCOUNT", "JAMSOCKET_SERVICE", "JAMSOCKET_TOKEN"} {
		assert.Contains(t, r.stderr, v)
	}
	r = cli(t, map[string]string{"JAMSOCKET_DEV": "maybe"}, "spawn")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "JAMSOCKET_DEV")
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	f := newFakeAPI(t)
	env := map[string]string{
		"JAMSOCKET_ACCOUNT": "wrong", "JAMSOCKET_SERVICE": "wrong", "JAMSOCKET_TOKEN": token,
		"JAMSOCKET_API_URL": "http://127.0.0.1:1",
	}
	decode[jamsocket.ConnectResponse](t, cli(t, env, "spawn", "--json", "--account", "acct", "--service", "svc", "--api-url", f.srv.URL))
	require.Len(t, f.find(http.MethodPost, "/v2/service/acct/svc/connect"), 1)
}

func TestDevMode(t *testing.T) {
	f := newFakeAPI(t)
	u, err := url.Parse(f.srv.URL)
	require.NoError(t, err)
	decode[jamsocket.ConnectResponse](t, cli(t, map[string]string{}, "spawn", "--json", "--dev", "--dev-port", u.Port()))
	decode[jamsocket.ConnectResponse](t, cli(t, map[string]string{"JAMSOCKET_DEV": "true", "JAMSOCKET_DEV_PORT": u.Port()}, "spawn", "--json"))
	require.Len(t, f.find(http.MethodPost, "/v2/service/-/-/connect"), 2)
}

func TestPlaneUnsupported(t *testing.T) {
	env := map[string]string{"JAMSOCKET_PLANE_URL": "http://127.0.0.1:1", "JAMSOCKET_PLANE_IMAGE": "x"}
	r := cli(t, env, "service", "list")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "not available on a Plane controller")
}

func TestHelp(t *testing.T) {
	r := cli(t, map[string]string{}, "--help")
	assert.Equal(t, 0, r.code)
	for _, c := range []string{"spawn", "status", "wait", "terminate", "backend", "service", "auth"} {
		assert.Contains(t, r.stdout, c)
	}
	for _, code := range []int{exitError, exitUsage, exitInterrupted} {
		assert.Contains(t, r.stdout, strconv.Itoa(code), "the help names every exit status")
	}
}

// An interrupt (the context main cancels on SIGINT) ends a command with one
// line and status 130, not with the wrapped context error.
func TestInterrupted(t *testing.T) {
	f := newFakeAPI(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"wait", "b1"}, &stdout, &stderr, func(k string) string { return f.env()[k] })
	assert.Equal(t, exitInterrupted, code)
	assert.Equal(t, "jamsocket: interrupted\n", stderr.String())
}

// Shell completion (cobra's) knows the commands, the subcommands and the
// flags, the official ones included.
func TestCompletion(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "log"}, "login\t"},
		{[]string{"__complete", "backend", "ter"}, "terminate\t"},
		{[]string{"__complete", "service", "connect", "svc", "--max"}, "--max-idle-seconds\t"},
		{[]string{"__complete", "push", "svc", "--include"}, "--include-git-commit\t"},
	} {
		r := binary(t, map[string]string{}, "", "", c.args...) // cobra reports the directive on stderr
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, c.want, c.args)
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		r := cli(t, map[string]string{}, "completion", shell)
		assert.Contains(t, r.stdout, "jamsocket", shell)
	}
	assert.Contains(t, cli(t, map[string]string{}, "--version").stdout, "jamsocket-go, the Go CLI")
}
