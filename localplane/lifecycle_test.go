package localplane_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

var isoTime = regexp.MustCompile(`"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"`)

func TestLifecycleThroughStatusStream(t *testing.T) {
	for name, cfg := range map[string]localplane.Config{
		"handler": {},
		"process": {Command: processCommand()},
	} {
		t.Run(name, func(t *testing.T) {
			p := startPlane(t, cfg)
			res := p.connect(map[string]any{"key": "room-1"})
			assert.True(t, res.Spawned)
			assert.Equal(t, types.StatusScheduled, res.Status)
			assert.Equal(t, p.APIURL()+"/v2/backend/"+res.BackendID+"/status", res.StatusURL)
			assert.Equal(t, p.ProxyURL()+"/"+res.Token+"/", res.URL)
			assert.Regexp(t, `^[a-z0-9]{14}$`, res.BackendID)
			assert.Regexp(t, `^[A-Za-z0-9_-]{43}$`, res.Token)
			assert.Regexp(t, `^[A-Za-z0-9_-]{43}$`, res.SecretToken)

			stream := p.statusStream(res.BackendID)
			require.Equal(t, "*", stream.resp.Header.Get("Access-Control-Allow-Origin"))
			seen := stream.until(types.StatusReady)
			assert.Equal(t, lifecycle, statuses(seen))
			for i := 1; i < len(seen); i++ {
				assert.True(t, seen[i].Time.After(seen[i-1].Time), "times strictly increase")
			}

			code, body, hdr := p.do("GET", "/v2/backend/"+res.BackendID+"/status", nil)
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, "*", hdr.Get("Access-Control-Allow-Origin"))
			assert.Regexp(t, isoTime, string(body))
			assert.JSONEq(t, `{"status":"ready","time":`+isoTime.FindString(string(body))[7:]+`}`, string(body))

			code, body, _ = p.do("POST", "/v2/backend/"+res.BackendID+"/terminate", wire.TerminateRequest{})
			require.Equal(t, http.StatusOK, code)
			assert.JSONEq(t, `{"status":"ok"}`, string(body))

			rest := stream.until(types.StatusTerminated)
			require.Equal(t, []types.BackendStatus{types.StatusTerminating, types.StatusTerminated}, statuses(rest))
			assert.Equal(t, types.ReasonExternal, rest[0].TerminationReason)
			assert.Empty(t, rest[0].TerminationKind, "public terminating entries carry no kind")
			assert.Equal(t, types.KindSoft, rest[1].TerminationKind)
			require.NotNil(t, rest[1].ExitError)
			assert.False(t, *rest[1].ExitError, "a graceful exit is no error")
			_, ok := stream.next()
			assert.False(t, ok, "the Jamsocket stream ends after terminated")

			// Terminated backends stay readable; a second terminate conflicts.
			code, body, _ = p.do("GET", "/v2/backend/"+res.BackendID+"/status", nil)
			require.Equal(t, http.StatusOK, code)
			assert.Contains(t, string(body), `"status":"terminated"`)
			code, body, _ = p.do("POST", "/v2/backend/"+res.BackendID+"/terminate", wire.TerminateRequest{Hard: true})
			assert.Equal(t, http.StatusConflict, code)
			assert.Equal(t, "BackendNotRunning", errorCode(t, body))

			// A stream opened after the end replays everything and ends.
			replay := p.statusStream(res.BackendID).until(types.StatusTerminated)
			assert.Len(t, replay, 7)
		})
	}
}

func TestHardTerminate(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: processCommand()})
	res := p.connect(nil)
	stream := p.statusStream(res.BackendID)
	stream.until(types.StatusReady)
	require.NoError(t, p.Terminate(res.BackendID, true))
	rest := stream.until(types.StatusTerminated)
	require.Equal(t, []types.BackendStatus{types.StatusHardTerminating, types.StatusTerminated}, statuses(rest))
	assert.Equal(t, types.ReasonExternal, rest[1].TerminationReason)
	assert.Equal(t, types.KindHard, rest[1].TerminationKind)
	assert.True(t, *rest[1].ExitError, "SIGKILL is exit code 137")
	assert.ErrorIs(t, p.Terminate(res.BackendID, true), localplane.ErrNotRunning)
	assert.ErrorIs(t, p.Terminate("nosuchbackend0", true), localplane.ErrNotFound)
}

func TestSoftTerminateEscalatesAfterGrace(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: processCommand(), GracePeriod: 200e6})
	res := p.connect(map[string]any{"spawn": map[string]any{
		"executable": map[string]any{"env": map[string]string{"LOCALPLANE_TEST_BACKEND": "ignoreterm"}},
	}})
	stream := p.statusStream(res.BackendID)
	stream.until(types.StatusReady)
	start := time.Now()
	require.NoError(t, p.Terminate(res.BackendID, false))
	rest := stream.until(types.StatusHardTerminating)
	// Measured on the test's monotonic clock, not from the stamped times:
	// those are rounded to milliseconds and nudged forward to stay strictly
	// increasing, so their differences can be a millisecond short.
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "SIGKILL only after the grace period")
	rest = append(rest, stream.until(types.StatusTerminated)...)
	require.Equal(t, []types.BackendStatus{types.StatusTerminating, types.StatusHardTerminating, types.StatusTerminated}, statuses(rest))
	for _, st := range rest {
		assert.Equal(t, types.ReasonExternal, st.TerminationReason, "the reason is kept")
	}
}

func TestCrashFreesKeyAndToken(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: processCommand()})
	res := p.connect(map[string]any{"key": "crashy"})
	stream := p.statusStream(res.BackendID)
	stream.until(types.StatusReady)

	code, _, _ := get(t, res.URL+"crash")
	assert.Equal(t, http.StatusBadGateway, code, "the backend died mid-request")
	rest := stream.until(types.StatusTerminated)
	require.Equal(t, []types.BackendStatus{types.StatusTerminated}, statuses(rest), "no terminating: it exited by itself")
	assert.Empty(t, rest[0].TerminationReason)
	require.NotNil(t, rest[0].ExitError)
	assert.True(t, *rest[0].ExitError)

	code, body, _ := get(t, res.URL)
	assert.Equal(t, http.StatusGone, code)
	assert.Empty(t, body)

	code, body, _ = p.do("GET", "/v2/backend/"+res.BackendID, nil)
	require.Equal(t, http.StatusOK, code)
	var info struct {
		Statuses []map[string]any `json:"statuses"`
		Key      string           `json:"key"`
	}
	require.NoError(t, json.Unmarshal(body, &info))
	last := info.Statuses[len(info.Statuses)-1]
	assert.Equal(t, "terminated", last["status"])
	assert.EqualValues(t, 3, last["exit_code"])
	assert.Equal(t, "ready", last["last_status"])
	assert.NotContains(t, last, "exit_error")
	assert.Equal(t, "crashy", info.Key)
	sum, ok := p.Backend(res.BackendID)
	require.True(t, ok)
	require.NotNil(t, sum.ExitCode, "the summary says how it ended")
	assert.Equal(t, 3, *sum.ExitCode)

	again := p.connect(map[string]any{"key": "crashy"})
	assert.True(t, again.Spawned, "the key is free again")
	assert.NotEqual(t, res.BackendID, again.BackendID)
}

func TestStartupTimeout(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: processCommand(), StartupTimeout: 300e6})
	res := p.connect(map[string]any{"spawn": map[string]any{
		"executable": map[string]any{"env": map[string]string{"LOCALPLANE_TEST_BACKEND": "nolisten"}},
	}})
	seen := p.statusStream(res.BackendID).until(types.StatusTerminated)
	require.Equal(t, []types.BackendStatus{types.StatusScheduled, types.StatusLoading, types.StatusStarting,
		types.StatusWaiting, types.StatusHardTerminating, types.StatusTerminated}, statuses(seen))
	assert.Equal(t, types.ReasonStartupTimeout, seen[5].TerminationReason)
}

func TestIdleSweep(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	res := p.connect(map[string]any{"spawn": map[string]any{"max_idle_seconds": 1}})
	stream := p.statusStream(res.BackendID)
	stream.until(types.StatusReady)
	start := time.Now() // the request's activity comes after this
	code, _, _ := get(t, res.URL)
	require.Equal(t, http.StatusOK, code)
	rest := stream.until(types.StatusTerminating)
	// The sweep comes max_idle after the last activity. Measured on the
	// test's monotonic clock: the stamped status times are rounded to
	// milliseconds and nudged forward to stay strictly increasing (ready
	// often is, right after waiting), so comparing them came out at 0.999 s.
	assert.GreaterOrEqual(t, time.Since(start), time.Second)
	require.Len(t, rest, 1, "nothing between ready and terminating")
	assert.Equal(t, types.ReasonSwept, rest[0].TerminationReason)
	stream.until(types.StatusTerminated)
}

func TestDefaultMaxIdle(t *testing.T) {
	p := startPlane(t, localplane.Config{DefaultMaxIdleSeconds: 1})
	res := p.connect(nil) // no spawn object: the default applies
	rest := p.statusStream(res.BackendID).until(types.StatusTerminating)
	assert.Equal(t, types.ReasonSwept, rest[len(rest)-1].TerminationReason)
}

func TestLifetimeLimitDespiteOpenConnection(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	start := time.Now() // the backend is created after this
	res := p.connect(map[string]any{"spawn": map[string]any{"max_idle_seconds": 1, "lifetime_limit_seconds": 2}})
	stream := p.statusStream(res.BackendID)
	stream.until(types.StatusReady)
	ws := dialWS(t, res.URL+"ws") // an open connection keeps it from idling
	defer ws.CloseNow()
	rest := stream.until(types.StatusTerminating)
	// On the test's monotonic clock, not from the rounded status times.
	assert.GreaterOrEqual(t, time.Since(start), 2*time.Second, "swept by the lifetime, not the idle limit")
	require.Len(t, rest, 1, "nothing between ready and terminating")
	assert.Equal(t, types.ReasonSwept, rest[0].TerminationReason)
	stream.until(types.StatusTerminated)
}
