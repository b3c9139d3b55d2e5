package jamsocket

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPolicyZeroFieldsMeanDefaults(t *testing.T) {
	dr, ds := DefaultRetryPolicy(), DefaultStreamPolicy()
	for _, tc := range []struct {
		name string
		in   RetryPolicy
		want RetryPolicy
	}{
		{"zero is the default", RetryPolicy{}, dr},
		{"only MinWait given keeps the default budget", RetryPolicy{MinWait: time.Second},
			RetryPolicy{MaxRetries: dr.MaxRetries, MinWait: time.Second, MaxWait: dr.MaxWait}},
		{"only MaxRetries given", RetryPolicy{MaxRetries: 3}, RetryPolicy{MaxRetries: 3, MinWait: dr.MinWait, MaxWait: dr.MaxWait}},
		{"negative MinWait: at once", RetryPolicy{MaxRetries: 3, MinWait: -1}, RetryPolicy{MaxRetries: 3, MaxWait: dr.MaxWait}},
		{"negative MaxWait: no wait at all", RetryPolicy{MaxRetries: 3, MaxWait: -1}, RetryPolicy{MaxRetries: 3}},
		{"MinWait above MaxWait is capped", RetryPolicy{MinWait: time.Hour, MaxWait: time.Second},
			RetryPolicy{MaxRetries: dr.MaxRetries, MinWait: time.Second, MaxWait: time.Second}},
		{"negative MaxRetries: never", RetryPolicy{MaxRetries: -2}, RetryPolicy{MinWait: dr.MinWait, MaxWait: dr.MaxWait}},
	} {
		assert.Equal(t, tc.want, tc.in.resolved(), tc.name)
	}
	for _, tc := range []struct {
		name string
		in   StreamPolicy
		want StreamPolicy
	}{
		{"zero is the default", StreamPolicy{}, ds},
		{"only IdleTimeout given keeps reconnecting", StreamPolicy{IdleTimeout: time.Second},
			StreamPolicy{IdleTimeout: time.Second, MaxReconnects: ds.MaxReconnects, MinWait: ds.MinWait, MaxWait: ds.MaxWait}},
		{"negative MaxReconnects: no reconnect after a failure", StreamPolicy{MaxReconnects: -1},
			StreamPolicy{IdleTimeout: ds.IdleTimeout, MinWait: ds.MinWait, MaxWait: ds.MaxWait}},
		{"negative IdleTimeout is the default", StreamPolicy{IdleTimeout: -1}, ds},
	} {
		assert.Equal(t, tc.want, tc.in.resolved(), tc.name)
	}
	// The defaults are values: changing one returned cannot change another.
	p := DefaultRetryPolicy()
	p.MaxRetries = 100
	assert.Equal(t, 4, DefaultRetryPolicy().MaxRetries)
}

// RetryPolicy{MaxRetries: 3} must honour Retry-After: 1 (it once clamped it
// to the zero MaxWait and retried at once).
func TestRetryPolicyWithOnlyMaxRetriesHonoursRetryAfter(t *testing.T) {
	c, err := New(Config{Dev: true}, WithRetry(RetryPolicy{MaxRetries: 3}))
	require.NoError(t, err)
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"1"}}}
	retrying := callerOf(t, c).retrying[0]
	assert.Equal(t, time.Second, retrying.Backoff(retrying.RetryWaitMin, retrying.RetryWaitMax, 0, resp))
}

func TestReconnectWait(t *testing.T) {
	policy := StreamPolicy{MinWait: 100 * time.Millisecond, MaxWait: 2 * time.Second}.resolved()
	limited := &APIError{StatusCode: 429, RetryAfter: time.Second}
	assert.Equal(t, time.Second, reconnectWait(policy, 0, fmt.Errorf("wrapped: %w", limited)), "Retry-After is honoured")
	long := &APIError{StatusCode: 503, RetryAfter: time.Hour}
	assert.Equal(t, 2*time.Second, reconnectWait(policy, 0, long), "capped by MaxWait")
	for quiet, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		got := reconnectWait(policy, quiet, errEnded)
		assert.GreaterOrEqual(t, got, want/2, "quiet %d", quiet)
		assert.LessOrEqual(t, got, want, "quiet %d", quiet)
	}
	assert.LessOrEqual(t, reconnectWait(policy, 50, errEnded), 2*time.Second)
	assert.GreaterOrEqual(t, reconnectWait(policy, 50, errEnded), time.Second,
		"a server that closes at once is not reconnected in a hot loop")
}

// A real server that replays the history and then goes silent, sending no
// keep-alive (as the official dev server does), over and over: the stream
// keeps following it, far past MaxReconnects, and yields ready when it
// finally comes.
func TestStatusStreamQuietServer(t *testing.T) {
	const quietConnections = 8
	var conns atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := conns.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, events(StatusScheduled, StatusLoading))
		if n > quietConnections {
			fmt.Fprint(w, events(StatusReady, StatusTerminated))
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done() // silence until the client gives up on this connection
	}))
	defer srv.Close()
	// The idle timer also bounds the wait for headers, so it is long enough
	// for a loaded machine to answer; quiet connections outnumber
	// MaxReconnects+1, so counting them as failures would end the stream.
	c, err := New(Config{Dev: true, APIURL: srv.URL}, WithStreamPolicy(StreamPolicy{
		IdleTimeout: 100 * time.Millisecond, MaxReconnects: 3, MinWait: time.Microsecond, MaxWait: time.Millisecond,
	}))
	require.NoError(t, err)
	got, err := collect(t, c.StatusStream(t.Context(), "b1"))
	require.NoError(t, err)
	assert.Equal(t, []BackendStatus{StatusScheduled, StatusLoading, StatusReady, StatusTerminated}, got)
	assert.Equal(t, int64(quietConnections+1), conns.Load())
}

// An event that does not decode is logged at debug, once per connection,
// with its size and the kind of failure, never its data.
func TestUndecodableEventLogHoldsNoPayload(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock, WithLogger(logger))
	secret := "s3cr3t-payload"
	bad := "data: {\"status\":\"" + secret + "\n\n"
	mock.RegisterResponder("GET", streamURL, sseResponder(bad+bad+"data: {\"time\":\""+secret+"\"}\n\n"+events(StatusReady, StatusTerminated), false))
	got, err := collect(t, c.StatusStream(context.Background(), "b1"))
	require.NoError(t, err)
	assert.Equal(t, []BackendStatus{StatusReady, StatusTerminated}, got)
	logs := buf.String()
	assert.NotContains(t, logs, secret)
	assert.Equal(t, 1, strings.Count(logs, "does not decode"), "once per connection: %s", logs)
	assert.Contains(t, logs, `"level":"DEBUG"`)
	assert.Contains(t, logs, `"bytes":`)
	assert.Contains(t, logs, `"error_kind":"json syntax"`)
}

// A refused reconnect is logged by its status, never by the body's text.
func TestStreamReconnectLogHoldsNoBody(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock, WithLogger(logger))
	mock.RegisterResponder("GET", streamURL, sequence(
		jsonResponder(503, `{"error":{"message":"down: s3cr3t-body","code":"Unavailable"}}`),
		sseResponder(events(StatusReady, StatusTerminated), false)))
	got, err := collect(t, c.StatusStream(context.Background(), "b1"))
	require.NoError(t, err)
	assert.Equal(t, []BackendStatus{StatusReady, StatusTerminated}, got)
	assert.Contains(t, buf.String(), `"why":"status 503"`)
	assert.NotContains(t, buf.String(), "s3cr3t-body")
}
