package types

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/jsontest"
)

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestConnectRequestMarshal(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  ConnectRequest
		want string
	}{
		{"empty", ConnectRequest{}, `{}`},
		{"key only, spawn omitted", ConnectRequest{Key: "doc-1"}, `{"key":"doc-1"}`},
		{"no spawn", ConnectRequest{Key: "doc-1", NoSpawn: true}, `{"key":"doc-1","spawn":false}`},
		{"no spawn wins over spawn", ConnectRequest{Key: "k", NoSpawn: true, Spawn: &SpawnConfig{Tag: "v1"}}, `{"key":"k","spawn":false}`},
		{"spawn object", ConnectRequest{Spawn: &SpawnConfig{
			Tag: "v2", Cluster: "c1", LifetimeLimitSeconds: 3600, MaxIdleSeconds: 60,
			Executable: &Executable{
				Mount: MountByKey(), Env: map[string]string{"A": "1"},
				ResourceLimits: &ResourceLimits{CPUPeriod: 100000, CPUPeriodPercent: 100, CPUTimeLimit: 10, MemoryLimitBytes: 1 << 30, DiskLimitBytes: 2 << 30},
			},
		}}, `{"spawn":{"tag":"v2","cluster":"c1","lifetime_limit_seconds":3600,"max_idle_seconds":60,"executable":{"mount":true,"env":{"A":"1"},"resource_limits":{"cpu_period":100000,"cpu_period_percent":100,"cpu_time_limit":10,"memory_limit_bytes":1073741824,"disk_limit_bytes":2147483648}}}}`},
		{"empty spawn object", ConnectRequest{Spawn: &SpawnConfig{}}, `{"spawn":{}}`},
		{"mount path", ConnectRequest{Spawn: &SpawnConfig{Executable: &Executable{Mount: MountPath("data/x")}}}, `{"spawn":{"executable":{"mount":"data/x"}}}`},
		{"user and auth", ConnectRequest{User: "alice", Auth: map[string]any{"role": "editor"}}, `{"user":"alice","auth":{"role":"editor"}}`},
		{"nil auth left out", ConnectRequest{User: "alice", Auth: nil}, `{"user":"alice"}`},
		{"empty auth left out, never null", ConnectRequest{Auth: map[string]any{}}, `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := marshal(t, tc.req)
			assert.JSONEq(t, tc.want, got)
			assert.NotContains(t, got, "null")
			// A pointer encodes the same.
			assert.JSONEq(t, tc.want, marshal(t, &tc.req))
		})
	}
}

func TestConnectRequestUnmarshal(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want ConnectRequest
	}{
		{"spawn omitted", `{"key":"k"}`, ConnectRequest{Key: "k"}},
		{"spawn false", `{"key":"k","spawn":false}`, ConnectRequest{Key: "k", NoSpawn: true}},
		{"spawn true", `{"key":"k","spawn":true}`, ConnectRequest{Key: "k"}},
		{"spawn null", `{"spawn":null}`, ConnectRequest{}},
		{"spawn object", `{"spawn":{"tag":"v1","max_idle_seconds":5,"executable":{"mount":"p","env":{"X":"y"}}}}`,
			ConnectRequest{Spawn: &SpawnConfig{Tag: "v1", MaxIdleSeconds: 5, Executable: &Executable{Mount: &Mount{Path: "p"}, Env: map[string]string{"X": "y"}}}}},
		{"spawn with spaces", `{"spawn": false }`, ConnectRequest{NoSpawn: true}},
		{"auth object", `{"user":"u","auth":{"a":1}}`, ConnectRequest{User: "u", Auth: map[string]any{"a": 1.0}}},
		{"auth null", `{"auth":null}`, ConnectRequest{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got ConnectRequest
			require.NoError(t, json.Unmarshal([]byte(tc.in), &got))
			assert.Equal(t, tc.want, got)
		})
	}
	for _, bad := range []string{`{"spawn":1}`, `{"spawn":"yes"}`, `{"spawn":[]}`, `{"spawn":{"tag":1}}`, `[]`, `{"key":3}`} {
		var got ConnectRequest
		assert.Error(t, json.Unmarshal([]byte(bad), &got), bad)
	}
}

func TestMount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mount
	}{
		{`true`, Mount{ByKey: true}},
		{`false`, Mount{}},
		{`"a/b"`, Mount{Path: "a/b"}},
		{`null`, Mount{}},
	} {
		var m Mount
		require.NoError(t, json.Unmarshal([]byte(tc.in), &m), tc.in)
		assert.Equal(t, tc.want, m, tc.in)
	}
	var m Mount
	assert.Error(t, json.Unmarshal([]byte(`1`), &m))
	assert.Error(t, json.Unmarshal([]byte(`{}`), &m))
	assert.Equal(t, `true`, marshal(t, MountByKey()))
	assert.Equal(t, `"x"`, marshal(t, MountPath("x")))
	assert.Equal(t, `"x"`, marshal(t, Mount{ByKey: true, Path: "x"}), "a path wins")
	assert.Equal(t, `false`, marshal(t, Mount{}))
}

func TestConnectResponse(t *testing.T) {
	const full = `{"backend_id":"knrv5","spawned":true,"status":"scheduled","token":"tok-abc","url":"https://knrv5.p.jamsocket.net/tok-abc/","secret_token":"sec-xyz","status_url":"https://api.jamsocket.com/v2/backend/knrv5/status","ready_url":"https://ready.jamsocket.com/knrv5/tok-abc"}`
	var r ConnectResponse
	require.NoError(t, json.Unmarshal([]byte(full), &r))
	assert.Equal(t, ConnectResponse{
		BackendID: "knrv5", Spawned: true, Status: StatusScheduled, Token: "tok-abc",
		URL: "https://knrv5.p.jamsocket.net/tok-abc/", SecretToken: "sec-xyz",
		StatusURL: "https://api.jamsocket.com/v2/backend/knrv5/status", ReadyURL: "https://ready.jamsocket.com/knrv5/tok-abc",
	}, r)
	assert.JSONEq(t, full, marshal(t, r))

	t.Run("secret_token null and ready_url absent", func(t *testing.T) {
		var r ConnectResponse
		require.NoError(t, json.Unmarshal([]byte(`{"backend_id":"b","spawned":false,"status":"ready","token":"s.t","url":"u","secret_token":null,"status_url":"s"}`), &r))
		assert.Equal(t, "", r.SecretToken)
		assert.Equal(t, "", r.ReadyURL)
		assert.False(t, r.Spawned)
		assert.Contains(t, marshal(t, r), `"secret_token":null`)
	})
	t.Run("unknown fields ignored, unknown status kept", func(t *testing.T) {
		var r ConnectResponse
		require.NoError(t, json.Unmarshal([]byte(`{"backend_id":"b","spawned":true,"status":"warming","token":"t","url":"u","status_url":"s","drone":"d1","subdomain":null}`), &r))
		assert.Equal(t, BackendStatus("warming"), r.Status)
	})
	t.Run("missing required fields are named", func(t *testing.T) {
		var r ConnectResponse
		err := json.Unmarshal([]byte(`{"backend_id":"b","spawned":true}`), &r)
		require.Error(t, err)
		for _, f := range []string{"status", "token", "url", "status_url"} {
			assert.Contains(t, err.Error(), f)
		}
		assert.Error(t, json.Unmarshal([]byte(`"nope"`), &r))
		assert.Error(t, json.Unmarshal([]byte(`{"backend_id":1}`), &r))
	})
}

func TestConnectResponseRedaction(t *testing.T) {
	r := ConnectResponse{BackendID: "b1", Status: StatusReady, Token: "tok-SECRET1", URL: "https://b1.example/tok-SECRET1/",
		SecretToken: "sec-SECRET2", StatusURL: "https://api.example/v2/backend/b1/status", ReadyURL: "https://ready.example/b1/tok-SECRET1"}
	printed := fmt.Sprintf("%v %+v %#v %s", r, r, r, r) + fmt.Sprintf("%v %+v %#v", &r, &r, &r)
	var jsonBuf, textBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonBuf, nil)).Info("spawned", "conn", r, "ptr", &r)
	slog.New(slog.NewTextHandler(&textBuf, nil)).Info("spawned", "conn", r, "ptr", &r)
	for _, out := range []string{printed, jsonBuf.String(), textBuf.String()} {
		assert.NotContains(t, out, "SECRET")
		assert.Contains(t, out, "b1")
		assert.Contains(t, out, Redacted)
	}
}

// ForBrowser keeps every field the official browser libraries need and
// drops the secret token: its JSON holds no secret_token key and not its
// value, whatever the response held.
func TestForBrowserHasNoSecret(t *testing.T) {
	r := ConnectResponse{BackendID: "b1", Spawned: true, Status: StatusScheduled, Token: "tok-abc",
		URL: "https://b1.example/tok-abc/", SecretToken: "sec-SECRET-xyz", StatusURL: "https://api.example/v2/backend/b1/status",
		ReadyURL: "https://ready.example/b1/tok-abc", StatusStreamURL: "https://api.example/v2/backend/b1/status/stream"}
	b := r.ForBrowser()
	out := marshal(t, b)
	assert.JSONEq(t, `{"backend_id":"b1","spawned":true,"status":"scheduled","token":"tok-abc",
		"url":"https://b1.example/tok-abc/","status_url":"https://api.example/v2/backend/b1/status"}`, out)
	assert.NotContains(t, out, "secret")
	assert.NotContains(t, out, "SECRET")

	var fields map[string]any
	require.NoError(t, json.Unmarshal([]byte(marshal(t, ConnectResponse{}.ForBrowser())), &fields))
	assert.Len(t, fields, 6, "the six fields are always present, as isConnectResponse wants: %v", fields)
	assert.Equal(t, false, fields["spawned"], "spawned false is sent, not left out")

	printed := fmt.Sprintf("%v %+v %#v %s", b, b, b, b)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("session", "conn", b)
	for _, text := range []string{printed, logged.String()} {
		assert.NotContains(t, text, "tok-abc", "the browser's token is not printed or logged")
		assert.Contains(t, text, "b1")
	}
}

func TestRegistryAuthRedaction(t *testing.T) {
	a := RegistryAuth{Username: "bot", Password: "pw-SECRET"}
	var jsonBuf, textBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonBuf, nil)).Info("x", "auth", a)
	slog.New(slog.NewTextHandler(&textBuf, nil)).Info("x", "auth", a)
	for _, out := range []string{fmt.Sprintf("%v %+v %#v", a, a, a), fmt.Sprintf("%v %+v %#v", &a, &a, &a), jsonBuf.String(), textBuf.String()} {
		assert.NotContains(t, out, "SECRET")
		assert.Contains(t, out, "bot")
	}
	// On the wire the password is sent, of course.
	assert.Contains(t, marshal(t, a), "pw-SECRET")

	exe := PlaneExecutorConfig{Image: "img:v1", Credentials: &a, NetworkName: "net"}
	jsonBuf.Reset()
	slog.New(slog.NewJSONHandler(&jsonBuf, nil)).Info("x", "exe", exe, "ptr", &exe)
	assert.NotContains(t, jsonBuf.String(), "SECRET", "an executable logged as JSON hides the password")
	assert.Contains(t, jsonBuf.String(), "img:v1")
	assert.Contains(t, jsonBuf.String(), "bot")
}

func TestBackendStateUnmarshal(t *testing.T) {
	yes, no := true, false
	ms := time.Date(2024, 11, 4, 20, 42, 21, 123e6, time.UTC)
	for _, tc := range []struct {
		name string
		in   string
		want BackendState
	}{
		{"jamsocket ISO time", `{"status":"ready","time":"2024-11-04T20:42:21.123Z"}`, BackendState{Status: StatusReady, Time: ms}},
		{"plane epoch ms", `{"status":"ready","time":1730752941123}`, BackendState{Status: StatusReady, Time: ms}},
		{"ISO without fraction", `{"status":"loading","time":"2024-11-04T20:42:21Z"}`, BackendState{Status: StatusLoading, Time: ms.Truncate(time.Second)}},
		{"time null", `{"status":"scheduled","time":null}`, BackendState{Status: StatusScheduled}},
		{"time absent", `{"status":"scheduled"}`, BackendState{Status: StatusScheduled}},
		{"terminated", `{"status":"terminated","termination_reason":"external","termination_kind":"soft","exit_error":false,"time":1730752941123}`,
			BackendState{Status: StatusTerminated, Time: ms, TerminationReason: ReasonExternal, TerminationKind: KindSoft, ExitError: &no}},
		{"exit error true", `{"status":"terminated","exit_error":true,"time":1730752941123}`, BackendState{Status: StatusTerminated, Time: ms, ExitError: &yes}},
		{"nulls", `{"status":"terminated","termination_reason":null,"termination_kind":null,"exit_error":null,"time":1730752941123}`,
			BackendState{Status: StatusTerminated, Time: ms}},
		{"hard-terminating", `{"status":"hard-terminating","termination_reason":"startuptimeout","termination_kind":"hard","time":1730752941123}`,
			BackendState{Status: StatusHardTerminating, Time: ms, TerminationReason: ReasonStartupTimeout, TerminationKind: KindHard}},
		{"reason key_expired", `{"status":"terminating","termination_reason":"key_expired","time":1730752941123}`,
			BackendState{Status: StatusTerminating, Time: ms, TerminationReason: ReasonKeyExpired}},
		{"reason startup_timeout", `{"status":"terminating","termination_reason":"startup_timeout","time":1730752941123}`,
			BackendState{Status: StatusTerminating, Time: ms, TerminationReason: ReasonStartupTimeout}},
		{"reason internal_error", `{"status":"terminated","termination_reason":"internal_error","time":1730752941123}`,
			BackendState{Status: StatusTerminated, Time: ms, TerminationReason: ReasonInternalError}},
		{"unknown status and reason kept", `{"status":"hibernating","termination_reason":"moon_phase","time":1730752941123}`,
			BackendState{Status: "hibernating", Time: ms, TerminationReason: "moon_phase"}},
		{"unknown fields ignored", `{"status":"ready","time":1730752941123,"last_status":"ready","exit_code":0}`, BackendState{Status: StatusReady, Time: ms}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got BackendState
			require.NoError(t, json.Unmarshal([]byte(tc.in), &got))
			assert.True(t, tc.want.Time.Equal(got.Time), "time %v, want %v", got.Time, tc.want.Time)
			got.Time, tc.want.Time = time.Time{}, time.Time{}
			assert.Equal(t, tc.want, got)
		})
	}
	for _, bad := range []string{`{}`, `{"time":1}`, `{"status":"ready","time":"yesterday"}`, `{"status":"ready","time":true}`,
		`{"status":"ready","time":{}}`, `{"status":3}`, `[]`, `{"status":"ready","termination_reason":5}`} {
		var got BackendState
		assert.Error(t, json.Unmarshal([]byte(bad), &got), bad)
	}
}

func TestBackendStateMarshal(t *testing.T) {
	no := false
	s := BackendState{Status: StatusTerminated, Time: time.Date(2024, 11, 4, 21, 42, 21, 123456789, time.FixedZone("CET", 3600)),
		TerminationReason: ReasonKeyExpired, TerminationKind: KindHard, ExitError: &no}
	assert.JSONEq(t, `{"status":"terminated","time":"2024-11-04T20:42:21.123Z","termination_reason":"keyexpired","termination_kind":"hard","exit_error":false}`, marshal(t, s))
	assert.JSONEq(t, `{"status":"ready","time":"0001-01-01T00:00:00.000Z"}`, marshal(t, BackendState{Status: StatusReady}))
}

func TestTerminationReason(t *testing.T) {
	for in, want := range map[string]TerminationReason{
		"swept": ReasonSwept, "external": ReasonExternal, "keyexpired": ReasonKeyExpired, "key_expired": ReasonKeyExpired,
		"lost": ReasonLost, "startuptimeout": ReasonStartupTimeout, "startup_timeout": ReasonStartupTimeout,
		"internalerror": ReasonInternalError, "internal_error": ReasonInternalError, "something_new": "something_new", "": "",
	} {
		assert.Equal(t, want, ParseTerminationReason(in), in)
	}
}

func TestStatusHelpers(t *testing.T) {
	order := []BackendStatus{StatusScheduled, StatusLoading, StatusStarting, StatusWaiting, StatusReady,
		StatusTerminating, StatusHardTerminating, StatusTerminated}
	for i, s := range order {
		assert.True(t, s.IsKnown(), s)
		assert.Equal(t, string(s), s.String())
		if i > 0 {
			assert.Greater(t, s.Rank(), order[i-1].Rank())
		}
		for j, o := range order {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			assert.Equal(t, want, s.Compare(o), "%s vs %s", s, o)
		}
		assert.Equal(t, i >= 5, s.IsEnding(), "IsEnding %s", s)
		assert.Equal(t, s == StatusTerminated, s.IsTerminal(), "IsTerminal %s", s)
	}
	assert.Equal(t, 10, StatusScheduled.Rank())
	assert.Equal(t, 65, StatusHardTerminating.Rank())
	assert.Equal(t, 70, StatusTerminated.Rank())
	unknown := BackendStatus("hard-terminated")
	assert.False(t, unknown.IsKnown())
	assert.Equal(t, 0, unknown.Rank())
	assert.False(t, unknown.IsEnding())
	assert.Equal(t, -1, unknown.Compare(StatusScheduled), "unknown ranks first")
	assert.Equal(t, "soft", KindSoft.String())
	assert.Equal(t, "keyexpired", ReasonKeyExpired.String())
}

// Fuzzing the wire types: whatever decodes must encode, and encoding what it
// decodes back must be stable (decode → encode → decode → encode gives the
// same bytes twice).
func FuzzBackendState(f *testing.F) {
	for _, s := range []string{
		`{"status":"ready","time":"2024-11-04T20:42:21.123Z"}`, `{"status":"ready","time":1730752941123}`,
		`{"status":"terminated","termination_reason":"key_expired","termination_kind":"soft","exit_error":false,"time":1}`,
		`{"status":"x","time":null,"exit_error":null}`, `{"status":"ready","time":-62135596800000}`,
		`{"status":"ready","time":253402300799999}`, `{"status":"ready","time":1e300}`,
		`{"status":"ready","time":"0000-01-01T00:00:00+01:00"}`, `{"status":"ready","time":"9999-12-31T23:59:59-01:00"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		jsontest.RoundTrip[BackendState](t, in)
	})
}

func FuzzConnectRequest(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"key":"k","spawn":false}`, `{"spawn":true}`, `{"spawn":{"tag":"t","executable":{"mount":"p","env":{"A":"b"}}}}`,
		`{"spawn":{"executable":{"mount":true,"resource_limits":{"cpu_period":1}}}}`, `{"user":"u","auth":{"a":[1,{"b":null}]}}`,
		`{"auth":{}}`, `{"spawn":{"executable":{"mount":""}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		jsontest.RoundTrip[ConnectRequest](t, in)
	})
}

func FuzzConnectResponse(f *testing.F) {
	for _, s := range []string{
		`{"backend_id":"b","spawned":true,"status":"scheduled","token":"t","url":"u","secret_token":"s","status_url":"su","ready_url":"r"}`,
		`{"backend_id":"b","spawned":false,"status":"x","token":"t","url":"u","secret_token":null,"status_url":"su"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		jsontest.RoundTrip[ConnectResponse](t, in)
	})
}
