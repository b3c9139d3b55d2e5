package jamsocket_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jamsocket-go/jamsocket"
)

// benchConnectResponse is what the benchmarks' server answers a connect
// with. The benchmarks compare the SDK with the same request made by a
// plain net/http client, against one httptest server in the same run, so
// that the SDK's overhead (retry transport, JSON, error mapping) is what
// differs:
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

func benchClient(b *testing.B, srv *httptest.Server, opts ...jamsocket.Option) *jamsocket.Client {
	c, err := jamsocket.New(jamsocket.Config{Account: "acct", Service: "svc", Token: "secret-token", APIURL: srv.URL}, opts...)
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

// BenchmarkSpawnTelemetry is BenchmarkSpawn's sdk case with a tracer and
// meter provider given: OpenTelemetry's no-op providers, and the SDK's
// recording ones (see BenchTelemetryOptions). BenchmarkSpawn/sdk itself is
// the Client with no provider installed.
func BenchmarkSpawnTelemetry(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	for _, provider := range []string{"noop", "recording"} {
		b.Run("provider="+provider, func(b *testing.B) {
			c := benchClient(b, srv, jamsocket.BenchTelemetryOptions(b, provider)...)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-1"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
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

// The paired benchmarks alternate one SDK call and one plain call inside
// the same loop, each timed on its own (which goes first alternates too).
// On a shared, noisy machine the two halves of a pair see the same load, so
// their ratio holds steady where separate runs swing by half.
//
// BenchmarkSpawnPaired and BenchmarkStatusPaired report the median time of
// each side's calls and sdk/plain, the ratio of the medians (a median, since
// a call that the scheduler stalls says nothing about either client): the
// number to read for "within 5%" (1.05).
func BenchmarkSpawnPaired(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	c, hc := benchClient(b, srv), plainClient()
	benchPaired(b, func() error {
		_, err := c.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-1"})
		return err
	}, func() error { return plainSpawn(ctx, hc, srv.URL) })
}

func BenchmarkStatusPaired(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	c, hc := benchClient(b, srv), plainClient()
	benchPaired(b, func() error {
		_, err := c.Status(ctx, "bench1234567890")
		return err
	}, func() error { return plainStatus(ctx, hc, srv.URL) })
}

// benchPaired runs sdk and plain in pairs, one pair per op, and reports the
// median time of each side's calls and their ratio.
func benchPaired(b *testing.B, sdk, plain func() error) {
	var sdkTimes, plainTimes []time.Duration
	timed := func(op func() error, into *[]time.Duration) {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		*into = append(*into, time.Since(start))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			timed(sdk, &sdkTimes)
			timed(plain, &plainTimes)
		} else {
			timed(plain, &plainTimes)
			timed(sdk, &sdkTimes)
		}
	}
	sdkMedian, plainMedian := median(sdkTimes), median(plainTimes)
	b.ReportMetric(float64(sdkMedian), "sdk-ns/call")
	b.ReportMetric(float64(plainMedian), "plain-ns/call")
	b.ReportMetric(float64(sdkMedian)/float64(max(plainMedian, 1)), "sdk/plain")
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// BenchmarkSpawnParallelPaired is the paired form of BenchmarkSpawnParallel:
// 32 callers sharing one SDK client and one plain client, each caller
// alternating an SDK and a plain Spawn. With every caller busy all the
// time, the ratio of the two sides' total call time is the inverse of the
// ratio of their throughputs: it reports plain/sdk, the SDK's share of the
// plain client's throughput (goal: 0.95 or more).
func BenchmarkSpawnParallelPaired(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	c, hc := benchClient(b, srv), plainClient()
	var sdkNS, plainNS, turn atomic.Int64
	timed := func(op func() error, into *atomic.Int64) error {
		start := time.Now()
		err := op()
		into.Add(int64(time.Since(start)))
		return err
	}
	sdk := func() error {
		_, err := c.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-1"})
		return err
	}
	plain := func() error { return plainSpawn(ctx, hc, srv.URL) }
	b.ReportAllocs()
	b.SetParallelism(max(1, 32/runtimeProcs()))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			first, second, firstInto, secondInto := sdk, plain, &sdkNS, &plainNS
			if turn.Add(1)%2 == 0 {
				first, second, firstInto, secondInto = plain, sdk, &plainNS, &sdkNS
			}
			if err := timed(first, firstInto); err != nil {
				b.Error(err)
				return
			}
			if err := timed(second, secondInto); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(plainNS.Load())/float64(max(sdkNS.Load(), 1)), "plain/sdk")
}
