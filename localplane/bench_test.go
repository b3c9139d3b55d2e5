package localplane_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// The local plane's benchmarks (issue 3). They report, besides ns/op:
//
//   - BenchmarkSpawnToReady: the median time from Spawn to WaitReady's
//     answer, through the SDK, as ms-median (goal for the process backend:
//     under 50 ms);
//   - BenchmarkProxyThroughput: req/s sent straight to a backend and through
//     the proxy in the same run, and the proxy's share as %-of-direct (goal:
//     at least 70);
//   - BenchmarkMemoryPerIdleBackend: the plane's heap and stacks per idle
//     ready handler backend, 200 of them, as bytes/backend (goal: under
//     100 KiB).
//
// They assert nothing about time: run them and read the numbers.
//
//	go test -run '^$' -bench . -benchmem ./localplane/

// okHandler is the smallest handler backend.
func okHandler(localplane.Backend) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
}

// benchPlane starts a local plane on free ports, closed when b ends, and a
// Client for its Jamsocket surface.
func benchPlane(b *testing.B, cfg localplane.Config) (*localplane.Server, *jamsocket.Client) {
	b.Helper()
	cfg.APIAddr, cfg.ProxyAddr = "127.0.0.1:0", "127.0.0.1:0"
	srv, err := localplane.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := srv.Close(); err != nil {
			b.Error(err)
		}
	})
	client, err := jamsocket.New(jamsocket.Config{Account: "bench", Service: "bench", Token: "bench", APIURL: srv.APIURL()})
	if err != nil {
		b.Fatal(err)
	}
	return srv, client
}

// readyBackend spawns a keyless backend and waits until it is ready.
func readyBackend(b *testing.B, client *jamsocket.Client) *jamsocket.ConnectResponse {
	b.Helper()
	conn, err := client.Spawn(b.Context(), nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := client.WaitReady(b.Context(), conn.BackendID); err != nil {
		b.Fatal(err)
	}
	return conn
}

// benchClient is an HTTP client whose keep-alive pool holds a connection
// for each of the benchmarks' parallel goroutines.
func benchClient(b *testing.B) *http.Client {
	transport := &http.Transport{MaxIdleConnsPerHost: 256, Proxy: nil}
	b.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport}
}

// buildBenchBackend builds internal/benchbackend into a temporary directory
// and returns the binary's path.
func buildBenchBackend(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "benchbackend")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/jamsocket-go/jamsocket/localplane/internal/benchbackend").CombinedOutput()
	if err != nil {
		b.Fatalf("building the benchmark backend: %v\n%s", err, out)
	}
	return bin
}

func BenchmarkSpawnToReady(b *testing.B) {
	b.Run("handler", func(b *testing.B) {
		benchSpawnToReady(b, localplane.Config{Handler: okHandler})
	})
	b.Run("handler-traced", func(b *testing.B) { // every span recorded, none exported
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
		benchSpawnToReady(b, localplane.Config{Handler: okHandler, TracerProvider: tp})
	})
	b.Run("process", func(b *testing.B) {
		benchSpawnToReady(b, localplane.Config{Command: []string{buildBenchBackend(b)}})
	})
}

// benchSpawnToReady times Spawn + WaitReady of fresh backends, one at a
// time; off the clock, each is hard-terminated before the next and a warm
// pool (cfg.WarmPool) refilled. It reports the median and the 99th
// percentile.
func benchSpawnToReady(b *testing.B, cfg localplane.Config) {
	srv, client := benchPlane(b, cfg)
	ctx := b.Context()
	poolFull := func() {
		for srv.WarmPool().Ready < cfg.WarmPool {
			time.Sleep(time.Millisecond) // a benchmark's wait, off the clock
		}
	}
	poolFull()
	var samples []time.Duration
	for b.Loop() {
		start := time.Now()
		conn, err := client.Spawn(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := client.WaitReady(ctx, conn.BackendID); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(start))

		b.StopTimer()
		if err := srv.Terminate(conn.BackendID, true); err != nil {
			b.Fatal(err)
		}
		for _, err := range client.StatusStream(ctx, conn.BackendID) { // ends after terminated
			if err != nil {
				b.Fatal(err)
			}
		}
		poolFull()
		b.StartTimer()
	}
	slices.Sort(samples)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(samples[len(samples)/2]), "ms-median")
	b.ReportMetric(ms(samples[min(len(samples)-1, len(samples)*99/100)]), "ms-p99")
}

// BenchmarkProxyThroughput sends the same GET to one handler backend
// straight to its port, through a bare httputil.ReverseProxy, and through
// the plane's proxy, from parallel goroutines with one shared keep-alive
// pool. Load generator, proxy and backend share the machine's cores, so a
// second hop costs what it costs in CPU: compare the plane's proxy with the
// bare one.
func BenchmarkProxyThroughput(b *testing.B) {
	hc, backendURL, bareURL, proxyURL := proxyTargets(b)
	var direct float64
	b.Run("direct", func(b *testing.B) {
		direct = benchGets(b, hc, backendURL)
	})
	b.Run("bare-reverseproxy", func(b *testing.B) {
		proxied := benchGets(b, hc, bareURL)
		if direct > 0 {
			b.ReportMetric(100*proxied/direct, "%-of-direct")
		}
	})
	b.Run("proxy", func(b *testing.B) {
		proxied := benchGets(b, hc, proxyURL)
		if direct > 0 {
			b.ReportMetric(100*proxied/direct, "%-of-direct")
		}
	})
}

// BenchmarkProxyPaired sends the same GETs through the bare ReverseProxy
// and through the plane's proxy in pairs: 8 goroutines per CPU, each
// alternating one request through each (which goes first alternates too).
// Both proxies then run under the same load, so their ratio holds steady on
// a noisy machine where separate runs swing. It reports
// proxy-share-of-bare, the plane's proxy's throughput as a share of the bare
// proxy's (total request time through bare / through the plane's: at least 1
// means at least as fast), and each one's p50 and p99 latency.
func BenchmarkProxyPaired(b *testing.B) {
	hc, _, bareURL, proxyURL := proxyTargets(b)
	var (
		mu          sync.Mutex
		bare, proxy []time.Duration
		turn        atomic.Int64
	)
	get := func(url string) (time.Duration, error) {
		start := time.Now()
		resp, err := hc.Get(url)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET: %s", resp.Status)
		}
		return time.Since(start), nil
	}
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		var myBare, myProxy []time.Duration
		defer func() {
			mu.Lock()
			bare, proxy = append(bare, myBare...), append(proxy, myProxy...)
			mu.Unlock()
		}()
		for pb.Next() {
			urls, into := [2]string{bareURL, proxyURL}, [2]*[]time.Duration{&myBare, &myProxy}
			if turn.Add(1)%2 == 0 {
				urls, into = [2]string{proxyURL, bareURL}, [2]*[]time.Duration{&myProxy, &myBare}
			}
			for i, url := range urls {
				took, err := get(url)
				if err != nil {
					b.Error(err)
					return
				}
				*into[i] = append(*into[i], took)
			}
		}
	})
	if len(bare) == 0 || len(proxy) == 0 {
		return
	}
	var bareTotal, proxyTotal time.Duration
	for i := range bare {
		bareTotal += bare[i]
	}
	for i := range proxy {
		proxyTotal += proxy[i]
	}
	b.ReportMetric(float64(bareTotal)/float64(proxyTotal), "proxy-share-of-bare")
	slices.Sort(bare)
	slices.Sort(proxy)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(us(bare[len(bare)/2]), "bare-p50-us")
	b.ReportMetric(us(bare[len(bare)*99/100]), "bare-p99-us")
	b.ReportMetric(us(proxy[len(proxy)/2]), "proxy-p50-us")
	b.ReportMetric(us(proxy[len(proxy)*99/100]), "proxy-p99-us")
}

// proxyTargets starts a plane with one ready handler backend and a bare
// httputil.ReverseProxy in front of the same backend (the floor: what a
// second hop costs by itself), and returns a client with one shared
// keep-alive pool and the URLs of the backend, the bare proxy and the
// plane's proxy.
func proxyTargets(b *testing.B) (hc *http.Client, backendURL, bareURL, proxyURL string) {
	var port atomic.Int64
	_, client := benchPlane(b, localplane.Config{Handler: func(be localplane.Backend) http.Handler {
		port.Store(int64(be.Port))
		return okHandler(be)
	}})
	conn := readyBackend(b, client)
	hc = benchClient(b)

	backendURL = "http://127.0.0.1:" + strconv.Itoa(int(port.Load()))
	target, _ := url.Parse(backendURL)
	bareProxy := httputil.NewSingleHostReverseProxy(target)
	bareTransport := &http.Transport{MaxIdleConnsPerHost: 256, Proxy: nil} // as many as the plane's proxy keeps
	bareProxy.Transport = bareTransport
	bare := httptest.NewServer(bareProxy)
	b.Cleanup(func() {
		bare.Close()
		bareTransport.CloseIdleConnections()
	})
	return hc, backendURL + "/", bare.URL + "/", conn.URL
}

// benchGets runs GET url from parallel goroutines and reports req/s and
// the 50th and 99th percentile of the requests' latency.
func benchGets(b *testing.B, hc *http.Client, url string) float64 {
	var (
		mu        sync.Mutex
		latencies []time.Duration
	)
	b.SetParallelism(4) // 4 per CPU: enough requests in flight to keep both sides busy
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		defer func() {
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
		for pb.Next() {
			start := time.Now()
			resp, err := hc.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mine = append(mine, time.Since(start))
			if resp.StatusCode != http.StatusOK {
				b.Errorf("GET: %s", resp.Status)
				return
			}
		}
	})
	rps := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rps, "req/s")
	if len(latencies) > 0 {
		slices.Sort(latencies)
		b.ReportMetric(float64(latencies[len(latencies)/2])/float64(time.Microsecond), "p50-us")
		b.ReportMetric(float64(latencies[len(latencies)*99/100])/float64(time.Microsecond), "p99-us")
	}
	return rps
}

// BenchmarkMemoryPerIdleBackend measures what 200 idle, ready handler
// backends cost the plane: heap in use plus goroutine stacks, after a GC,
// before spawning them and once all are ready.
func BenchmarkMemoryPerIdleBackend(b *testing.B) {
	const n = 200
	var perBackend []float64
	for b.Loop() {
		perBackend = append(perBackend, memoryPerBackend(b, n))
	}
	b.ReportMetric(slices.Max(perBackend), "bytes/backend")
}

func memoryPerBackend(b *testing.B, n int) float64 {
	var ready atomic.Int64
	allReady := make(chan struct{})
	var once sync.Once
	srv, client := benchPlane(b, localplane.Config{
		Handler: okHandler,
		OnChange: func(s localplane.BackendView) {
			if s.Status == types.StatusReady && ready.Add(1) == int64(n)+1 { // +1: the warm-up backend
				once.Do(func() { close(allReady) })
			}
		},
	})
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	// A warm-up backend, so that one-time costs (connection pools, the
	// listeners' first buffers) are in the baseline.
	if _, err := client.Spawn(ctx, nil); err != nil {
		b.Fatal(err)
	}
	before := heapAndStacks()
	for range n {
		if _, err := client.Spawn(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-allReady:
	case <-ctx.Done():
		b.Fatalf("only %d of %d backends became ready", ready.Load(), n+1)
	}
	after := heapAndStacks()
	b.StopTimer()
	if err := srv.Close(); err != nil { // Cleanup closes it again, harmlessly
		b.Fatal(err)
	}
	b.StartTimer()
	return float64(after-before) / float64(n)
}

// heapAndStacks is the live heap and the goroutine stacks after a GC.
func heapAndStacks() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse)
}
