package localplane_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/dockertest"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// The console's endpoints without a browser (console_browser_test.go drives
// the pages).

type consoleEvent struct {
	Type     string
	Backends []consoleRow
	Backend  *consoleRow
	ID       string
	Pool     *struct{ Size, Warming, Ready int }
}

type consoleRow struct {
	ID       string
	Key      string
	User     string
	Statuses []struct {
		Status   types.BackendStatus
		ExitCode *int `json:"exit_code"`
	}
}

func (r consoleRow) status() types.BackendStatus { return r.Statuses[len(r.Statuses)-1].Status }

func nextConsoleEvent(t *testing.T, s *sseStream) (consoleEvent, string) {
	t.Helper()
	ev, ok := s.next()
	require.True(t, ok, "the console stream ended")
	var out consoleEvent
	require.NoError(t, json.Unmarshal([]byte(ev.data), &out))
	return out, ev.id
}

func TestConsolePageIsServedWithSafetyHeaders(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	code, body, h := get(t, p.APIURL()+"/")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), `<script src="console/assets/app.js"`)
	require.Contains(t, h.Get("Content-Security-Policy"), "default-src 'self'")
	require.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))

	code, body, h = get(t, p.APIURL()+"/console/assets/app.js")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, h.Get("Content-Type"), "javascript")
	require.Contains(t, string(body), "'use strict'")

	code, _, _ = get(t, p.APIURL()+"/no-such-page")
	require.Equal(t, http.StatusNotFound, code)
}

func TestConsoleHandlerMountsUnderAPrefix(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	mux := http.NewServeMux()
	mux.Handle("/plane/", http.StripPrefix("/plane", p.Console()))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	code, body, _ := get(t, srv.URL+"/plane/")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), "Local plane")
	code, body, _ = get(t, srv.URL+"/plane/console/info")
	require.Equal(t, http.StatusOK, code, string(body))

	// The API routes the pages call are there; the rest of the API is not.
	resp, err := http.Post(srv.URL+"/plane/v2/service/acct/svc/connect", "application/json", strings.NewReader(`{"key":"mounted"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the console's connect form")
	for _, path := range []string{"/plane/pub/health", "/plane/ctrl/status", "/plane/v2/account/acct/backends", "/plane/auth"} {
		code, _, _ = get(t, srv.URL+path)
		require.Equal(t, http.StatusNotFound, code, path)
	}
}

func TestConsoleEventsListThenFollowChanges(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	first := p.connect(map[string]any{"key": "one", "user": "ann"})

	s := p.openStream(p.APIURL() + "/console/events")
	ev, resetID := nextConsoleEvent(t, s)
	require.Equal(t, "reset", ev.Type)
	require.Len(t, ev.Backends, 1)
	require.Equal(t, first.BackendID, ev.Backends[0].ID)
	require.Equal(t, "ann", ev.Backends[0].User)
	require.NotEmpty(t, resetID)

	second := p.connect(map[string]any{"key": "two"})
	for {
		ev, _ = nextConsoleEvent(t, s)
		if ev.Type == "backend" && ev.Backend.ID == second.BackendID && ev.Backend.status() == types.StatusReady {
			break
		}
	}
	require.NoError(t, p.Terminate(second.BackendID, true))
	var lastID string
	for {
		ev, lastID = nextConsoleEvent(t, s)
		if ev.Type == "backend" && ev.Backend.ID == second.BackendID && ev.Backend.status() == types.StatusTerminated {
			break
		}
	}
	last := ev.Backend.Statuses[len(ev.Backend.Statuses)-1]
	require.NotNil(t, last.ExitCode, "a terminated row carries its exit code")

	// A console that reconnects with Last-Event-ID gets no reset, only what
	// changed since; with an unknown id it gets the whole list again.
	third := p.connect(map[string]any{"key": "three"})
	resumed := p.openStream(p.APIURL()+"/console/events", "Last-Event-ID", lastID)
	for {
		ev, _ = nextConsoleEvent(t, resumed)
		require.Equal(t, "backend", ev.Type, "a resumed stream sends no reset")
		if ev.Backend.ID == third.BackendID {
			break
		}
		require.Equal(t, second.BackendID, ev.Backend.ID, "only what changed after the id")
	}

	fresh := p.openStream(p.APIURL()+"/console/events", "Last-Event-ID", "999999999")
	ev, _ = nextConsoleEvent(t, fresh)
	require.Equal(t, "reset", ev.Type)
	require.Len(t, ev.Backends, 3)
	require.Equal(t, third.BackendID, ev.Backends[0].ID, "newest first")
}

func TestConsoleLogsTellStreamsApart(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: processCommand()})
	res := p.connect(map[string]any{"key": "logs"})
	s := p.openStream(p.APIURL() + "/console/backends/" + res.BackendID + "/logs")
	seen := map[string]string{}
	for len(seen) < 2 {
		ev, ok := s.next()
		require.True(t, ok)
		var line struct{ Stream, Text string }
		require.NoError(t, json.Unmarshal([]byte(ev.data), &line))
		if line.Text == "a line on stderr" || line.Text == "listening" {
			seen[line.Text] = line.Stream
		}
	}
	require.Equal(t, map[string]string{"a line on stderr": "stderr", "listening": "stdout"}, seen)
}

func TestConsoleBackendDetail(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	res := p.connect(map[string]any{
		"key": "doc", "user": "alice", "auth": map[string]any{"role": "editor"},
		"spawn": map[string]any{"max_idle_seconds": 60, "executable": map[string]any{"env": map[string]string{"A": "1"}}},
	})
	code, body, _ := p.do("GET", "/console/backends/"+res.BackendID, nil)
	require.Equal(t, http.StatusOK, code)
	var d struct {
		User      string
		Auth      map[string]any
		StatusURL string `json:"status_url"`
		Spawn     struct {
			Env            map[string]string
			MaxIdleSeconds int `json:"max_idle_seconds"`
		}
	}
	require.NoError(t, json.Unmarshal(body, &d))
	require.Equal(t, "alice", d.User)
	require.Equal(t, map[string]any{"role": "editor"}, d.Auth)
	require.Equal(t, map[string]string{"A": "1"}, d.Spawn.Env)
	require.Equal(t, 60, d.Spawn.MaxIdleSeconds)
	require.Equal(t, res.StatusURL, d.StatusURL)
	require.NotContains(t, string(body), res.Token, "no page sees another client's token")

	code, _, _ = p.do("GET", "/console/backends/nope", nil)
	require.Equal(t, http.StatusNotFound, code)
}

func TestConsoleOpenMintsItsOwnConnection(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	res := p.connect(map[string]any{"key": "doc", "user": "alice"})
	code, body, _ := p.do("POST", "/console/backends/"+res.BackendID+"/open", map[string]any{})
	require.Equal(t, http.StatusOK, code, string(body))
	var open struct{ URL string }
	require.NoError(t, json.Unmarshal(body, &open))
	require.True(t, strings.HasPrefix(open.URL, p.ProxyURL()+"/"))
	require.NotContains(t, open.URL, res.Token)

	resp, err := http.Get(open.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the console's connection reaches the backend")
}

func TestConsoleRefusesCrossOriginAndNonJSONWrites(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	res := p.connect(map[string]any{"key": "doc"})
	path := "/console/backends/" + res.BackendID + "/open"

	code, _, _ := p.do("POST", path, map[string]any{}, "Origin", "http://evil.example")
	require.Equal(t, http.StatusForbidden, code)
	code, _, _ = p.do("POST", path, map[string]any{}, "Origin", "http://localhost:3000")
	require.Equal(t, http.StatusForbidden, code, "another page on loopback may not mint the console's connections")
	code, _, _ = p.do("POST", path, "{}", "Content-Type", "text/plain")
	require.Equal(t, http.StatusUnsupportedMediaType, code)
	code, _, _ = p.do("POST", path, map[string]any{}, "Origin", p.APIURL())
	require.Equal(t, http.StatusOK, code, "the console's own origin may")
}

func TestConsoleEndpointsNeedTheToken(t *testing.T) {
	p := startPlane(t, localplane.Config{Token: "tok"})
	for _, path := range []string{"/console/info", "/console/events", "/console/backends/x", "/console/backends/x/logs"} {
		code, _, _ := p.do("GET", path, nil)
		require.Equal(t, http.StatusUnauthorized, code, path)
	}
	code, _, _ := p.do("POST", "/console/backends/x/open", map[string]any{})
	require.Equal(t, http.StatusUnauthorized, code)
	code, _, _ = p.do("GET", "/console/info", nil, "Authorization", "Bearer tok")
	require.Equal(t, http.StatusOK, code)
	code, _, _ = get(t, p.APIURL()+"/")
	require.Equal(t, http.StatusOK, code, "the page itself is public: it asks for the token")
}

func TestConsoleShowsAContainerBackendsImage(t *testing.T) {
	b := newTestBuilder(dockertest.GoImage(t, dockertest.Client(t), testBackendPkg))
	p, _ := startContainerPlane(t, localplane.Config{Builder: b})
	res := p.connect(map[string]any{"key": "img"})
	p.statusStream(res.BackendID).until(types.StatusReady)

	code, body, _ := p.do("GET", "/console/backends/"+res.BackendID, nil)
	require.Equal(t, http.StatusOK, code)
	var d struct{ Image, Runner string }
	require.NoError(t, json.Unmarshal(body, &d))
	require.NotEmpty(t, d.Image)
	require.Equal(t, "container of "+d.Image, d.Runner)

	b.holdSpawns("the image is building")
	code, body, _ = p.do("GET", "/console/info", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), `"hold":"the image is building"`)
}

func TestConsoleEventsTellWhenABackendIsForgotten(t *testing.T) {
	p := startPlane(t, localplane.Config{RetainTerminated: 50 * time.Millisecond})
	res := p.connect(map[string]any{"key": "short"})
	s := p.openStream(p.APIURL() + "/console/events")
	ev, _ := nextConsoleEvent(t, s)
	require.Equal(t, "reset", ev.Type)
	require.NoError(t, p.Terminate(res.BackendID, true))
	for ev.Type != "forgotten" {
		ev, _ = nextConsoleEvent(t, s)
	}
	require.Equal(t, res.BackendID, ev.ID)
}

type consoleBuildEvent struct {
	Type    string
	Build   uint64
	Image   string
	Hold    string
	Rebuild bool
	Lines   []string
}

func TestConsoleBuildStreamFollowsBuilds(t *testing.T) {
	b := newTestBuilder("")
	b.rebuilds = make(chan struct{}, 1)
	p := startPlane(t, localplane.Config{Builder: b})
	s := p.openStream(p.APIURL() + "/console/build")
	next := func() consoleBuildEvent {
		ev, ok := s.next()
		require.True(t, ok)
		var out consoleBuildEvent
		require.NoError(t, json.Unmarshal([]byte(ev.data), &out))
		return out
	}
	ev := next()
	require.Equal(t, consoleBuildEvent{Type: "build", Rebuild: true}, ev)

	b.started()
	b.output("step 1")
	b.output("step 2")
	var lines []string
	for len(lines) < 2 {
		ev = next()
		if ev.Type == "build" {
			require.Equal(t, uint64(1), ev.Build)
			lines = nil
		}
		lines = append(lines, ev.Lines...)
	}
	require.Equal(t, []string{"step 1", "step 2"}, lines)

	b.output("step 3")
	for ev.Type != "lines" || ev.Lines[0] != "step 3" {
		ev = next()
	}

	b.holdSpawns("the build failed: exit status 1")
	for ev.Type != "state" || ev.Hold != "the build failed: exit status 1" {
		ev = next()
	}

	code, _, _ := p.do("POST", "/console/build/rebuild", map[string]any{})
	require.Equal(t, http.StatusAccepted, code)
	<-b.rebuilds

	plain := startPlane(t, localplane.Config{})
	code, _, _ = plain.do("POST", "/console/build/rebuild", map[string]any{})
	require.Equal(t, http.StatusNotImplemented, code, "no builder, no rebuild")
}
