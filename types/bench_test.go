package types

import (
	"encoding/json"
	"testing"
)

// The codec's own costs, for profiling the SDK's per-call work (the root
// package's benchmarks measure whole calls beside a plain client):
//
//	go test -run '^$' -bench . -benchmem ./types/

const benchConnectResponseJSON = `{"backend_id":"bench1234567890","spawned":true,"status":"scheduled",` +
	`"token":"tok","url":"http://127.0.0.1:9090/tok/","secret_token":"sec",` +
	`"status_url":"http://127.0.0.1:8080/v2/backend/bench1234567890/status","ready_url":""}`

func BenchmarkConnectResponseUnmarshal(b *testing.B) {
	data := []byte(benchConnectResponseJSON)
	b.ReportAllocs()
	for b.Loop() {
		var r ConnectResponse
		if err := json.Unmarshal(data, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConnectRequestMarshal(b *testing.B) {
	for _, tc := range []struct {
		name string
		req  ConnectRequest
	}{
		{"key", ConnectRequest{Key: "doc-1"}},
		{"spawn", ConnectRequest{Key: "doc-1", User: "alice", Auth: map[string]any{"role": "editor"},
			Spawn: &SpawnConfig{MaxIdleSeconds: 300, Executable: &Executable{Env: map[string]string{"DOC": "42"}}}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(&tc.req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBackendStateUnmarshal(b *testing.B) {
	for _, tc := range []struct{ name, in string }{
		{"iso", `{"status":"ready","time":"2024-11-04T20:42:21.123Z"}`},
		{"epoch-ms", `{"status":"ready","time":1730752941123}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			data := []byte(tc.in)
			b.ReportAllocs()
			for b.Loop() {
				var s BackendState
				if err := json.Unmarshal(data, &s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBackendStateMarshal(b *testing.B) {
	s := BackendState{Status: StatusReady}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(s); err != nil {
			b.Fatal(err)
		}
	}
}
