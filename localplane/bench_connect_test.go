package localplane_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// BenchmarkConnect measures the API's connect path: a keyed connect to a
// backend that already holds the key (no spawn), through the browser guard
// and the registry, as the SDK sends it, from parallel goroutines.
//
//	go test -run '^$' -bench 'Connect|ProxyPost' -benchmem ./localplane/
func BenchmarkConnect(b *testing.B) {
	// Tokens expire at once, so that the connects of one key never meet the
	// backend's bound on unexpired tokens (1,024: 503 beyond).
	srv, client := benchPlane(b, localplane.Config{Handler: okHandler, TokenTTL: time.Millisecond})
	if _, err := client.Spawn(b.Context(), nil); err != nil { // warm up
		b.Fatal(err)
	}
	hc := benchClient(b)
	url := srv.APIURL() + "/v2/service/bench/bench/connect"
	body := []byte(`{"key":"bench-key","user":"ann","auth":{"role":"editor"}}`)
	benchPosts(b, hc, url, "application/json", body)
}

// BenchmarkConnectTracing is BenchmarkConnect with the plane's tracing
// off (no provider installed: the global one, which does not record) and
// with a provider that records every span (and exports none): the cost of
// the connect's server span. "off" is BenchmarkConnect.
func BenchmarkConnectTracing(b *testing.B) {
	for _, tc := range []struct {
		name string
		tp   trace.TracerProvider
	}{
		{"off", nil},
		{"recording", sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv, client := benchPlane(b, localplane.Config{
				Handler: okHandler, TokenTTL: time.Millisecond, TracerProvider: tc.tp, Propagator: propagation.TraceContext{},
			})
			if _, err := client.Spawn(b.Context(), &jamsocket.ConnectRequest{Key: "bench-key"}); err != nil {
				b.Fatal(err)
			}
			benchPosts(b, benchClient(b), srv.APIURL()+"/v2/service/bench/bench/connect", "application/json",
				[]byte(`{"key":"bench-key","user":"ann","auth":{"role":"editor"}}`))
		})
	}
}

// BenchmarkProxyPost sends a 4 KiB POST body through the plane's proxy to a
// handler backend that reads it: the path of a proxied request body.
func BenchmarkProxyPost(b *testing.B) {
	_, client := benchPlane(b, localplane.Config{Handler: func(localplane.Backend) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = w.Write([]byte("ok"))
		})
	}})
	conn := readyBackend(b, client)
	hc := benchClient(b)
	payload := bytes.Repeat([]byte("x"), 4<<10)
	benchPosts(b, hc, conn.URL, "application/octet-stream", payload)
}

// benchPosts POSTs body to url from parallel goroutines and reports req/s.
func benchPosts(b *testing.B, hc *http.Client, url, contentType string, body []byte) {
	benchParallel(b, func() (*http.Response, error) { return hc.Post(url, contentType, bytes.NewReader(body)) })
}

// benchParallel sends requests from parallel goroutines, each expecting
// 200, and reports req/s.
func benchParallel(b *testing.B, send func() (*http.Response, error)) {
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := send()
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("%s: %s", resp.Request.Method, resp.Status)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
