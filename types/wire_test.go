package types

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/jsontest"
)

// The authenticated endpoints' bodies encode exactly as a server sends them
// (the local plane encodes with these types): nullable fields as null,
// optional ones left out, times as ISO-8601 with milliseconds.

func TestBackendInfoWire(t *testing.T) {
	created := time.Date(2024, 8, 21, 17, 21, 10, 123456789, time.UTC)
	info := BackendInfo{ID: "b1", CreatedAt: created, ServiceName: "svc", ClusterName: "c", AccountName: "acct",
		ImageDigest: "d", Statuses: []V2State{{Status: StatusReady, Time: created}}}
	assert.JSONEq(t, `{"id":"b1","created_at":"2024-08-21T17:21:10.123Z","service_name":"svc","cluster_name":"c",
		"account_name":"acct","statuses":[{"status":"ready","time":"2024-08-21T17:21:10.123Z"}],"image_digest":"d",
		"key":null,"environment_name":null,"max_mem_bytes":null}`, marshal(t, info))

	limit := int64(1 << 20)
	info.Key, info.EnvironmentName, info.MaxMemBytes = "doc-1", "default", &limit
	out := marshal(t, info)
	assert.Contains(t, out, `"key":"doc-1"`)
	assert.Contains(t, out, `"environment_name":"default"`)
	assert.Contains(t, out, `"max_mem_bytes":1048576`)

	var back BackendInfo
	require.NoError(t, json.Unmarshal([]byte(out), &back))
	assert.Equal(t, NullableString("doc-1"), back.Key)
	assert.Equal(t, NullableString("default"), back.EnvironmentName)
	assert.True(t, created.Truncate(time.Millisecond).Equal(back.CreatedAt))

	require.NoError(t, json.Unmarshal([]byte(`{"id":"b2","created_at":1724260870123,"key":null,"environment_name":null}`), &back))
	assert.Equal(t, "b2", back.ID)
	assert.Empty(t, back.Key)
	assert.Empty(t, back.EnvironmentName)
	assert.Nil(t, back.Statuses, "decoding resets what was there")
	assert.Equal(t, int64(1724260870123), back.CreatedAt.UnixMilli(), "epoch milliseconds")
	assert.Error(t, json.Unmarshal([]byte(`{"id":"b","created_at":"yesterday"}`), &back))
	assert.Error(t, json.Unmarshal([]byte(`{"id":"b","key":5}`), &back))
}

func TestV2StateWire(t *testing.T) {
	at := time.UnixMilli(1724260870123).UTC()
	code := 137
	for _, tc := range []struct {
		name string
		in   V2State
		want string
	}{
		{"live: no exit code, no last status", V2State{Status: StatusReady, Time: at},
			`{"status":"ready","time":"2024-08-21T17:21:10.123Z"}`},
		{"terminated, exit code unknown: null", V2State{Status: StatusTerminated, Time: at, TerminationReason: ReasonExternal,
			TerminationKind: KindSoft, LastStatus: StatusTerminating},
			`{"status":"terminated","time":"2024-08-21T17:21:10.123Z","termination_reason":"external","termination_kind":"soft","exit_code":null,"last_status":"terminating"}`},
		{"terminated with its exit code", V2State{Status: StatusTerminated, Time: at, ExitCode: &code, LastStatus: StatusReady},
			`{"status":"terminated","time":"2024-08-21T17:21:10.123Z","exit_code":137,"last_status":"ready"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := marshal(t, tc.in)
			assert.JSONEq(t, tc.want, out)
			var back V2State
			require.NoError(t, json.Unmarshal([]byte(out), &back))
			assert.True(t, tc.in.Time.Equal(back.Time))
			back.Time = tc.in.Time
			assert.Equal(t, tc.in, back)
		})
	}
}

func TestBackendSummaryWire(t *testing.T) {
	at := time.UnixMilli(1724260870123).UTC()
	s := BackendSummary{ID: "b1", CreatedAt: at, ServiceName: "svc", ClusterName: "c", AccountName: "acct"}
	assert.JSONEq(t, `{"id":"b1","created_at":"2024-08-21T17:21:10.123Z","service_name":"svc","cluster_name":"c","account_name":"acct"}`,
		marshal(t, s), "no key, no status: both left out")
	s.Key, s.Status = "doc-1", &V2State{Status: StatusReady, Time: at}
	out := marshal(t, s)
	assert.Contains(t, out, `"key":"doc-1"`)
	assert.Contains(t, out, `"status":{"status":"ready","time":"2024-08-21T17:21:10.123Z"}`)
	var back BackendSummary
	require.NoError(t, json.Unmarshal([]byte(out), &back))
	assert.True(t, at.Equal(back.CreatedAt))
	require.NotNil(t, back.Status)
	assert.Equal(t, StatusReady, back.Status.Status)
	assert.Equal(t, "doc-1", back.Key)
}

// UnmarshalJSON handed a whole body (the SDK's fast path) is json.Unmarshal
// without the extra scan: the same value, and an error for the same inputs.
func TestUnmarshalJSONOnAWholeBodyIsUnmarshal(t *testing.T) {
	responses := []string{
		benchConnectResponseJSON,
		`{"backend_id":"b","spawned":false,"status":"ready","token":"s.t","url":"u","secret_token":null,"status_url":"s"}`,
		`{"backend_id":"b","spawned":true}`, `{"backend_id":1}`, `"nope"`, `{`, ``,
	}
	for _, in := range responses {
		var viaUnmarshal, viaDecode ConnectResponse
		errU := json.Unmarshal([]byte(in), &viaUnmarshal)
		errD := viaDecode.UnmarshalJSON([]byte(in))
		assert.Equal(t, errU == nil, errD == nil, in)
		assert.Equal(t, viaUnmarshal, viaDecode, in)
	}
	states := []string{
		`{"status":"ready","time":"2024-11-04T20:42:21.123Z"}`, `{"status":"ready","time":1730752941123}`,
		`{"status":"terminated","exit_error":true,"termination_reason":"key_expired","time":null}`,
		`{"status":"ready","time":"2024-11-04T20:42:21.123\u005a"}`,
		`{}`, `{"status":"ready","time":"yesterday"}`, `[]`, `{`,
	}
	for _, in := range states {
		var viaUnmarshal, viaDecode BackendState
		errU := json.Unmarshal([]byte(in), &viaUnmarshal)
		errD := viaDecode.UnmarshalJSON([]byte(in))
		assert.Equal(t, errU == nil, errD == nil, in)
		assert.Equal(t, viaUnmarshal, viaDecode, in)
	}
}

func FuzzBackendInfo(f *testing.F) {
	for _, s := range []string{
		`{"id":"b","created_at":"2024-08-21T17:21:10.123Z","statuses":[{"status":"terminated","time":1,"exit_code":null,"last_status":"ready"}],"key":null}`,
		`{"id":"b","created_at":1724260870123,"key":"k","environment_name":"default","max_mem_bytes":5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		jsontest.RoundTrip[BackendInfo](t, in)
		jsontest.RoundTrip[BackendSummary](t, in)
		jsontest.RoundTrip[V2State](t, in)
	})
}
