package jamsocket_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jamsocket-go/jamsocket"
)

// The benchmarks compare the SDK with the same request made by a plain
// net/http client, against one httptest server in the same run, so that
// the SDK's overhead (retry transport, JSON, error mapping) is what differs.
//
//	go test -run '^$' -bench . -benchmem

const benchConnectResponse = `{"backend_id":"bench1234567890","spawned":true,"status":"scheduled",` +
	`"token":"tok","url":"http://127.0.0.1:9090/tok/","secret_token":"sec",` +
	`"status_url":"http://127.0.0.1:8080/v2/backend/bench1234567890/status","ready_url":""}`

const benchState = `{"status":"ready","time":"2024-11-04T20:42:21.123Z"}`

func benchServer(b *testing.B) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/service/{account}/{service}/connect", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchConnectResponse)
	})
	mux.HandleFunc("GET /v2/backend/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchState)
	})
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv
}

func benchClient(b *testing.B, srv *httptest.Server) *jamsocket.Client {
	c, err := jamsocket.New(jamsocket.Config{Account: "acct", Service: "svc", Token: "secret-token", APIURL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// plainTransport is what a careful hand-written client would use: the
// default transport with a pool big enough for the concurrent benchmarks.
func plainClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: t}
}

// setPlainHeaders sets the headers the SDK sends on every request, so that
// both clients put the same request on the wire.
func setPlainHeaders(h http.Header, accept string) {
	h.Set("User-Agent", "jamsocket-go/"+jamsocket.Version)
	h.Set("Accept", accept)
}

func plainSpawn(ctx context.Context, hc *http.Client, base string) error {
	body, _ := json.Marshal(&jamsocket.ConnectRequest{Key: "doc-1"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v2/service/acct/svc/connect", bytes.NewReader(body))
	setPlainHeaders(req.Header, "application/json")
	req.Header.Set("Authorization", "Bearer secret-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out jamsocket.ConnectResponse
	return json.NewDecoder(resp.Body).Decode(&out)
}

func plainStatus(ctx context.Context, hc *http.Client, base string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/backend/bench1234567890/status", nil)
	setPlainHeaders(req.Header, "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out jamsocket.BackendState
	return json.NewDecoder(resp.Body).Decode(&out)
}

func BenchmarkSpawn(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	b.Run("sdk", func(b *testing.B) {
		c := benchClient(b, srv)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-1"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("net-http", func(b *testing.B) {
		hc := plainClient()
		b.ReportAllocs()
		for b.Loop() {
			if err := plainSpawn(ctx, hc, srv.URL); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkStatus(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	b.Run("sdk", func(b *testing.B) {
		c := benchClient(b, srv)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Status(ctx, "bench1234567890"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("net-http", func(b *testing.B) {
		hc := plainClient()
		b.ReportAllocs()
		for b.Loop() {
			if err := plainStatus(ctx, hc, srv.URL); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSpawnParallel runs 32 concurrent callers (b.SetParallelism on top
// of GOMAXPROCS) sharing one client.
func BenchmarkSpawnParallel(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	parallelism := max(1, 32/runtimeProcs())
	b.Run("sdk", func(b *testing.B) {
		c := benchClient(b, srv)
		b.ReportAllocs()
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-1"}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("net-http", func(b *testing.B) {
		hc := plainClient()
		b.ReportAllocs()
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := plainSpawn(ctx, hc, srv.URL); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
