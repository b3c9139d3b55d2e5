package jamsocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const statusURL = testAPI + "/v2/backend/b1/status"

const readyBody = `{"status":"ready","time":"2024-11-04T20:42:21.123Z"}`

func TestAPIErrorShapes(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		status                   int
		body                     string
		header                   http.Header
		code, message, requestID string
		retryAfter               time.Duration
		sentinel                 error
	}{
		{name: "jamsocket JSON error", status: 404,
			body: `{"error":{"message":"No such backend","status":"404","code":"BackendNotFound","id":"e-123"}}`,
			code: "BackendNotFound", message: "No such backend", requestID: "e-123", sentinel: ErrNotFound},
		{name: "jamsocket error with numeric status", status: 409,
			body: `{"error":{"message":"held","status":409,"code":"KeyHeld"}}`, code: "KeyHeld", message: "held", sentinel: ErrConflict},
		{name: "plane error", status: 404,
			body: `{"id":"k2j4h5g6f7d8s9","kind":"NotFound","message":"Backend does not exist"}`,
			code: "NotFound", message: "Backend does not exist", requestID: "k2j4h5g6f7d8s9", sentinel: ErrNotFound},
		{name: "error as a string", status: 403, body: `{"error":"forbidden here"}`, message: "forbidden here", sentinel: ErrUnauthorized},
		{name: "raw text", status: 401, body: "Unauthorized\n", message: "Unauthorized", sentinel: ErrUnauthorized},
		{name: "proxy auth", status: 407, body: "", sentinel: ErrUnauthorized},
		{name: "empty body", status: 404, body: "", sentinel: ErrNotFound},
		{name: "html", status: 404, body: "<html>nope</html>", message: "<html>nope</html>", sentinel: ErrNotFound},
		{name: "rate limited with Retry-After seconds", status: 429, body: "slow down",
			header: http.Header{"Retry-After": {"7"}}, message: "slow down", retryAfter: 7 * time.Second, sentinel: ErrRateLimited},
		{name: "Retry-After garbage ignored", status: 429, body: "", header: http.Header{"Retry-After": {"soon"}}, sentinel: ErrRateLimited},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newTestClient(t, mock, WithRetry(RetryPolicy{MaxRetries: -1}))
			mock.RegisterResponder("GET", statusURL, func(*http.Request) (*http.Response, error) {
				r := httpmock.NewStringResponse(tc.status, tc.body)
				for k, v := range tc.header {
					r.Header[k] = v
				}
				return r, nil
			})
			_, err := c.Status(context.Background(), "b1")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, tc.code, apiErr.Code)
			assert.Equal(t, tc.message, apiErr.Message)
			assert.Equal(t, tc.requestID, apiErr.RequestID)
			assert.Equal(t, tc.retryAfter, apiErr.RetryAfter)
			assert.Equal(t, "GET", apiErr.Method)
			assert.Equal(t, "/v2/backend/b1/status", apiErr.Path)
			assert.ErrorIs(t, err, tc.sentinel)
			for _, other := range []error{ErrNotFound, ErrUnauthorized, ErrRateLimited, ErrConflict, ErrBackendTerminated, ErrInvalidResponse} {
				if other != tc.sentinel {
					assert.NotErrorIs(t, err, other)
				}
			}
			msg := err.Error()
			assert.Contains(t, msg, "/v2/backend/b1/status")
			assert.Contains(t, msg, strconv.Itoa(tc.status))
			if tc.code != "" {
				assert.Contains(t, msg, tc.code)
			}
		})
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock, WithRetry(RetryPolicy{MaxRetries: -1}))
	mock.RegisterResponder("GET", statusURL, func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(503, "")
		r.Header.Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
		return r, nil
	})
	_, err := c.Status(context.Background(), "b1")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.InDelta(t, time.Hour.Seconds(), apiErr.RetryAfter.Seconds(), 5)
}

func TestLongErrorMessageTruncated(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	mock.RegisterResponder("GET", statusURL, jsonResponder(500, strings.Repeat("x", 5000)))
	_, err := c.Status(context.Background(), "b1")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Less(t, len(apiErr.Message), 600)
}

func TestMalformedSuccess(t *testing.T) {
	for _, tc := range []struct {
		name, body string
	}{
		{"not JSON", "<html>hello</html>"},
		{"empty", ""},
		{"wrong shape", `{"backend":"b"}`},
		{"array", `[]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newTestClient(t, mock)
			mock.RegisterResponder("GET", statusURL, jsonResponder(200, tc.body))
			mock.RegisterResponder("POST", connectURL, jsonResponder(200, tc.body))
			_, err := c.Status(context.Background(), "b1")
			require.ErrorIs(t, err, ErrInvalidResponse)
			var decErr *DecodeError
			require.ErrorAs(t, err, &decErr)
			assert.Equal(t, 200, decErr.StatusCode)
			assert.Contains(t, err.Error(), "not the expected JSON")
			_, err = c.Spawn(context.Background(), nil)
			require.ErrorIs(t, err, ErrInvalidResponse)
			assert.Equal(t, 1, calls(mock, "GET", statusURL), "a malformed answer is not retried")
		})
	}
}

func TestResponseBodyLimit(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	mock.RegisterResponder("GET", statusURL, jsonResponder(200, `{"status":"ready","pad":"`+strings.Repeat("x", 11<<20)+`"}`))
	_, err := c.Status(context.Background(), "b1")
	require.ErrorContains(t, err, "larger than")
}

// failing responds with a transport error.
func failing(err error) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) { return nil, err }
}

var (
	errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	errReset   = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	errTimeout = &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
)

func TestStatusRetries(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first httpmock.Responder
		calls int
	}{
		{"connection refused", failing(errRefused), 2},
		{"connection reset", failing(errReset), 2},
		{"429", jsonResponder(429, ""), 2},
		{"502", jsonResponder(502, ""), 2},
		{"503", jsonResponder(503, ""), 2},
		{"504", jsonResponder(504, ""), 2},
		{"500 not retried", jsonResponder(500, ""), 1},
		{"400 not retried", jsonResponder(400, ""), 1},
		{"404 not retried", jsonResponder(404, ""), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newTestClient(t, mock)
			mock.RegisterResponder("GET", statusURL, sequence(tc.first, jsonResponder(200, readyBody)))
			state, err := c.Status(context.Background(), "b1")
			if tc.calls == 2 {
				require.NoError(t, err)
				assert.Equal(t, StatusReady, state.Status)
			} else {
				require.Error(t, err)
			}
			assert.Equal(t, tc.calls, calls(mock, "GET", statusURL))
		})
	}
	t.Run("gives up after MaxRetries with the last answer", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", statusURL, jsonResponder(503, `{"error":{"message":"down","code":"Unavailable"}}`))
		_, err := c.Status(context.Background(), "b1")
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 503, apiErr.StatusCode)
		assert.Equal(t, "Unavailable", apiErr.Code)
		assert.Equal(t, 1+fastRetry.MaxRetries, calls(mock, "GET", statusURL))
	})
	t.Run("gives up after MaxRetries on transport errors", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", statusURL, failing(errReset))
		_, err := c.Status(context.Background(), "b1")
		require.ErrorIs(t, err, syscall.ECONNRESET)
		assert.Equal(t, 1+fastRetry.MaxRetries, calls(mock, "GET", statusURL))
	})
	t.Run("a zero MaxRetries retries with the default budget", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock, WithRetry(RetryPolicy{MinWait: time.Microsecond, MaxWait: time.Millisecond}))
		mock.RegisterResponder("GET", statusURL, jsonResponder(503, ""))
		_, err := c.Status(context.Background(), "b1")
		require.Error(t, err)
		assert.Equal(t, 1+DefaultRetryPolicy().MaxRetries, calls(mock, "GET", statusURL))
	})
	t.Run("a negative MaxRetries never retries", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock, WithRetry(RetryPolicy{MaxRetries: -1}))
		mock.RegisterResponder("GET", statusURL, jsonResponder(503, ""))
		_, err := c.Status(context.Background(), "b1")
		require.Error(t, err)
		assert.Equal(t, 1, calls(mock, "GET", statusURL))
	})
}

func TestRetryAfterHonouredUpToMaxWait(t *testing.T) {
	const maxWait = 30 * time.Millisecond
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock, WithRetry(RetryPolicy{MaxRetries: 2, MinWait: time.Microsecond, MaxWait: maxWait}))
	mock.RegisterResponder("GET", statusURL, sequence(func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(429, "")
		r.Header.Set("Retry-After", "3600")
		return r, nil
	}, jsonResponder(200, readyBody)))
	start := time.Now()
	_, err := c.Status(context.Background(), "b1")
	require.NoError(t, err)
	elapsed := time.Since(start)
	// An hour asked for, capped at MaxWait; without Retry-After the backoff
	// from a 1µs MinWait would be far shorter than MaxWait.
	assert.GreaterOrEqual(t, elapsed, maxWait)
	assert.Less(t, elapsed, 5*time.Second)
	assert.Equal(t, 2, calls(mock, "GET", statusURL))
}

func TestSpawnRetries(t *testing.T) {
	for _, tc := range []struct {
		name  string
		key   string
		first httpmock.Responder
		calls int
	}{
		{"keyless 503 is sent exactly once", "", jsonResponder(503, ""), 1},
		{"keyless 502 is sent exactly once", "", jsonResponder(502, ""), 1},
		{"keyless 504 is sent exactly once", "", jsonResponder(504, ""), 1},
		{"keyless timeout is sent exactly once", "", failing(errTimeout), 1},
		{"keyless reset is sent exactly once", "", failing(errReset), 1},
		{"keyless 429 is retried", "", jsonResponder(429, ""), 2},
		{"keyless dial refused is retried", "", failing(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), 2},
		{"keyed 503 is retried", "doc-1", jsonResponder(503, ""), 2},
		{"keyed reset is retried", "doc-1", failing(errReset), 2},
		{"keyed 500 is not retried", "doc-1", jsonResponder(500, ""), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newTestClient(t, mock)
			var bodies []string
			mock.RegisterResponder("POST", connectURL, func(req *http.Request) (*http.Response, error) {
				bodies = append(bodies, bodyOf(t, req))
				if len(bodies) == 1 {
					return tc.first(req)
				}
				return jsonResponder(200, connectBody)(req)
			})
			resp, err := c.Spawn(context.Background(), &ConnectRequest{Key: tc.key})
			assert.Equal(t, tc.calls, calls(mock, "POST", connectURL))
			if tc.calls == 2 {
				require.NoError(t, err)
				assert.Equal(t, "knrv5", resp.BackendID)
				assert.Equal(t, bodies[0], bodies[1], "the retry sends the same body")
			} else {
				require.Error(t, err)
			}
		})
	}
}

func TestContextCutsRetrySleep(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock, WithRetry(RetryPolicy{MaxRetries: 5, MinWait: time.Minute, MaxWait: time.Minute}))
	mock.RegisterResponder("GET", statusURL, jsonResponder(503, ""))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Status(ctx, "b1")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Equal(t, 1, calls(mock, "GET", statusURL))

	t.Run("canceled", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock, WithRetry(RetryPolicy{MaxRetries: 5, MinWait: time.Minute, MaxWait: time.Minute}))
		ctx, cancel := context.WithCancel(context.Background())
		mock.RegisterResponder("POST", connectURL, func(*http.Request) (*http.Response, error) {
			// Cancel once the client has had its answer and is about to wait.
			defer cancel()
			return httpmock.NewStringResponse(429, ""), nil
		})
		_, err := c.Spawn(ctx, nil)
		require.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, ErrRateLimited)
	})
	t.Run("already done", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("GET", statusURL, jsonResponder(200, readyBody))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.Status(ctx, "b1")
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestErrorTypes(t *testing.T) {
	e := &BackendTerminatedError{BackendID: "b1", State: &BackendState{Status: StatusTerminated, TerminationReason: ReasonSwept}}
	assert.ErrorIs(t, e, ErrBackendTerminated)
	assert.Contains(t, e.Error(), "b1")
	assert.Contains(t, e.Error(), "swept")
	w := &WaitError{BackendID: "b1", LastState: &BackendState{Status: StatusLoading}, Err: context.DeadlineExceeded}
	assert.ErrorIs(t, w, context.DeadlineExceeded)
	assert.Contains(t, w.Error(), "loading")
	assert.Contains(t, (&WaitError{BackendID: "b1", Err: errors.New("x")}).Error(), "none")
	s := &StreamError{Path: "/p", Attempts: 3, Err: errReset}
	assert.ErrorIs(t, s, syscall.ECONNRESET)
	assert.Contains(t, s.Error(), "3")
	d := &DecodeError{Method: "GET", Path: "/p", StatusCode: 200, Err: errors.New("bad")}
	assert.ErrorIs(t, d, ErrInvalidResponse)
	assert.ErrorContains(t, d, "bad")
}

// The status code is known before the body is read, so a non-2xx answer is
// an *APIError even when its body is too large or breaks off.
func TestAPIErrorWhateverTheBody(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	mock.RegisterResponder("GET", statusURL, jsonResponder(500, strings.Repeat("x", 11<<20)))
	_, err := c.Status(context.Background(), "b1")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr, "a huge error body")
	assert.Equal(t, 500, apiErr.StatusCode)
	assert.Less(t, len(apiErr.Message), 600)

	mock.RegisterResponder("GET", statusURL, func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 404, Status: "404 Not Found", Header: http.Header{},
			Body: io.NopCloser(io.MultiReader(strings.NewReader(`{"error":{"code":"No`), iotest.ErrReader(errReset)))}, nil
	})
	_, err = c.Status(context.Background(), "b1")
	require.ErrorAs(t, err, &apiErr, "an error body that breaks off")
	assert.Equal(t, 404, apiErr.StatusCode)
	assert.ErrorIs(t, err, ErrNotFound)
}

// A success whose body exceeds the limit is not the promised answer.
func TestOversizedSuccessIsInvalidResponse(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	mock.RegisterResponder("GET", statusURL, jsonResponder(200, `{"status":"ready","pad":"`+strings.Repeat("x", 11<<20)+`"}`))
	_, err := c.Status(context.Background(), "b1")
	require.ErrorIs(t, err, ErrInvalidResponse)
	var decErr *DecodeError
	require.ErrorAs(t, err, &decErr)
	assert.Equal(t, 200, decErr.StatusCode)
}

func TestTruncatedErrorMessageIsValidUTF8(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	mock.RegisterResponder("GET", statusURL, jsonResponder(500, "x"+strings.Repeat("é", 400)))
	_, err := c.Status(context.Background(), "b1")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.True(t, utf8.ValidString(apiErr.Message), "%q", apiErr.Message)
	assert.Less(t, len(apiErr.Message), 600)
}

func TestBackendTerminatedErrorWithoutState(t *testing.T) {
	err := &BackendTerminatedError{BackendID: "b1"}
	assert.Contains(t, err.Error(), "b1")
	assert.ErrorIs(t, err, ErrBackendTerminated)
}

// An *APIError's meaning is in its exported fields: one built by hand, as a
// fake of the Client would, matches the same sentinels as the Client's own,
// in both dialects.
func TestHandBuiltAPIErrorsMatchSentinels(t *testing.T) {
	sentinels := []error{ErrNotFound, ErrUnauthorized, ErrRateLimited, ErrConflict, ErrKeyHeld, ErrKeyNotHeld}
	for _, tc := range []struct {
		name string
		err  *APIError
		want []error
	}{
		{"Plane: KeyHeld", &APIError{StatusCode: 409, Code: "KeyHeld"}, []error{ErrConflict, ErrKeyHeld}},
		{"Plane: KeyUnheldNoSpawnConfig", &APIError{StatusCode: 409, Code: "KeyUnheldNoSpawnConfig"}, []error{ErrConflict, ErrKeyNotHeld}},
		{"Plane: NotFound", &APIError{StatusCode: 404, Code: "NotFound"}, []error{ErrNotFound}},
		{"Plane: NoDroneAvailable", &APIError{StatusCode: 500, Code: "NoDroneAvailable"}, nil},
		{"Jamsocket: a NoSpawn connect's 404", &APIError{StatusCode: 404, Code: "NotFound", NoSpawn: true}, []error{ErrNotFound, ErrKeyNotHeld}},
		{"dev server: a NoSpawn connect's bare 409", &APIError{StatusCode: 409, NoSpawn: true}, []error{ErrConflict, ErrKeyNotHeld}},
		{"Jamsocket: KeyHeld on a NoSpawn connect", &APIError{StatusCode: 409, Code: "KeyHeld", NoSpawn: true}, []error{ErrConflict, ErrKeyHeld}},
		{"Jamsocket: a 404 of a connect that may spawn", &APIError{StatusCode: 404, Code: "NotFound"}, []error{ErrNotFound}},
		{"Jamsocket: a bare 409 of a connect that may spawn", &APIError{StatusCode: 409}, []error{ErrConflict}},
		{"Jamsocket: BackendNotRunning", &APIError{StatusCode: 409, Code: "BackendNotRunning"}, []error{ErrConflict}},
		{"401", &APIError{StatusCode: 401}, []error{ErrUnauthorized}},
		{"403", &APIError{StatusCode: 403, Code: "Forbidden"}, []error{ErrUnauthorized}},
		{"407", &APIError{StatusCode: 407}, []error{ErrUnauthorized}},
		{"429", &APIError{StatusCode: 429}, []error{ErrRateLimited}},
		{"503 on a NoSpawn connect", &APIError{StatusCode: 503, NoSpawn: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wrapped := fmt.Errorf("handler: %w", tc.err)
			for _, s := range sentinels {
				assert.Equal(t, slices.Contains(tc.want, s), errors.Is(wrapped, s), "errors.Is(%v, %v)", tc.err, s)
			}
		})
	}
}
