package localplane

import (
	"context"
	"net/http"
	"time"
)

// The readiness probe: a backend is ready once it answers HTTP, the way
// Plane's drone checks a container.

// Probe intervals: fast at first, so that spawn-to-ready is short, backing
// off for slow starters.
const (
	probeFirst = 5 * time.Millisecond
	probeMax   = 100 * time.Millisecond
)

// newProbeClient is the client of the readiness probe: short timeouts, no
// kept connections, no proxy.
func newProbeClient() *http.Client {
	return &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	}
}

// probe returns once addr answers an HTTP request (any HTTP response
// counts), with the number of requests it took, or ctx's error. addr is
// read before each try: a process backend may start again on another port.
func probe(ctx context.Context, client *http.Client, addr func() string) (attempts int, err error) {
	delay := probeFirst
	for {
		attempts++
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+addr()+"/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return attempts, nil
		}
		select {
		case <-ctx.Done():
			return attempts, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, probeMax)
	}
}
