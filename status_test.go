package jamsocket

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func stateBody(status BackendStatus) string {
	return `{"status":"` + string(status) + `","time":"2024-11-04T20:42:21.123Z"}`
}

func TestStatus(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	mock.RegisterResponder("GET", statusURL, jsonResponder(200,
		`{"status":"terminated","time":"2024-11-04T20:42:21.123Z","termination_reason":"startup_timeout","termination_kind":"soft","exit_error":false}`))
	state, err := c.Status(context.Background(), "b1")
	require.NoError(t, err)
	assert.Equal(t, StatusTerminated, state.Status)
	assert.Equal(t, ReasonStartupTimeout, state.TerminationReason)
	assert.Equal(t, KindSoft, state.TerminationKind)
	require.NotNil(t, state.ExitError)
	assert.False(t, *state.ExitError)
	assert.Equal(t, time.Date(2024, 11, 4, 20, 42, 21, 123e6, time.UTC), state.Time)

	mock.RegisterResponder("GET", testAPI+"/v2/backend/nope/status", jsonResponder(404, `{"error":{"message":"no backend","code":"NotFound"}}`))
	_, err = c.Status(context.Background(), "nope")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestWaitReady(t *testing.T) {
	t.Run("already ready: no stream opened", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", statusURL, jsonResponder(200, stateBody(StatusReady)))
		state, err := c.WaitReady(context.Background(), "b1")
		require.NoError(t, err)
		assert.Equal(t, StatusReady, state.Status)
		assert.Equal(t, 0, calls(mock, "GET", streamURL))
	})
	t.Run("ready through the stream", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		body := newLiveBody(events(StatusScheduled, StatusLoading, StatusStarting, StatusWaiting, StatusReady), true)
		mock.RegisterResponder("GET", statusURL, jsonResponder(200, stateBody(StatusScheduled)))
		mock.RegisterResponder("GET", streamURL, func(*http.Request) (*http.Response, error) { return sseResponse(body), nil })
		state, err := c.WaitReady(context.Background(), "b1")
		require.NoError(t, err)
		assert.Equal(t, StatusReady, state.Status)
		assert.True(t, body.isClosed(), "the stream is closed once ready")
	})
	for _, ending := range []BackendStatus{StatusTerminating, StatusHardTerminating, StatusTerminated} {
		t.Run(string(ending)+" first through the stream", func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newTestClient(t, mock)
			mock.RegisterResponder("GET", statusURL, jsonResponder(200, stateBody(StatusLoading)))
			mock.RegisterResponder("GET", streamURL, sseResponder(events(StatusLoading, StatusStarting)+
				`data: {"status":"`+string(ending)+`","time":"2024-11-04T20:42:21.123Z","termination_reason":"startuptimeout"}`+"\n\n", true))
			state, err := c.WaitReady(context.Background(), "b1")
			require.ErrorIs(t, err, ErrBackendTerminated)
			assert.Nil(t, state, "no state beside the error")
			var termErr *BackendTerminatedError
			require.ErrorAs(t, err, &termErr)
			assert.Equal(t, "b1", termErr.BackendID)
			assert.Equal(t, ending, termErr.State.Status)
			assert.Equal(t, ReasonStartupTimeout, termErr.State.TerminationReason)
			assert.Contains(t, err.Error(), string(ending))
		})
		t.Run(string(ending)+" already", func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newTestClient(t, mock)
			mock.RegisterResponder("GET", statusURL, jsonResponder(200, stateBody(ending)))
			state, err := c.WaitReady(context.Background(), "b1")
			require.ErrorIs(t, err, ErrBackendTerminated)
			assert.Nil(t, state, "no state beside the error")
			assert.Equal(t, 0, calls(mock, "GET", streamURL))
		})
	}
	t.Run("context expiry names the last status", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", statusURL, jsonResponder(200, stateBody(StatusScheduled)))
		mock.RegisterResponder("GET", streamURL, sseResponder(events(StatusScheduled, StatusLoading)+":\n\n", true))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.WaitReady(ctx, "b1")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		var waitErr *WaitError
		require.ErrorAs(t, err, &waitErr)
		assert.Equal(t, StatusLoading, waitErr.LastState.Status)
		assert.Contains(t, err.Error(), "last status: loading")
		assert.NotErrorIs(t, err, ErrBackendTerminated)
	})
	t.Run("context expiry during the first status read", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock, WithRetry(RetryPolicy{MaxRetries: 5, MinWait: time.Minute, MaxWait: time.Minute}))
		mock.RegisterResponder("GET", statusURL, jsonResponder(503, ""))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		_, err := c.WaitReady(ctx, "b1")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "last status: none")
	})
	t.Run("unknown backend", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", statusURL, jsonResponder(404, `{"error":{"message":"no","code":"NotFound"}}`))
		_, err := c.WaitReady(context.Background(), "b1")
		require.ErrorIs(t, err, ErrNotFound)
		assert.Equal(t, 0, calls(mock, "GET", streamURL))
	})
	t.Run("stream endpoint missing: polling reaches ready", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", statusURL, sequence(
			jsonResponder(200, stateBody(StatusScheduled)),
			jsonResponder(200, stateBody(StatusStarting)),
			jsonResponder(200, stateBody(StatusReady))))
		mock.RegisterResponder("GET", streamURL, jsonResponder(404, "Not Found"))
		state, err := c.WaitReady(context.Background(), "b1")
		require.NoError(t, err)
		assert.Equal(t, StatusReady, state.Status)
		assert.Equal(t, 3, calls(mock, "GET", statusURL))
		assert.Equal(t, 1, calls(mock, "GET", streamURL))
	})
	t.Run("stream endpoint missing: polling sees the end", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", statusURL, sequence(
			jsonResponder(200, stateBody(StatusScheduled)),
			jsonResponder(200, stateBody(StatusTerminated))))
		mock.RegisterResponder("GET", streamURL, jsonResponder(405, ""))
		_, err := c.WaitReady(context.Background(), "b1")
		require.ErrorIs(t, err, ErrBackendTerminated)
	})
	t.Run("stream gives up: polling goes on", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", statusURL, sequence(
			jsonResponder(200, stateBody(StatusLoading)),
			jsonResponder(503, ""), // retries used up: still not the end of the wait
			jsonResponder(200, stateBody(StatusLoading)),
			jsonResponder(200, stateBody(StatusReady))))
		mock.RegisterResponder("GET", streamURL, failing(errReset))
		state, err := c.WaitReady(context.Background(), "b1")
		require.NoError(t, err)
		assert.Equal(t, StatusReady, state.Status)
		assert.Equal(t, fastStream.MaxReconnects+1, calls(mock, "GET", streamURL))
	})
	t.Run("a quiet stream is followed until the context ends", func(t *testing.T) {
		// The stream replays loading and ends, again and again: healthy but
		// quiet. WaitReady keeps following it; only the context ends it.
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", statusURL, jsonResponder(200, stateBody(StatusLoading)))
		mock.RegisterResponder("GET", streamURL, sseResponder(events(StatusLoading), false))
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := c.WaitReady(ctx, "b1")
		var waitErr *WaitError
		require.ErrorAs(t, err, &waitErr)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, StatusLoading, waitErr.LastState.Status)
		assert.Greater(t, calls(mock, "GET", streamURL), fastStream.MaxReconnects+1,
			"quiet connections are not failed reconnects")
	})
	t.Run("every failure is a WaitError", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", statusURL, jsonResponder(404, `{"error":{"message":"no","code":"NotFound"}}`))
		_, err := c.WaitReady(context.Background(), "b1")
		var waitErr *WaitError
		require.ErrorAs(t, err, &waitErr)
		assert.Nil(t, waitErr.LastState)
		_, err = c.WaitReady(context.Background(), "")
		require.ErrorAs(t, err, &waitErr)
	})
	t.Run("OnStatus sees each status once, in order", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", statusURL, jsonResponder(200, stateBody(StatusScheduled)))
		mock.RegisterResponder("GET", streamURL, sseResponder(events(StatusScheduled, StatusLoading, StatusReady), true))
		var seen []BackendStatus
		state, err := c.WaitReady(context.Background(), "b1", &WaitOptions{OnStatus: func(s *BackendState) { seen = append(seen, s.Status) }})
		require.NoError(t, err)
		assert.Equal(t, StatusReady, state.Status)
		assert.Equal(t, []BackendStatus{StatusScheduled, StatusLoading, StatusReady}, seen)
	})
}
