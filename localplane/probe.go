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

// probe closes ready once addr answers an HTTP request: any HTTP response
// counts. addr is read before each try: a process backend may start again
// on another port.
func probe(ctx context.Context, client *http.Client, addr func() string, ready chan<- struct{}) {
	delay := probeFirst
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+addr()+"/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			close(ready)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, probeMax)
	}
}
