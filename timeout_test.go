package jamsocket_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
)

// hungServer answers nothing until the client gives up, counting requests;
// with sendHeaders it sends the status line first and hangs in the body.
func hungServer(t *testing.T, sendHeaders bool) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		// Read the body, so that the server notices when the client hangs up.
		_, _ = io.Copy(io.Discard, r.Body)
		if sendHeaders {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"status":`))
			http.NewResponseController(w).Flush()
		}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func timeoutClient(t *testing.T, url string) *jamsocket.Client {
	c, err := jamsocket.New(jamsocket.Config{Account: "a", Service: "s", Token: "tok", APIURL: url},
		jamsocket.WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}),
		jamsocket.WithRetry(jamsocket.RetryPolicy{MaxRetries: 1, MinWait: time.Millisecond, MaxWait: time.Millisecond}))
	require.NoError(t, err)
	return c
}

// The HTTP client's Timeout bounds each attempt, so a hung server costs a
// read at most Timeout per attempt and is retried like any connection error.
func TestHungServerTimesOutEachAttempt(t *testing.T) {
	srv, calls := hungServer(t, false)
	c := timeoutClient(t, srv.URL)
	_, err := c.Status(context.Background(), "b1")
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.EqualValues(t, 2, calls.Load(), "a read is tried again after a timeout")
}

func TestHungServerKeylessSpawnIsSentOnce(t *testing.T) {
	srv, calls := hungServer(t, false)
	c := timeoutClient(t, srv.URL)
	_, err := c.Spawn(context.Background(), nil)
	require.Error(t, err)
	assert.EqualValues(t, 1, calls.Load(), "the server may have spawned: no second try")
}

// The deadline also covers reading the body.
func TestHungBodyTimesOut(t *testing.T) {
	srv, _ := hungServer(t, true)
	c := timeoutClient(t, srv.URL)
	_, err := c.Status(context.Background(), "b1")
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}
