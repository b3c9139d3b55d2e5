package wire

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/jsontest"

	"github.com/jamsocket-go/jamsocket/internal/wiretime"
	"github.com/jamsocket-go/jamsocket/types"
)

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestPlaneBackendState(t *testing.T) {
	p := PlaneBackendState{Status: types.StatusReady, Time: wiretime.EpochMillis(time.UnixMilli(1730752941123))}
	assert.JSONEq(t, `{"status":"ready","time":1730752941123}`, marshal(t, p))
	var back PlaneBackendState
	require.NoError(t, json.Unmarshal([]byte(marshal(t, p)), &back))
	assert.Equal(t, int64(1730752941123), time.Time(back.Time).UnixMilli())
}

func TestPlaneConnectRequest(t *testing.T) {
	assert.JSONEq(t, `{"auth":{}}`, marshal(t, PlaneConnectRequest{}), "auth is {} never null")
	req := PlaneConnectRequest{
		Key: &PlaneKeyConfig{Name: "room", Namespace: "games", Tag: "v1"},
		SpawnConfig: &PlaneSpawnConfig{Cluster: "localhost:9090", Executable: &types.PlaneExecutorConfig{
			Image: "img:v1", PullPolicy: types.PullAlways, Credentials: &types.RegistryAuth{Username: "u", Password: "p"}, NetworkName: "net"},
			LifetimeLimitSeconds: 3600, MaxIdleSeconds: 60},
		User: "user-123", Auth: map[string]any{"role": "editor"},
	}
	assert.JSONEq(t, `{"key":{"name":"room","namespace":"games","tag":"v1"},"spawn_config":{"cluster":"localhost:9090","executable":{"image":"img:v1","pull_policy":"Always","credentials":{"username":"u","password":"p"},"network_name":"net"},"lifetime_limit_seconds":3600,"max_idle_seconds":60},"user":"user-123","auth":{"role":"editor"}}`, marshal(t, req))
	assert.JSONEq(t, `{"key":{"name":"k","namespace":"","tag":""},"auth":{}}`, marshal(t, PlaneConnectRequest{Key: &PlaneKeyConfig{Name: "k"}}))
}

func TestErrorBodies(t *testing.T) {
	var jb ErrorBody
	require.NoError(t, json.Unmarshal([]byte(`{"error":{"message":"m","status":404,"code":"BackendNotRunning","id":"x"}}`), &jb))
	assert.Equal(t, "BackendNotRunning", jb.Error.Code)
	require.NoError(t, json.Unmarshal([]byte(`{"error":{"message":"m","status":"Not Found","code":"C"}}`), &jb))
	assert.Equal(t, "Not Found", jb.Error.Status)
	var pe PlaneError
	require.NoError(t, json.Unmarshal([]byte(`{"id":"k2j4h5g6f7d8s9","kind":"NotFound","message":"Backend does not exist"}`), &pe))
	assert.Equal(t, PlaneError{ID: "k2j4h5g6f7d8s9", Kind: PlaneKindNotFound, Message: "Backend does not exist"}, pe)
	assert.JSONEq(t, `{"hard":false}`, marshal(t, TerminateRequest{}))
}

func TestTerminateBackendsRequest(t *testing.T) {
	at := time.Date(2024, 11, 4, 21, 42, 21, 123456789, time.FixedZone("CET", 3600))
	assert.JSONEq(t, `{"before":"2024-11-04T20:42:21.123Z","hard":true,"dry_run":false}`,
		marshal(t, TerminateBackendsRequest{Before: wiretime.Time(at), Hard: true}))
}

// Fuzzing Plane's wire: whatever decodes must encode, and encoding what it
// decodes back must be stable (decode → encode → decode → encode gives the
// same bytes twice).
func FuzzPlaneBackendState(f *testing.F) {
	for _, s := range []string{
		`{"status":"ready","time":"2024-11-04T20:42:21.123Z"}`, `{"status":"ready","time":1730752941123}`,
		`{"status":"terminated","termination_reason":"key_expired","termination_kind":"soft","exit_error":false,"time":1}`,
		`{"status":"x","time":null,"exit_error":null}`, `{"status":"ready","time":-62135596800000}`,
		`{"status":"ready","time":253402300799999}`, `{"status":"ready","time":1e300}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { jsontest.RoundTrip[PlaneBackendState](t, in) })
}

func FuzzPlaneConnectRequest(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"key":{"name":"k","namespace":"n","tag":"t"}}`, `{"user":"u","auth":{"a":[1,{"b":null}]}}`, `{"auth":{}}`,
		`{"spawn_config":{"executable":{"image":"i","mount":"p","env":{"A":"b"},"resource_limits":{"cpu_period":1}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { jsontest.RoundTrip[PlaneConnectRequest](t, in) })
}
