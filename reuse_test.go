package jamsocket

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every response body is read to its end (or drained) before it is closed,
// so that one keep-alive connection serves a run of calls, whatever they
// answered: a success, an API error, a retried 503, a stream refused for its
// content type.
func TestConnectionsAreReused(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/backend/ok/status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(readyBody))
	})
	mux.HandleFunc("GET /v2/backend/gone/status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"NotFound","message":"` + strings.Repeat("x", 8<<10) + `"}}`))
	})
	var flaky atomic.Int64
	mux.HandleFunc("GET /v2/backend/flaky/status", func(w http.ResponseWriter, _ *http.Request) {
		if flaky.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(strings.Repeat("busy ", 100)))
			return
		}
		_, _ = w.Write([]byte(readyBody))
	})
	mux.HandleFunc("GET /v2/backend/html/status/stream", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>" + strings.Repeat("sign in ", 1<<10) + "</html>"))
	})
	c, n := countingClient(t, mux)
	var err error

	ctx := context.Background()
	for range 3 {
		_, err = c.Status(ctx, "ok")
		require.NoError(t, err)
		_, err = c.Status(ctx, "gone")
		require.ErrorIs(t, err, ErrNotFound)
		got, err := collect(t, c.StatusStream(ctx, "html"))
		require.ErrorIs(t, err, ErrInvalidResponse)
		require.Empty(t, got)
	}
	_, err = c.Status(ctx, "flaky")
	require.NoError(t, err)
	assert.Equal(t, int64(1), n.Load(), "connections opened")
}

// retryablehttp closes the transport's idle connections whenever a request
// fails for good or is cancelled; the Client must not let that empty the
// pool its other callers share.
func TestFailedRequestKeepsOthersIdleConnections(t *testing.T) {
	var barrier sync.WaitGroup
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/backend/pair/status", func(w http.ResponseWriter, _ *http.Request) {
		barrier.Done()
		barrier.Wait() // both requests in flight: two connections
		_, _ = w.Write([]byte(readyBody))
	})
	mux.HandleFunc("GET /v2/backend/down/status", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	c, n := countingClient(t, mux)
	var err error

	pair := func() {
		barrier.Add(2)
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				_, err := c.Status(context.Background(), "pair")
				assert.NoError(t, err)
			})
		}
		wg.Wait()
	}
	pair()
	require.Equal(t, int64(2), n.Load())
	_, err = c.Status(context.Background(), "down")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	pair()
	assert.Equal(t, int64(2), n.Load(), "connections opened")
}

// countingClient serves mux and returns a Client for it, with a count of the
// connections the server has accepted.
func countingClient(t *testing.T, mux http.Handler) (*Client, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := New(Config{Account: "a", Token: testToken, Service: "s", APIURL: srv.URL}, WithRetry(fastRetry))
	require.NoError(t, err)
	t.Cleanup(callerOf(t, c).stream.CloseIdleConnections)
	return c, &n
}
