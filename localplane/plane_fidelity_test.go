package localplane_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// The behaviours of issue 18 where the local plane follows what Plane's
// source and the official dev server do, on both API surfaces.

// surface is one API surface as these tests drive it: a connect with spawn
// fields and an executable, and the backend's status stream.
type surface struct {
	name string
	// connect spawns a backend and returns its id and connection URL.
	connect func(p *plane, spawn, executable map[string]any) (id, url string)
	// stream opens the backend's status stream.
	stream func(p *plane, id string) *sseStream
	// status fetches the backend's status as raw JSON.
	status func(p *plane, id string) string
}

var surfaces = []surface{
	{
		name: "jamsocket",
		connect: func(p *plane, spawn, executable map[string]any) (string, string) {
			sp := map[string]any{"executable": executable}
			for k, v := range spawn {
				sp[k] = v
			}
			res := p.connect(map[string]any{"spawn": sp})
			return res.BackendID, res.URL
		},
		stream: func(p *plane, id string) *sseStream { return p.statusStream(id) },
		status: func(p *plane, id string) string {
			code, body, _ := p.do("GET", "/v2/backend/"+id+"/status", nil)
			require.Equal(p.t, http.StatusOK, code, string(body))
			return string(body)
		},
	},
	{
		name: "plane",
		connect: func(p *plane, spawn, executable map[string]any) (string, string) {
			ex := map[string]any{"image": "ignored:latest"}
			for k, v := range executable {
				ex[k] = v
			}
			sc := planeSpawn(spawn)
			sc["executable"] = ex
			res := p.planeConnect(map[string]any{"spawn_config": sc})
			return res.BackendID, res.URL
		},
		stream: func(p *plane, id string) *sseStream {
			return p.openStream(p.APIURL() + "/pub/b/" + id + "/status-stream")
		},
		status: func(p *plane, id string) string {
			code, body, _ := p.do("GET", "/pub/b/"+id+"/status", nil)
			require.Equal(p.t, http.StatusOK, code, string(body))
			return string(body)
		},
	},
}

// inMode is an executable that runs the test backend in mode.
func inMode(mode string) map[string]any {
	return map[string]any{"env": map[string]string{"LOCALPLANE_TEST_BACKEND": mode}}
}

// Plane's idle time counts from the spawn, in every status but scheduled
// and terminated: a backend still waiting to answer when max_idle_seconds
// runs out is swept, long before its startup timeout.
func TestIdleSweepCountsFromTheSpawn(t *testing.T) {
	for _, sf := range surfaces {
		t.Run(sf.name, func(t *testing.T) {
			t.Parallel()
			p := startPlane(t, localplane.Config{Command: processCommand(), StartupTimeout: time.Minute})
			start := time.Now()
			id, _ := sf.connect(p, map[string]any{"max_idle_seconds": 1}, inMode("nolisten"))
			seen := sf.stream(p, id).until(types.StatusTerminated)
			assert.Less(t, time.Since(start), 30*time.Second, "swept, not timed out at startup")
			// On the test's monotonic clock: the status times are rounded.
			assert.GreaterOrEqual(t, time.Since(start), time.Second, "after max_idle_seconds")
			require.Equal(t, []types.BackendStatus{types.StatusScheduled, types.StatusLoading, types.StatusStarting,
				types.StatusWaiting, types.StatusTerminating, types.StatusTerminated}, statuses(seen))
			assert.Equal(t, types.ReasonSwept, seen[4].TerminationReason, "swept while waiting")
			assert.Equal(t, types.ReasonSwept, seen[5].TerminationReason)
		})
	}
}

// A static token reaches the backend as on Plane's proxy: no user data,
// and an x-verified-secret that is present and empty.
func TestStaticTokenHeadersAsOnPlane(t *testing.T) {
	for _, sf := range surfaces {
		t.Run(sf.name, func(t *testing.T) {
			t.Parallel()
			// Static tokens: the dev server's --use-static-token on the
			// Jamsocket surface, the spawn config's use_static_token on Plane's.
			jamsocket := sf.name == "jamsocket"
			p := startPlane(t, localplane.Config{UseStaticToken: jamsocket})
			spawn := map[string]any{"use_static_token": true}
			if jamsocket {
				spawn = nil
			}
			id, url := sf.connect(p, spawn, nil)
			sf.stream(p, id).until(types.StatusReady)

			code, body, _ := get(t, url+"x")
			require.Equal(t, http.StatusOK, code, string(body))
			var e echoed
			require.NoError(t, json.Unmarshal(body, &e))
			assert.NotContains(t, e.Headers, "x-verified-user-data")
			assert.NotContains(t, e.Headers, "x-verified-username")
			secret, sent := e.Headers["x-verified-secret"]
			assert.True(t, sent, "x-verified-secret is sent")
			assert.Empty(t, secret)
			assert.Equal(t, id, e.Headers["x-verified-backend"])
		})
	}
}

// Resource limits Plane's drone cannot parse (cpu_period and
// cpu_time_limit are u64, cpu_period_percent u8) are accepted at connect
// and end the backend terminated with no reason, while it is loading.
func TestLimitsPlaneCannotReadEndTheBackend(t *testing.T) {
	unreadable := map[string]map[string]any{
		"negative cpu_period":         {"cpu_period": -1},
		"negative cpu_time_limit":     {"cpu_time_limit": -1},
		"cpu_period_percent over 255": {"cpu_period_percent": 256},
		"negative cpu_period_percent": {"cpu_period_percent": -1},
	}
	for _, sf := range surfaces {
		t.Run(sf.name, func(t *testing.T) {
			t.Parallel()
			p := startPlane(t, localplane.Config{})
			for name, limits := range unreadable {
				id, _ := sf.connect(p, nil, map[string]any{"resource_limits": limits})
				seen := sf.stream(p, id).until(types.StatusTerminated)
				require.Equal(t, []types.BackendStatus{types.StatusScheduled, types.StatusLoading, types.StatusTerminated},
					statuses(seen), name)
				assertNeverRan(t, sf, seen[2], name)
			}

			// The edges of Plane's ranges run.
			id, _ := sf.connect(p, nil, map[string]any{"resource_limits": map[string]any{
				"cpu_period": 1, "cpu_time_limit": 0, "cpu_period_percent": 255,
			}})
			sf.stream(p, id).until(types.StatusReady)
		})
	}
}

// assertNeverRan checks the terminated state of a backend that never ran,
// as Plane records it: no reason, no kind, exit_error false; the
// Jamsocket surface shows it as the official dev server does, without a
// false exit_error.
func assertNeverRan(t *testing.T, sf surface, last types.BackendState, msg string) {
	t.Helper()
	assert.Empty(t, last.TerminationReason, msg)
	assert.Empty(t, last.TerminationKind, msg)
	if sf.name == "plane" {
		if assert.NotNil(t, last.ExitError, msg) {
			assert.False(t, *last.ExitError, msg)
		}
	} else {
		assert.Nil(t, last.ExitError, msg)
	}
}

// A backend whose runner cannot start it ends as on Plane: terminated
// after starting, with no reason, no kind and exit_error false.
func TestFailedStartEndsAsOnPlane(t *testing.T) {
	for _, sf := range surfaces {
		for name, cfg := range map[string]localplane.Config{
			"handler": {Handler: func(localplane.Backend) http.Handler { panic("cannot start") }},
			"process": {Command: processCommand(), Dir: filepath.Join(t.TempDir(), "gone")},
		} {
			t.Run(sf.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				p := startPlane(t, cfg)
				id, url := sf.connect(p, nil, nil)
				seen := sf.stream(p, id).until(types.StatusTerminated)
				require.Equal(t, []types.BackendStatus{types.StatusScheduled, types.StatusLoading, types.StatusStarting,
					types.StatusTerminated}, statuses(seen))
				assertNeverRan(t, sf, seen[3], "")

				raw := sf.status(p, id)
				assert.NotContains(t, raw, "termination_reason")
				assert.NotContains(t, raw, "termination_kind")
				code, _, _ := get(t, url)
				assert.Equal(t, http.StatusGone, code)
				if sf.name == "jamsocket" {
					assert.JSONEq(t, `{"status":"terminated","time":`+isoTime.FindString(raw)[7:]+`}`, raw,
						"a bare terminated, as the official dev server shows it")
					code, body, _ := p.do("GET", "/v2/backend/"+id, nil)
					require.Equal(t, http.StatusOK, code)
					var info types.BackendInfo
					require.NoError(t, json.Unmarshal(body, &info))
					last := info.Statuses[len(info.Statuses)-1]
					assert.Equal(t, types.StatusStarting, last.LastStatus)
					assert.Nil(t, last.ExitCode, "no process ever exited")
				}
				sum, ok := p.Backend(id)
				require.True(t, ok)
				assert.Nil(t, sum.ExitCode)
				assert.Empty(t, sum.TerminationReason)
			})
		}
	}
}

// A connect that cannot spawn now answers on Plane's surface as Plane's
// controller does when it has no drone: 500, kind NoDroneAvailable. The
// Jamsocket surface keeps its 503 NotReadyToSpawn.
func TestNoDroneAvailableIsPlanes500(t *testing.T) {
	b := newTestBuilder("")
	p := startPlane(t, localplane.Config{Builder: b}, func(s *localplane.Server) { localplane.SetBounds(s, 1, 10, 1024) })
	spawn := map[string]any{"spawn_config": planeSpawn(nil)}
	b.holdSpawns("the image is building")
	code, body, _ := p.do("POST", "/ctrl/connect", spawn)
	require.Equal(t, http.StatusInternalServerError, code, string(body))
	assert.Equal(t, "NoDroneAvailable", planeKind(t, body))
	assert.Contains(t, string(body), "No active drone available.")
	assert.Contains(t, string(body), "the image is building")
	code, body, _ = p.do("POST", "/v2/service/acct/svc/connect", map[string]any{})
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))
	assert.Equal(t, "NotReadyToSpawn", errorCode(t, body))

	b.holdSpawns("")
	p.planeConnect(spawn)
	code, body, _ = p.do("POST", "/ctrl/connect", spawn)
	require.Equal(t, http.StatusInternalServerError, code, "beyond the live bound: %s", body)
	assert.Equal(t, "NoDroneAvailable", planeKind(t, body))
}

// The Jamsocket status stream sends data: lines only, as the official dev
// server's does; Plane's keeps its keep-alive comments.
func TestJamsocketStatusStreamSendsOnlyData(t *testing.T) {
	p := startPlane(t, localplane.Config{}) // keep-alives every 50 ms
	res := p.connect(map[string]any{"key": "quiet"})
	js := p.statusStream(res.BackendID)
	js.until(types.StatusReady)
	pl := p.openStream(p.APIURL() + "/pub/b/" + res.BackendID + "/status-stream")
	pl.until(types.StatusReady)
	pl.keepAlives(2) // two keep-alive intervals of silence pass
	require.NoError(t, p.Terminate(res.BackendID, false))
	for {
		ev, ok := js.next() // fails the test on any line but data:
		if !ok {
			break
		}
		assert.Empty(t, ev.id, "no id: lines either")
	}
	assert.Zero(t, js.comments, "no keep-alive comments")
}

// The proxy's own answers (400, 410, 502, 504) carry the CORS headers of
// proxied ones, as Plane's proxy's do, so that a page on another origin can
// read them.
func TestProxyOwnAnswersCarryCORS(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: processCommand(), ProxyWaitTimeout: 200 * time.Millisecond})
	ready := p.connect(map[string]any{"key": "ready"})
	stream := p.statusStream(ready.BackendID)
	stream.until(types.StatusReady)
	starting := p.connect(map[string]any{"spawn": map[string]any{"executable": inMode("nolisten")}})

	for _, tc := range []struct {
		name string
		url  string
		want int
	}{
		{"proxied", ready.URL, http.StatusOK},
		{"no token", p.ProxyURL() + "/", http.StatusBadRequest},
		{"unknown token", p.ProxyURL() + "/nosuchtoken/x", http.StatusGone},
		{"not ready in time", starting.URL, http.StatusGatewayTimeout},
		{"the backend died mid-request", ready.URL + "crash", http.StatusBadGateway},
		{"after the end", ready.URL, http.StatusGone},
	} {
		if tc.name == "after the end" {
			stream.until(types.StatusTerminated)
		}
		code, _, hdr := get(t, tc.url, "Origin", "http://page.example")
		require.Equal(t, tc.want, code, tc.name)
		assert.Equal(t, "*", hdr.Get("Access-Control-Allow-Origin"), tc.name)
		assert.Equal(t, "*", hdr.Get("Access-Control-Allow-Methods"), tc.name)
		assert.Equal(t, "*, Authorization", hdr.Get("Access-Control-Allow-Headers"), tc.name)
	}
}

// keepAlives reads the stream until n keep-alive comments have come: at
// least n keep-alive intervals of silence have passed.
func (s *sseStream) keepAlives(n int) {
	s.t.Helper()
	for n > 0 {
		line, err := s.r.ReadString('\n')
		require.NoError(s.t, err)
		if line == ":\n" {
			n--
		}
	}
}
