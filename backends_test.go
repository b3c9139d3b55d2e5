package jamsocket_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/localplane"
)

const (
	testAPI   = "https://api.test"
	testToken = "tok-SECRET-0123456789"
)

// newMockClient returns a Client for account "acct" and service "svc" whose
// requests go to a fresh mock transport, with retries and reconnects that
// wait a millisecond at most.
func newMockClient(t *testing.T, opts ...jamsocket.Option) (*jamsocket.Client, *httpmock.MockTransport) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	opts = append([]jamsocket.Option{
		jamsocket.WithHTTPClient(&http.Client{Transport: mock}),
		jamsocket.WithRetry(jamsocket.RetryPolicy{MaxRetries: 3, MinWait: time.Millisecond, MaxWait: time.Millisecond}),
		jamsocket.WithStreamPolicy(jamsocket.StreamPolicy{
			IdleTimeout: 10 * time.Second, MaxReconnects: 3, MinWait: time.Millisecond, MaxWait: time.Millisecond,
		}),
	}, opts...)
	c, err := jamsocket.New(jamsocket.Config{Account: "acct", Service: "svc", Token: testToken, APIURL: testAPI}, opts...)
	require.NoError(t, err)
	return c, mock
}

// newPlaneClient returns a Client for a Plane controller that is never
// reached.
func newPlaneClient(t *testing.T) *jamsocket.Client {
	t.Helper()
	c, err := jamsocket.NewPlane(jamsocket.PlaneConfig{
		ControllerURL: "http://127.0.0.1:1", Executable: jamsocket.PlaneExecutable{Image: "x"},
	})
	require.NoError(t, err)
	return c
}

// jsonResponder answers with status and a JSON body, checking the bearer
// token.
func jsonResponder(t *testing.T, status int, body string) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		assert.Equal(t, "Bearer "+testToken, req.Header.Get("Authorization"))
		resp := httpmock.NewStringResponse(status, body)
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	}
}

// sseResponse is a 200 text/event-stream response with body.
func sseResponse(body string) *http.Response {
	resp := httpmock.NewStringResponse(http.StatusOK, body)
	resp.Header.Set("Content-Type", "text/event-stream")
	return resp
}

// sequence answers the n-th call with responses[n], and the last one after
// that.
func sequence(responses ...func(*http.Request) *http.Response) httpmock.Responder {
	var n atomic.Int32
	return func(req *http.Request) (*http.Response, error) {
		i := min(int(n.Add(1))-1, len(responses)-1)
		return responses[i](req), nil
	}
}

// errorShapes are the failures every method must report the same way.
var errorShapes = []struct {
	name   string
	status int
	body   string
	check  func(t *testing.T, err error)
}{
	{"jamsocket error", http.StatusConflict, `{"error":{"message":"nope","status":"409","code":"SomeCode","id":"req-1"}}`,
		func(t *testing.T, err error) {
			var apiErr *jamsocket.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, http.StatusConflict, apiErr.StatusCode)
			assert.Equal(t, "SomeCode", apiErr.Code)
			assert.Equal(t, "nope", apiErr.Message)
			assert.Equal(t, "req-1", apiErr.RequestID)
			assert.ErrorIs(t, err, jamsocket.ErrConflict)
		}},
	{"text error", http.StatusInternalServerError, "upstream exploded",
		func(t *testing.T, err error) {
			var apiErr *jamsocket.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, http.StatusInternalServerError, apiErr.StatusCode)
			assert.Equal(t, "upstream exploded", apiErr.Message)
		}},
	{"not found", http.StatusNotFound, `{"error":{"message":"no such thing","code":"NotFound"}}`,
		func(t *testing.T, err error) { assert.ErrorIs(t, err, jamsocket.ErrNotFound) }},
	{"unauthorized", http.StatusUnauthorized, `{"error":{"message":"bad token","code":"Unauthorized"}}`,
		func(t *testing.T, err error) { assert.ErrorIs(t, err, jamsocket.ErrUnauthorized) }},
}

// call is one API method under test, reduced to its error.
type call struct {
	name, method, url string
	do                func(ctx context.Context, c *jamsocket.Client) error
	// decodes says the method decodes its 200 body (so a malformed one is
	// an error).
	decodes bool
}

// allCalls lists every method of this issue that makes one request.
var allCalls = []call{
	{"Backend", http.MethodGet, testAPI + "/v2/backend/b1", func(ctx context.Context, c *jamsocket.Client) error {
		_, err := c.Backend(ctx, "b1")
		return err
	}, true},
	{"ListBackends", http.MethodGet, testAPI + "/v2/account/acct/backends", func(ctx context.Context, c *jamsocket.Client) error {
		_, err := c.ListBackends(ctx)
		return err
	}, true},
	{"TerminateAll", http.MethodPost, testAPI + "/service/acct/svc/terminate-backends", func(ctx context.Context, c *jamsocket.Client) error {
		_, err := c.TerminateAll(ctx, jamsocket.TerminateAllRequest{})
		return err
	}, true},
	{"CheckAuth", http.MethodGet, testAPI + "/auth", func(ctx context.Context, c *jamsocket.Client) error {
		_, err := c.CheckAuth(ctx)
		return err
	}, true},
	{"CreateService", http.MethodPost, testAPI + "/v2/account/acct/service", func(ctx context.Context, c *jamsocket.Client) error {
		return c.CreateService(ctx, "new")
	}, false},
	{"DeleteService", http.MethodPost, testAPI + "/v2/service/acct/old/delete", func(ctx context.Context, c *jamsocket.Client) error {
		return c.DeleteService(ctx, "old")
	}, false},
	{"Service", http.MethodGet, testAPI + "/v2/service/acct/svc", func(ctx context.Context, c *jamsocket.Client) error {
		_, err := c.Service(ctx, "")
		return err
	}, true},
	{"ListServices", http.MethodGet, testAPI + "/v2/account/acct/services", func(ctx context.Context, c *jamsocket.Client) error {
		_, err := c.ListServices(ctx)
		return err
	}, true},
	{"Images", http.MethodGet, testAPI + "/v2/service/acct/svc/images", func(ctx context.Context, c *jamsocket.Client) error {
		_, err := c.Images(ctx, "")
		return err
	}, true},
	{"UpdateEnvironment", http.MethodPost, testAPI + "/v2/service/acct/svc/update", func(ctx context.Context, c *jamsocket.Client) error {
		return c.UpdateEnvironment(ctx, "", "v2")
	}, false},
}

func TestErrorShapes(t *testing.T) {
	for _, call := range allCalls {
		for _, shape := range errorShapes {
			t.Run(call.name+"/"+shape.name, func(t *testing.T) {
				c, mock := newMockClient(t)
				mock.RegisterResponder(call.method, call.url, jsonResponder(t, shape.status, shape.body))
				err := call.do(t.Context(), c)
				require.Error(t, err)
				shape.check(t, err)
				assert.NotContains(t, err.Error(), testToken)
				assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), testToken)
				assert.Equal(t, 1, mock.GetTotalCallCount(), "a permanent error is not retried")
			})
		}
		if call.decodes {
			for _, body := range []string{"<html>proxy page</html>", `{"unexpected":true}`, `[]`} {
				t.Run(call.name+"/malformed 200 "+body, func(t *testing.T) {
					c, mock := newMockClient(t)
					mock.RegisterResponder(call.method, call.url, jsonResponder(t, http.StatusOK, body))
					err := call.do(t.Context(), c)
					assert.ErrorIs(t, err, jamsocket.ErrInvalidResponse)
				})
			}
		}
	}
}

func TestUnsupportedOnPlane(t *testing.T) {
	c := newPlaneClient(t)
	for _, call := range allCalls {
		err := call.do(t.Context(), c)
		assert.ErrorIs(t, err, errors.ErrUnsupported, call.name)
		assert.Contains(t, err.Error(), call.name)
	}
	assert.ErrorIs(t, onlyError(t, c.Logs(t.Context(), "b1")), errors.ErrUnsupported)
	assert.ErrorIs(t, onlyError(t, c.Metrics(t.Context(), "b1")), errors.ErrUnsupported)
}

// onlyError ranges over a stream that must yield one error and nothing else,
// and returns it; a stream that yields nothing fails the test.
func onlyError[T any](t *testing.T, seq iter.Seq2[T, error]) error {
	t.Helper()
	var errs []error
	for v, err := range seq {
		require.Error(t, err, "a value where only an error was expected: %v", v)
		errs = append(errs, err)
	}
	require.Len(t, errs, 1, "exactly one error")
	return errs[0]
}

func TestBackend(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/backend/b1", jsonResponder(t, http.StatusOK, `{
		"id": "b1", "created_at": "2024-08-21T17:21:10.000Z", "service_name": "svc", "cluster_name": "c1",
		"account_name": "acct", "image_digest": "sha256:abc", "key": null, "environment_name": "default",
		"max_mem_bytes": 1048576,
		"statuses": [
			{"status": "terminated", "time": "2024-08-21T17:30:00.000Z", "termination_reason": "key_expired",
			 "termination_kind": "soft", "exit_code": 137, "last_status": "terminating"},
			{"status": "scheduled", "time": "2024-08-21T17:21:10.000Z"},
			{"status": "ready", "time": 1724260875000, "last_status": "waiting"}
		]}`))
	info, err := c.Backend(t.Context(), "b1")
	require.NoError(t, err)
	assert.Equal(t, "b1", info.ID)
	assert.Equal(t, "svc", info.ServiceName)
	assert.Equal(t, "c1", info.ClusterName)
	assert.Empty(t, info.Key)
	assert.EqualValues(t, "default", info.EnvironmentName)
	require.NotNil(t, info.MaxMemBytes)
	assert.EqualValues(t, 1<<20, *info.MaxMemBytes)
	assert.Equal(t, time.Date(2024, 8, 21, 17, 21, 10, 0, time.UTC), info.CreatedAt.UTC())

	var statuses []jamsocket.BackendStatus
	for _, s := range info.Statuses {
		statuses = append(statuses, s.Status)
	}
	assert.Equal(t, []jamsocket.BackendStatus{jamsocket.StatusScheduled, jamsocket.StatusReady, jamsocket.StatusTerminated}, statuses,
		"sorted by time, epoch milliseconds included")
	last := info.LastState()
	require.NotNil(t, last)
	assert.Equal(t, jamsocket.ReasonKeyExpired, last.TerminationReason)
	assert.Equal(t, jamsocket.KindSoft, last.TerminationKind)
	assert.Equal(t, jamsocket.StatusTerminating, last.LastStatus)
	require.NotNil(t, last.ExitCode)
	assert.Equal(t, 137, *last.ExitCode)
	pub := last.BackendState()
	require.NotNil(t, pub.ExitError)
	assert.True(t, *pub.ExitError)

	// It round-trips through JSON with the wire's field names.
	b, err := json.Marshal(info)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"exit_code":137`)
	assert.Contains(t, string(b), `"time":"2024-08-21T17:21:15.000Z"`)
	var again jamsocket.BackendInfo
	require.NoError(t, json.Unmarshal(b, &again))
	assert.Equal(t, info.Statuses[1].Time.UTC(), again.Statuses[1].Time.UTC())
}

func TestBackendEscapesID(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/backend/..%2Fx", jsonResponder(t, http.StatusOK, `{"id":"../x"}`))
	info, err := c.Backend(t.Context(), "../x")
	require.NoError(t, err)
	assert.Equal(t, "../x", info.ID)
	_, err = c.Backend(t.Context(), "")
	assert.Error(t, err)
}

func TestBackendRetriedAfter503(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/backend/b1",
		sequence(
			func(req *http.Request) *http.Response {
				r, _ := jsonResponder(t, http.StatusServiceUnavailable, "busy")(req)
				return r
			},
			func(req *http.Request) *http.Response {
				r, _ := jsonResponder(t, http.StatusServiceUnavailable, "busy")(req)
				return r
			},
			func(req *http.Request) *http.Response {
				r, _ := jsonResponder(t, http.StatusOK, `{"id":"b1","statuses":[]}`)(req)
				return r
			},
		))
	info, err := c.Backend(t.Context(), "b1")
	require.NoError(t, err)
	assert.Equal(t, "b1", info.ID)
	assert.Equal(t, 3, mock.GetTotalCallCount())
}

func TestListBackends(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/account/acct/backends", jsonResponder(t, http.StatusOK, `{"running_backends":[
		{"id":"b1","created_at":"2024-08-21T17:21:10.000Z","service_name":"svc","cluster_name":"c","account_name":"acct",
		 "status":{"status":"ready","time":"2024-08-21T17:21:15.000Z","last_status":"waiting"},"key":"doc-1"},
		{"id":"b2","created_at":"2024-08-21T17:22:10.000Z","service_name":"svc","cluster_name":"c","account_name":"acct"}
	]}`))
	list, err := c.ListBackends(t.Context())
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "b1", list[0].ID)
	assert.Equal(t, "doc-1", list[0].Key)
	require.NotNil(t, list[0].Status)
	assert.Equal(t, jamsocket.StatusReady, list[0].Status.Status)
	assert.Nil(t, list[1].Status)

	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/account/acct/backends", jsonResponder(t, http.StatusOK, `{"running_backends":[]}`))
	list, err = c.ListBackends(t.Context())
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestTerminateAll(t *testing.T) {
	before := time.Date(2025, 1, 2, 3, 4, 5, 600e6, time.UTC)
	c, mock := newMockClient(t)
	var bodies []map[string]any
	rounds := []string{
		`{"backend_count":10,"terminated_count":4,"is_complete":false}`,
		`{"backend_count":6,"terminated_count":4,"is_complete":false}`,
		`{"backend_count":2,"terminated_count":2,"is_complete":true}`,
	}
	mock.RegisterResponder(http.MethodPost, testAPI+"/service/acct/svc/terminate-backends", func(req *http.Request) (*http.Response, error) {
		var body map[string]any
		require.NoError(t, json.NewDecoder(req.Body).Decode(&body))
		bodies = append(bodies, body)
		return jsonResponder(t, http.StatusOK, rounds[len(bodies)-1])(req)
	})
	res, err := c.TerminateAll(t.Context(), jamsocket.TerminateAllRequest{Before: before, Hard: true})
	require.NoError(t, err)
	assert.Equal(t, &jamsocket.TerminateAllResult{BackendCount: 18, TerminatedCount: 10, Rounds: 3, IsComplete: true}, res)
	require.Len(t, bodies, 3)
	for _, b := range bodies {
		assert.Equal(t, map[string]any{"before": "2025-01-02T03:04:05.600Z", "hard": true, "dry_run": false}, b,
			"every round sends the same request")
	}
}

func TestTerminateAllDryRunIsOneRound(t *testing.T) {
	c, mock := newMockClient(t)
	var sent map[string]any
	mock.RegisterResponder(http.MethodPost, testAPI+"/service/acct/svc/terminate-backends", func(req *http.Request) (*http.Response, error) {
		require.NoError(t, json.NewDecoder(req.Body).Decode(&sent))
		return jsonResponder(t, http.StatusOK, `{"backend_count":7,"terminated_count":0,"is_complete":false}`)(req)
	})
	start := time.Now()
	res, err := c.TerminateAll(t.Context(), jamsocket.TerminateAllRequest{DryRun: true})
	require.NoError(t, err)
	assert.Equal(t, &jamsocket.TerminateAllResult{BackendCount: 7, Rounds: 1}, res)
	assert.Equal(t, true, sent["dry_run"])
	sentBefore, err := time.Parse(time.RFC3339, sent["before"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, start, sentBefore, time.Minute, "zero Before means now")
}

func TestTerminateAllIsBounded(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodPost, testAPI+"/service/acct/svc/terminate-backends",
		jsonResponder(t, http.StatusOK, `{"backend_count":1,"terminated_count":1,"is_complete":false}`))
	res, err := c.TerminateAll(t.Context(), jamsocket.TerminateAllRequest{})
	require.NoError(t, err)
	assert.False(t, res.IsComplete)
	assert.Equal(t, jamsocket.MaxTerminateAllRounds, res.Rounds)
	assert.Equal(t, jamsocket.MaxTerminateAllRounds, res.TerminatedCount)
	assert.Equal(t, jamsocket.MaxTerminateAllRounds, mock.GetTotalCallCount())
}

func TestTerminateAllErrorMidway(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodPost, testAPI+"/service/acct/svc/terminate-backends",
		jsonResponder(t, http.StatusOK, `{"backend_count":5,"terminated_count":3,"is_complete":false}`).Once().
			Then(jsonResponder(t, http.StatusForbidden, `{"error":{"message":"no","code":"Forbidden"}}`)))
	res, err := c.TerminateAll(t.Context(), jamsocket.TerminateAllRequest{})
	require.ErrorIs(t, err, jamsocket.ErrUnauthorized)
	assert.Contains(t, err.Error(), "after 1 round(s), 3 terminated")
	assert.Equal(t, &jamsocket.TerminateAllResult{BackendCount: 5, TerminatedCount: 3, Rounds: 1}, res,
		"the counts of the rounds done come with the error")
}

func TestTerminateAllRetriedAfter503(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodPost, testAPI+"/service/acct/svc/terminate-backends",
		jsonResponder(t, http.StatusBadGateway, "bad gateway").Once().
			Then(jsonResponder(t, http.StatusOK, `{"backend_count":1,"terminated_count":1,"is_complete":true}`)))
	res, err := c.TerminateAll(t.Context(), jamsocket.TerminateAllRequest{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Rounds)
	assert.Equal(t, 2, mock.GetTotalCallCount())
}

// streamServer fakes a backend's logs or metrics stream: each connection
// gets the next body, and the status endpoint answers status once the
// connections run out.
type streamServer struct {
	t           *testing.T
	bodies      []string
	conns       atomic.Int32
	lastEventID []string
	status      string
}

func (s *streamServer) register(mock *httpmock.MockTransport, path string) {
	mock.RegisterResponder(http.MethodGet, testAPI+path, func(req *http.Request) (*http.Response, error) {
		assert.Equal(s.t, "Bearer "+testToken, req.Header.Get("Authorization"))
		assert.Equal(s.t, "text/event-stream", req.Header.Get("Accept"))
		n := int(s.conns.Add(1)) - 1
		s.lastEventID = append(s.lastEventID, req.Header.Get("Last-Event-ID"))
		if n >= len(s.bodies) {
			return sseResponse(""), nil
		}
		return sseResponse(s.bodies[n]), nil
	})
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/backend/b1/status", func(req *http.Request) (*http.Response, error) {
		assert.Empty(s.t, req.Header.Get("Authorization"), "status is public")
		status := "ready"
		if int(s.conns.Load()) >= len(s.bodies) {
			status = s.status
		}
		return httpmock.NewStringResponse(http.StatusOK, `{"status":"`+status+`","time":"2024-08-21T17:21:15.000Z"}`), nil
	})
}

func collectLogs(t *testing.T, c *jamsocket.Client) ([]string, error) {
	t.Helper()
	var lines []string
	for line, err := range c.Logs(t.Context(), "b1") {
		if err != nil {
			return lines, err
		}
		lines = append(lines, line.Text)
	}
	return lines, nil
}

func TestLogs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bodies  []string
		want    []string
		lastIDs []string
	}{
		{"one connection", []string{"data: hello\n\ndata:world\n\n: keep-alive\n\ndata: {\"not\":\"json\"}\n\n"},
			[]string{"hello", "world", `{"not":"json"}`}, nil},
		{"no replay after a drop", []string{"data: a\n\ndata: b\n\n", "data: c\n\n"},
			[]string{"a", "b", "c"}, nil},
		{"a new line equal to an old one is kept", []string{"data: tick\n\ndata: tock\n\n", "data: tick\n\ndata: boom\n\n"},
			[]string{"tick", "tock", "tick", "boom"}, nil},
		// Without numbers a replayed line cannot be told from a new one
		// that reads the same; a line shown twice beats a line lost.
		{"repetitive unnumbered lines are never lost", []string{"data: hb\n\ndata: hb\n\n", "data: hb\n\n"},
			[]string{"hb", "hb", "hb"}, nil},
		{"an unnumbered replay is shown again", []string{"data: a\n\ndata: b\n\n", "data: a\n\ndata: b\n\ndata: c\n\n"},
			[]string{"a", "b", "a", "b", "c"}, nil},
		{"numbered lines resume", []string{"id: 1\ndata: a\n\nid: 2\ndata: b\n\n", "id: 2\ndata: b\n\nid: 3\ndata: c\n\ndata: c2\n\n"},
			[]string{"a", "b", "c", "c2"}, []string{"", "2"}},
		{"numbered full replay after a drop", []string{"id: 1\ndata: a\n\nid: 2\ndata: b\n\n", "id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n"},
			[]string{"a", "b", "c"}, []string{"", "2"}},
		{"numbered tail replay after a drop", []string{"id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n", "id: 2\ndata: b\n\nid: 3\ndata: c\n\nid: 4\ndata: d\n\n"},
			[]string{"a", "b", "c", "d"}, []string{"", "3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, mock := newMockClient(t)
			s := &streamServer{t: t, bodies: tc.bodies, status: "terminated"}
			s.register(mock, "/v2/backend/b1/logs/stream")
			lines, err := collectLogs(t, c)
			require.NoError(t, err)
			assert.Equal(t, tc.want, lines)
			assert.Equal(t, len(tc.bodies), int(s.conns.Load()), "ends when the backend is terminated")
			if tc.lastIDs != nil {
				assert.Equal(t, tc.lastIDs, s.lastEventID)
			}
		})
	}
}

func TestLogsEndsWhenBackendIsGone(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/backend/b1/logs/stream",
		func(*http.Request) (*http.Response, error) { return sseResponse("data: last words\n\n"), nil })
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/backend/b1/status", httpmock.NewStringResponder(http.StatusNotFound, ""))
	lines, err := collectLogs(t, c)
	require.NoError(t, err)
	assert.Equal(t, []string{"last words"}, lines)
}

func TestLogsGivesUp(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/backend/b1/logs/stream",
		func(*http.Request) (*http.Response, error) { return sseResponse(""), nil })
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/backend/b1/status", httpmock.NewStringResponder(http.StatusOK,
		`{"status":"ready","time":"2024-08-21T17:21:15.000Z"}`))
	_, err := collectLogs(t, c)
	var streamErr *jamsocket.StreamError
	require.ErrorAs(t, err, &streamErr)
	assert.Equal(t, 4, streamErr.Attempts)
}

func TestLogsErrors(t *testing.T) {
	for _, shape := range errorShapes {
		t.Run(shape.name, func(t *testing.T) {
			c, mock := newMockClient(t)
			mock.RegisterResponder(http.MethodGet, testAPI+"/v2/backend/b1/logs/stream", jsonResponder(t, shape.status, shape.body))
			_, err := collectLogs(t, c)
			require.Error(t, err)
			if shape.status < 500 {
				var streamErr *jamsocket.StreamError
				require.ErrorAs(t, err, &streamErr)
				assert.Equal(t, 1, streamErr.Attempts, "a refusal is not retried")
			}
			shape.check(t, err)
			assert.NotContains(t, err.Error(), testToken)
		})
	}
	c, _ := newMockClient(t)
	_, err := collectLogs(t, c) // the mock has no responder: a transport error every time
	require.Error(t, err)
	require.Error(t, onlyError(t, c.Logs(t.Context(), "")))
}

func TestLogsNotAStream(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/backend/b1/logs/stream", jsonResponder(t, http.StatusOK, `{"lines":[]}`))
	_, err := collectLogs(t, c)
	assert.ErrorIs(t, err, jamsocket.ErrInvalidResponse)
}

func TestLogsStopsWhenConsumerBreaks(t *testing.T) {
	c, mock := newMockClient(t)
	s := &streamServer{t: t, bodies: []string{"data: 1\n\ndata: 2\n\ndata: 3\n\n"}, status: "ready"}
	s.register(mock, "/v2/backend/b1/logs/stream")
	var got []string
	for line, err := range c.Logs(t.Context(), "b1") {
		require.NoError(t, err)
		got = append(got, line.Text)
		if len(got) == 2 {
			break
		}
	}
	assert.Equal(t, []string{"1", "2"}, got)
	assert.Equal(t, 1, int(s.conns.Load()))
}

func TestLogsContextCancelled(t *testing.T) {
	c, mock := newMockClient(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The body blocks until the context ends, like a live stream.
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/backend/b1/logs/stream", func(req *http.Request) (*http.Response, error) {
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write([]byte("data: first\n\n"))
			<-req.Context().Done()
			pw.CloseWithError(req.Context().Err())
		}()
		resp := sseResponse("")
		resp.Body = pr
		return resp, nil
	})
	var got []string
	var gotErr error
	for line, err := range c.Logs(ctx, "b1") {
		if err != nil {
			gotErr = err
			break
		}
		got = append(got, line.Text)
		cancel()
	}
	assert.Equal(t, []string{"first"}, got)
	assert.ErrorIs(t, gotErr, context.Canceled)
}

func TestMetrics(t *testing.T) {
	c, mock := newMockClient(t)
	sample := func(mem int) string {
		return fmt.Sprintf(`data: {"cluster":"c1","backend_id":"b1","mem_used":%d,"mem_available":2048,"cpu_used":25,"sys_cpu":200}`+"\n\n", mem)
	}
	s := &streamServer{t: t, bodies: []string{
		sample(1) + sample(2) + "data: not json\n\n",
		sample(3) + "data:{\"cluster\":\"c1\",\"backend_id\":\"b1\",\"mem_used\":4,\"mem_available\":2048,\"cpu_used\":1.5,\"sys_cpu\":0}\n\n",
	}, status: "terminated"}
	s.register(mock, "/v2/backend/b1/metrics/stream")
	var got []jamsocket.Metrics
	for m, err := range c.Metrics(t.Context(), "b1") {
		require.NoError(t, err)
		got = append(got, m)
	}
	require.Len(t, got, 4, "a bad event is skipped; reconnects continue; the stream ends with the backend")
	assert.Equal(t, jamsocket.Metrics{Cluster: "c1", BackendID: "b1", MemUsed: 1, MemAvailable: 2048, CPUUsed: 25, SysCPU: 200}, got[0])
	assert.InDelta(t, 12.5, got[0].CPUPercent(), 1e-9)
	assert.Equal(t, float64(3), got[2].MemUsed)
	assert.Zero(t, got[3].CPUPercent(), "no system CPU time: 0, not NaN")
}

func TestMetricsErrors(t *testing.T) {
	for _, shape := range errorShapes {
		t.Run(shape.name, func(t *testing.T) {
			c, mock := newMockClient(t)
			mock.RegisterResponder(http.MethodGet, testAPI+"/v2/backend/b1/metrics/stream", jsonResponder(t, shape.status, shape.body))
			gotErr := onlyError(t, c.Metrics(t.Context(), "b1"))
			shape.check(t, gotErr)
		})
	}
}

func TestLogLineJSON(t *testing.T) {
	b, err := json.Marshal(jamsocket.LogLine{Text: "hi"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"text":"hi"}`, string(b))
	assert.False(t, strings.Contains(string(b), "id"))
}

// TestBackendsAgainstLocalPlane runs Backend, ListBackends and Logs against
// the local plane, end to end.
func TestBackendsAgainstLocalPlane(t *testing.T) {
	srv, err := localplane.New(localplane.Config{
		APIAddr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0", Token: testToken,
		StartupTimeout: 20 * time.Second, GracePeriod: 5 * time.Second,
		Handler: func(b localplane.Backend) http.Handler {
			fmt.Fprintf(b.Output, "one\ntwo\n")
			return http.NotFoundHandler()
		},
	})
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	defer func() { assert.NoError(t, srv.Close()) }()
	c, err := jamsocket.New(jamsocket.Config{Account: "acct", Service: "svc", Token: testToken, APIURL: srv.APIURL()})
	require.NoError(t, err)
	ctx := t.Context()

	resp, err := c.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc"})
	require.NoError(t, err)
	_, err = c.WaitReady(ctx, resp.BackendID)
	require.NoError(t, err)

	info, err := c.Backend(ctx, resp.BackendID)
	require.NoError(t, err)
	assert.EqualValues(t, "doc", info.Key)
	assert.Equal(t, "svc", info.ServiceName)
	assert.Equal(t, jamsocket.StatusReady, info.LastState().Status)
	assert.True(t, slices.IsSortedFunc(info.Statuses, func(a, b jamsocket.V2State) int { return a.Time.Compare(b.Time) }))

	list, err := c.ListBackends(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, resp.BackendID, list[0].ID)

	_, err = c.Backend(ctx, "nosuchbackend00")
	assert.ErrorIs(t, err, jamsocket.ErrNotFound)

	require.NoError(t, c.Terminate(ctx, resp.BackendID, &jamsocket.TerminateOptions{Hard: true}))
	var lines []string
	for line, err := range c.Logs(ctx, resp.BackendID) {
		require.NoError(t, err)
		lines = append(lines, line.Text)
	}
	assert.Equal(t, []string{"one", "two"}, lines, "the stream ends once the backend has terminated")
}
