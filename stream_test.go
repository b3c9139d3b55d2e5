package jamsocket

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const streamURL = testAPI + "/v2/backend/b1/status/stream"

var lifecycle = []BackendStatus{StatusScheduled, StatusLoading, StatusStarting, StatusWaiting, StatusReady,
	StatusTerminating, StatusTerminated}

func TestStatusStreamReplayThenLive(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	body := newLiveBody(events(lifecycle...), true) // the server keeps the stream open after terminated
	mock.RegisterResponder("GET", streamURL, func(req *http.Request) (*http.Response, error) {
		assert.Empty(t, req.Header.Get("Authorization"), "the stream is public")
		assert.Empty(t, req.Header.Get("Last-Event-ID"))
		return sseResponse(body), nil
	})
	got, err := collect(t, c.StatusStream(context.Background(), "b1"))
	require.NoError(t, err)
	assert.Equal(t, lifecycle, got)
	assert.True(t, body.isClosed(), "the connection is closed once terminated arrived")
	assert.Equal(t, 1, calls(mock, "GET", streamURL))
}

func TestStatusStreamStateFields(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	mock.RegisterResponder("GET", streamURL, sseResponder(
		"data:{\"status\":\"terminated\",\"time\":\"2024-11-04T20:42:21.123Z\",\"termination_reason\":\"key_expired\",\"termination_kind\":\"hard\",\"exit_error\":true}\r\n\r\n", true))
	n := 0
	for state, err := range c.StatusStream(context.Background(), "b1") {
		require.NoError(t, err)
		n++
		assert.Equal(t, StatusTerminated, state.Status)
		assert.Equal(t, ReasonKeyExpired, state.TerminationReason)
		assert.Equal(t, KindHard, state.TerminationKind)
		require.NotNil(t, state.ExitError)
		assert.True(t, *state.ExitError)
		assert.Equal(t, time.Date(2024, 11, 4, 20, 42, 21, 123e6, time.UTC), state.Time)
	}
	assert.Equal(t, 1, n, "one state")
}

func TestStatusStreamDedupeAcrossReconnects(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	// Each connection replays the whole history and then drops, until the
	// last, which reaches terminated.
	mock.RegisterResponder("GET", streamURL, sequence(
		sseResponder(events(StatusScheduled, StatusLoading), false),
		sseResponder(events(StatusScheduled, StatusLoading, StatusStarting, StatusWaiting, StatusReady), false),
		sseResponder(events(StatusScheduled, StatusLoading), false), // nothing new: quiet, not the end
		sseResponder(events(lifecycle...), true),
	))
	got, err := collect(t, c.StatusStream(context.Background(), "b1"))
	require.NoError(t, err)
	assert.Equal(t, lifecycle, got, "each status once and in order")
	assert.Equal(t, 4, calls(mock, "GET", streamURL))
}

func TestStatusStreamSkippedStatusesAndStaleEvents(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	// A status may be skipped; one ranking below the last seen is stale.
	mock.RegisterResponder("GET", streamURL, sseResponder(events(StatusLoading, StatusScheduled, StatusReady, StatusWaiting, StatusTerminated), false))
	got, err := collect(t, c.StatusStream(context.Background(), "b1"))
	require.NoError(t, err)
	assert.Equal(t, []BackendStatus{StatusLoading, StatusReady, StatusTerminated}, got)
}

func TestStatusStreamLastEventID(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	var (
		mu  sync.Mutex
		ids []string
	)
	first := "data: {\"status\":\"scheduled\",\"time\":1730752941123}\nid: scheduled\n\n" +
		":\n\n" +
		"data: {\"status\":\"loading\",\"time\":1730752941124}\nid: loading\n\n"
	second := "data:{\"status\":\"ready\",\"time\":1730752941125}\nid:ready\n\n" +
		"data:{\"status\":\"terminated\",\"time\":1730752941126}\nid:terminated\n\n"
	n := 0
	mock.RegisterResponder("GET", streamURL, func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		ids = append(ids, req.Header.Get("Last-Event-ID"))
		n++
		if n == 1 {
			return sseResponse(newLiveBody(first, false)), nil
		}
		return sseResponse(newLiveBody(second, true)), nil
	})
	got, err := collect(t, c.StatusStream(context.Background(), "b1"))
	require.NoError(t, err)
	assert.Equal(t, []BackendStatus{StatusScheduled, StatusLoading, StatusReady, StatusTerminated}, got)
	assert.Equal(t, []string{"", "loading"}, ids, "the reconnect resumes after the last id")
}

func TestStatusStreamNoLastEventIDWithoutIDs(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	var ids []string
	mock.RegisterResponder("GET", streamURL, sequence(
		func(req *http.Request) (*http.Response, error) {
			ids = append(ids, req.Header.Get("Last-Event-ID"))
			return sseResponse(newLiveBody(events(StatusScheduled), false)), nil
		},
		func(req *http.Request) (*http.Response, error) {
			ids = append(ids, req.Header.Get("Last-Event-ID"))
			return sseResponse(newLiveBody(events(StatusScheduled, StatusTerminated), false)), nil
		}))
	_, err := collect(t, c.StatusStream(context.Background(), "b1"))
	require.NoError(t, err)
	assert.Equal(t, []string{"", ""}, ids)
}

func TestStatusStreamBudgetResetOnProgress(t *testing.T) {
	mock := httpmock.NewMockTransport()
	policy := fastStream
	policy.MaxReconnects = 1
	c := newTestClient(t, mock, WithStreamPolicy(policy))
	// Every connection drops, and a failed one comes between them, but each
	// good one delivers something new: the budget of one reconnect in a row
	// is never exhausted.
	mock.RegisterResponder("GET", streamURL, sequence(
		sseResponder(events(StatusScheduled), false),
		failing(errReset),
		sseResponder(events(StatusScheduled, StatusLoading), false),
		jsonResponder(503, ""),
		sseResponder(events(StatusStarting), false),
		failing(errReset),
		sseResponder(events(StatusReady), false),
		sseResponder(events(StatusTerminated), false),
	))
	got, err := collect(t, c.StatusStream(context.Background(), "b1"))
	require.NoError(t, err)
	assert.Equal(t, []BackendStatus{StatusScheduled, StatusLoading, StatusStarting, StatusReady, StatusTerminated}, got)
	assert.Equal(t, 8, calls(mock, "GET", streamURL))
}

func TestStatusStreamGivesUp(t *testing.T) {
	t.Run("connections that end before any byte", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", streamURL, sequence(
			sseResponder(events(StatusScheduled), false),
			sseResponder("", false)))
		got, err := collect(t, c.StatusStream(context.Background(), "b1"))
		var streamErr *StreamError
		require.ErrorAs(t, err, &streamErr)
		assert.Equal(t, []BackendStatus{StatusScheduled}, got, "what was new is still yielded once")
		// The first connection delivered scheduled, so its end is free;
		// then MaxReconnects reconnects may fail, and one more gives up.
		assert.Equal(t, fastStream.MaxReconnects+2, calls(mock, "GET", streamURL))
		assert.Equal(t, fastStream.MaxReconnects+1, streamErr.Attempts)
		assert.Equal(t, "/v2/backend/b1/status/stream", streamErr.Path)
	})
	t.Run("connection errors", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", streamURL, failing(errRefused))
		_, err := collect(t, c.StatusStream(context.Background(), "b1"))
		var streamErr *StreamError
		require.ErrorAs(t, err, &streamErr)
		assert.ErrorIs(t, err, syscall.ECONNREFUSED)
		assert.Equal(t, fastStream.MaxReconnects+1, streamErr.Attempts)
		assert.Equal(t, fastStream.MaxReconnects+1, calls(mock, "GET", streamURL))
	})
	t.Run("a negative MaxReconnects gives up at the first failed connection", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		policy := fastStream
		policy.MaxReconnects = -1
		c := newTestClient(t, mock, WithStreamPolicy(policy))
		mock.RegisterResponder("GET", streamURL, sequence(
			sseResponder(events(StatusScheduled), false),
			failing(errReset)))
		got, err := collect(t, c.StatusStream(context.Background(), "b1"))
		require.Error(t, err)
		assert.Equal(t, []BackendStatus{StatusScheduled}, got)
		assert.Equal(t, 2, calls(mock, "GET", streamURL), "one reconnect after progress, which fails")

		mock = httpmock.NewMockTransport()
		c = newTestClient(t, mock, WithStreamPolicy(policy))
		mock.RegisterResponder("GET", streamURL, failing(errReset))
		_, err = collect(t, c.StatusStream(context.Background(), "b1"))
		require.Error(t, err)
		assert.Equal(t, 1, calls(mock, "GET", streamURL))
	})
	t.Run("healthy connections that bring nothing new are not failures", func(t *testing.T) {
		// Each connection replays what is known and ends, more times
		// than MaxReconnects; the stream keeps following.
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		replay := sseResponder(events(StatusScheduled, StatusLoading), false)
		responders := []httpmock.Responder{}
		for range 3 * (fastStream.MaxReconnects + 1) {
			responders = append(responders, replay)
		}
		mock.RegisterResponder("GET", streamURL, sequence(append(responders,
			sseResponder(events(StatusScheduled, StatusLoading, StatusReady, StatusTerminated), false))...))
		got, err := collect(t, c.StatusStream(context.Background(), "b1"))
		require.NoError(t, err)
		assert.Equal(t, []BackendStatus{StatusScheduled, StatusLoading, StatusReady, StatusTerminated}, got)
	})
	t.Run("a refusal is not retried", func(t *testing.T) {
		for _, code := range []int{400, 401, 403, 404, 410} {
			mock := httpmock.NewMockTransport()
			c := newTestClient(t, mock)
			mock.RegisterResponder("GET", streamURL, jsonResponder(code, `{"id":"x","kind":"NotFound","message":"no"}`))
			_, err := collect(t, c.StatusStream(context.Background(), "b1"))
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr, "%d", code)
			assert.Equal(t, code, apiErr.StatusCode)
			assert.Equal(t, 1, calls(mock, "GET", streamURL), "%d", code)
		}
	})
	t.Run("a response that is not a stream", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", streamURL, jsonResponder(200, readyBody))
		_, err := collect(t, c.StatusStream(context.Background(), "b1"))
		require.ErrorIs(t, err, ErrInvalidResponse)
		assert.Equal(t, 1, calls(mock, "GET", streamURL))
	})
	t.Run("429 and 503 are retried", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", streamURL, sequence(jsonResponder(429, ""), jsonResponder(503, ""),
			sseResponder(events(StatusTerminated), false)))
		got, err := collect(t, c.StatusStream(context.Background(), "b1"))
		require.NoError(t, err)
		assert.Equal(t, []BackendStatus{StatusTerminated}, got)
	})
}

func TestStatusStreamBreakClosesConnection(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	body := newLiveBody(events(StatusScheduled, StatusLoading, StatusStarting), true)
	mock.RegisterResponder("GET", streamURL, func(*http.Request) (*http.Response, error) { return sseResponse(body), nil })
	n := 0
	for state, err := range c.StatusStream(context.Background(), "b1") {
		require.NoError(t, err)
		n++
		if state.Status == StatusLoading {
			break
		}
	}
	assert.Equal(t, 2, n)
	assert.True(t, body.isClosed(), "breaking the loop closes the connection before the loop ends")
}

func TestStatusStreamContextCancel(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	body := newLiveBody(events(StatusScheduled), true) // then silence, not even keep-alives
	mock.RegisterResponder("GET", streamURL, func(*http.Request) (*http.Response, error) { return sseResponse(body), nil })
	ctx, cancel := context.WithCancel(context.Background())
	var (
		got []BackendStatus
		err error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for state, e := range c.StatusStream(ctx, "b1") {
			if e != nil {
				err = e
				return
			}
			got = append(got, state.Status)
			cancel() // the consumer is done waiting; the stream is blocked reading
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("cancelling the context did not end the stream")
	}
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, []BackendStatus{StatusScheduled}, got)
	assert.True(t, body.isClosed())
	assert.Equal(t, 1, calls(mock, "GET", streamURL), "no reconnect after cancel")
}

func TestStatusStreamContextCancelDuringReconnectWait(t *testing.T) {
	mock := httpmock.NewMockTransport()
	policy := fastStream
	policy.MinWait, policy.MaxWait = time.Minute, time.Minute
	c := newTestClient(t, mock, WithStreamPolicy(policy))
	ctx, cancel := context.WithCancel(context.Background())
	mock.RegisterResponder("GET", streamURL, func(*http.Request) (*http.Response, error) {
		defer cancel()
		return nil, errReset
	})
	_, err := collect(t, c.StatusStream(ctx, "b1"))
	require.ErrorIs(t, err, context.Canceled)
}

func TestStatusStreamIdleTimeout(t *testing.T) {
	mock := httpmock.NewMockTransport()
	policy := fastStream
	policy.IdleTimeout = 20 * time.Millisecond
	c := newTestClient(t, mock, WithStreamPolicy(policy))
	quiet := newLiveBody(events(StatusScheduled, StatusLoading), true) // then nothing at all
	mock.RegisterResponder("GET", streamURL, sequence(
		func(*http.Request) (*http.Response, error) { return sseResponse(quiet), nil },
		sseResponder(events(StatusScheduled, StatusLoading, StatusReady, StatusTerminated), true),
	))
	got, err := collect(t, c.StatusStream(context.Background(), "b1"))
	require.NoError(t, err)
	assert.Equal(t, []BackendStatus{StatusScheduled, StatusLoading, StatusReady, StatusTerminated}, got)
	assert.True(t, quiet.isClosed(), "the idle connection was closed")
	assert.Equal(t, 2, calls(mock, "GET", streamURL))
}

func TestStatusStreamKeepAlivesAreActivity(t *testing.T) {
	mock := httpmock.NewMockTransport()
	policy := fastStream
	policy.IdleTimeout = 150 * time.Millisecond
	policy.MaxReconnects = -1
	c := newTestClient(t, mock, WithStreamPolicy(policy))
	// Keep-alives every 10ms for 400ms, well over the idle timeout, then
	// the last status.
	pr, pw := ioPipe()
	mock.RegisterResponder("GET", streamURL, func(*http.Request) (*http.Response, error) { return sseResponse(pr), nil })
	go func() {
		_, _ = pw.Write([]byte(event(StatusReady)))
		ticker := time.NewTicker(10 * time.Millisecond)
		defer ticker.Stop()
		for range 40 {
			<-ticker.C
			if _, err := pw.Write([]byte(":\n\n")); err != nil {
				return
			}
		}
		_, _ = pw.Write([]byte(event(StatusTerminated)))
	}()
	got, err := collect(t, c.StatusStream(context.Background(), "b1"))
	require.NoError(t, err)
	assert.Equal(t, []BackendStatus{StatusReady, StatusTerminated}, got)
	assert.Equal(t, 1, calls(mock, "GET", streamURL), "keep-alives kept the connection")
}

func TestStatusStreamUnknownAndMalformed(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	mock.RegisterResponder("GET", streamURL, sseResponder(
		event(StatusScheduled)+
			"data: {not json\n\n"+
			"data: {\"time\":1}\n\n"+ // no status
			"data: {\"status\":\"hibernating\",\"time\":1}\n\n"+
			"data: {\"status\":\"hibernating\",\"time\":2}\n\n"+ // an unknown status is also yielded once
			"event: ping\ndata: \n\n"+
			event(StatusReady)+event(StatusTerminated), true))
	got, err := collect(t, c.StatusStream(context.Background(), "b1"))
	require.NoError(t, err)
	assert.Equal(t, []BackendStatus{StatusScheduled, "hibernating", StatusReady, StatusTerminated}, got)
}

// An event over the limit ends the stream at once with a permanent error:
// whether it comes as one long line or as many short data lines.
func TestStatusStreamEventTooLarge(t *testing.T) {
	for name, huge := range map[string]string{
		"one line":    "data: {\"status\":\"ready\",\"pad\":\"" + repeat('x', 1<<20) + "\"}\n\n",
		"short lines": strings.Repeat("data: "+repeat('x', 100)+"\n", (1<<20)/100+1) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newTestClient(t, mock)
			mock.RegisterResponder("GET", streamURL, sseResponder(event(StatusLoading)+huge+event(StatusReady), false))
			got, err := collect(t, c.StatusStream(context.Background(), "b1"))
			assert.Equal(t, []BackendStatus{StatusLoading}, got)
			var streamErr *StreamError
			require.ErrorAs(t, err, &streamErr)
			require.ErrorIs(t, err, ErrEventTooLarge)
			assert.Equal(t, 1, calls(mock, "GET", streamURL), "not reconnected: the server would send it again")
		})
	}
}

func TestStatusStreamRangedTwice(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	mock.RegisterResponder("GET", streamURL, sseResponder(events(StatusReady, StatusTerminated), false))
	seq := c.StatusStream(context.Background(), "b1")
	for range 2 {
		got, err := collect(t, seq)
		require.NoError(t, err)
		assert.Equal(t, []BackendStatus{StatusReady, StatusTerminated}, got, "each range starts afresh")
	}
}

// A policy that leaves IdleTimeout at zero must not drop every connection
// at once: zero takes the default.
func TestStatusStreamZeroIdleTimeout(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock, WithStreamPolicy(StreamPolicy{MaxReconnects: 2}))
	pr, pw := ioPipe()
	mock.RegisterResponder("GET", streamURL, func(*http.Request) (*http.Response, error) { return sseResponse(pr), nil })
	gotReady := make(chan struct{})
	go func() {
		_, _ = pw.Write([]byte(event(StatusReady)))
		<-gotReady // the consumer has it: a zero idle timeout would fire now
		_, _ = pw.Write([]byte(event(StatusTerminated)))
	}()
	var got []BackendStatus
	for state, err := range c.StatusStream(context.Background(), "b1") {
		require.NoError(t, err)
		got = append(got, state.Status)
		if state.Status == StatusReady {
			close(gotReady)
		}
	}
	assert.Equal(t, []BackendStatus{StatusReady, StatusTerminated}, got)
	assert.Equal(t, 1, calls(mock, "GET", streamURL))
}

// A server that accepts the request but never sends the response headers is
// as dead as one that stops sending events: the idle timeout covers the wait
// for the headers too, or the stream would hang until ctx ends.
func TestStatusStreamIdleTimeoutBeforeHeaders(t *testing.T) {
	mock := httpmock.NewMockTransport()
	policy := fastStream
	policy.IdleTimeout = 20 * time.Millisecond
	c := newTestClient(t, mock, WithStreamPolicy(policy))
	mock.RegisterResponder("GET", streamURL, sequence(
		func(req *http.Request) (*http.Response, error) {
			<-req.Context().Done() // never answers
			return nil, req.Context().Err()
		},
		sseResponder(events(StatusReady, StatusTerminated), true),
	))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := collect(t, c.StatusStream(ctx, "b1"))
	require.NoError(t, err)
	assert.Equal(t, []BackendStatus{StatusReady, StatusTerminated}, got)
	assert.Equal(t, 2, calls(mock, "GET", streamURL))
}
