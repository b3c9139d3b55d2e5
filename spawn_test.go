package jamsocket

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const connectURL = testAPI + "/v2/service/acme/editor/connect"

const connectBody = `{"backend_id":"knrv5","spawned":true,"status":"scheduled","token":"4ahosrz8D53AmXj","url":"https://knrv5.p.jamsocket.net/4ahosrz8D53AmXj/","secret_token":"qB9Tky7m10ym","status_url":"https://api.jamsocket.com/v2/backend/knrv5/status","ready_url":"https://ready.jamsocket.com/knrv5/4a"}`

// bodyOf reads a request's body for assertions.
func bodyOf(t *testing.T, req *http.Request) string {
	t.Helper()
	b, err := io.ReadAll(req.Body)
	require.NoError(t, err)
	return string(b)
}

func TestSpawn(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  *ConnectRequest
		want string
	}{
		{"nil request is {}", nil, `{}`},
		{"empty request", &ConnectRequest{}, `{}`},
		{"key, user and auth", &ConnectRequest{Key: "doc-42", User: "alice", Auth: map[string]any{"role": "editor"}},
			`{"key":"doc-42","user":"alice","auth":{"role":"editor"}}`},
		{"no spawn", &ConnectRequest{Key: "doc-42", NoSpawn: true}, `{"key":"doc-42","spawn":false}`},
		{"spawn config", &ConnectRequest{Key: "k", Spawn: &SpawnConfig{Tag: "v2", MaxIdleSeconds: 30,
			Executable: &Executable{Env: map[string]string{"A": "1"}, Mount: MountByKey()}}},
			`{"key":"k","spawn":{"tag":"v2","max_idle_seconds":30,"executable":{"env":{"A":"1"},"mount":true}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newTestClient(t, mock)
			var body string
			mock.RegisterResponder("POST", connectURL, func(req *http.Request) (*http.Response, error) {
				body = bodyOf(t, req)
				assert.Equal(t, "Bearer "+testToken, req.Header.Get("Authorization"))
				return jsonResponder(200, connectBody)(req)
			})
			resp, err := c.Spawn(context.Background(), tc.req)
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, body)
			assert.Equal(t, &ConnectResponse{
				BackendID: "knrv5", Spawned: true, Status: StatusScheduled, Token: "4ahosrz8D53AmXj",
				URL: "https://knrv5.p.jamsocket.net/4ahosrz8D53AmXj/", SecretToken: "qB9Tky7m10ym",
				StatusURL: "https://api.jamsocket.com/v2/backend/knrv5/status", ReadyURL: "https://ready.jamsocket.com/knrv5/4a",
				StatusStreamURL: "https://api.jamsocket.com/v2/backend/knrv5/status/stream",
			}, resp)
		})
	}
}

func TestSpawnWithEnvironment(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClientCfg(t, Config{Account: "acme", Token: testToken, Service: "editor", Environment: "staging", APIURL: testAPI}, mock)
	mock.RegisterResponder("POST", testAPI+"/v2/service/acme/editor/staging/connect", jsonResponder(200, connectBody))
	_, err := c.Spawn(context.Background(), &ConnectRequest{Key: "k"})
	require.NoError(t, err)
	assert.Equal(t, 1, mock.GetTotalCallCount())
}

func TestSpawnDev(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClientCfg(t, Config{Dev: true}, mock)
	mock.RegisterResponder("POST", "http://localhost:8080/v2/service/-/-/connect", func(req *http.Request) (*http.Response, error) {
		assert.NotContains(t, req.Header.Get("Authorization"), testToken)
		return jsonResponder(200, `{"backend_id":"abcdefghijklmn","spawned":true,"status":"scheduled","token":"t","url":"http://localhost:9090/t/","secret_token":"s","status_url":"http://localhost:8080/v2/backend/abcdefghijklmn/status","ready_url":""}`)(req)
	})
	resp, err := c.Spawn(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, "abcdefghijklmn", resp.BackendID)
	assert.Equal(t, "", resp.ReadyURL)

	c = newTestClientCfg(t, Config{Dev: true, DevPort: 9000}, mock)
	mock.RegisterResponder("POST", "http://localhost:9000/v2/service/-/-/connect", jsonResponder(200, connectBody))
	_, err = c.Spawn(context.Background(), nil)
	require.NoError(t, err)
}

func TestSpawnNoSpawnNeedsKey(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	_, err := c.Spawn(context.Background(), &ConnectRequest{NoSpawn: true})
	require.ErrorContains(t, err, "Key")
	assert.Zero(t, mock.GetTotalCallCount())
}

func TestSpawnSecretTokenNull(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	mock.RegisterResponder("POST", connectURL, jsonResponder(200,
		`{"backend_id":"b","spawned":false,"status":"ready","token":"s.static","url":"u","secret_token":null,"status_url":"su"}`))
	resp, err := c.Spawn(context.Background(), &ConnectRequest{Key: "k"})
	require.NoError(t, err)
	assert.False(t, resp.Spawned)
	assert.Equal(t, StatusReady, resp.Status)
	assert.Empty(t, resp.SecretToken)
}

func TestTerminate(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *TerminateOptions
		want string
	}{
		{"nil is soft", nil, `{"hard":false}`},
		{"soft", &TerminateOptions{}, `{"hard":false}`},
		{"hard", &TerminateOptions{Hard: true}, `{"hard":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newTestClient(t, mock)
			mock.RegisterResponder("POST", testAPI+"/v2/backend/b1/terminate", func(req *http.Request) (*http.Response, error) {
				assert.JSONEq(t, tc.want, bodyOf(t, req))
				assert.Equal(t, "Bearer "+testToken, req.Header.Get("Authorization"))
				return jsonResponder(200, `{"status":"ok"}`)(req)
			})
			require.NoError(t, c.Terminate(context.Background(), "b1", tc.opts))
			assert.Equal(t, 1, mock.GetTotalCallCount())
		})
	}
	t.Run("already terminated is success", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("POST", testAPI+"/v2/backend/b1/terminate", jsonResponder(409,
			`{"error":{"message":"Backend is not running","status":"409","code":"BackendNotRunning","id":"e1"}}`))
		require.NoError(t, c.Terminate(context.Background(), "b1", nil))
		assert.Equal(t, 1, mock.GetTotalCallCount())
	})
	t.Run("a retry that finds the backend ended keeps the first attempt's success", func(t *testing.T) {
		// The first attempt acted but its answer was lost (503 from a
		// proxy); the retry finds the backend already ended.
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("POST", testAPI+"/v2/backend/b1/terminate", sequence(
			jsonResponder(503, `unavailable`),
			jsonResponder(409, `{"error":{"message":"Backend is not running","code":"BackendNotRunning"}}`)))
		require.NoError(t, c.Terminate(context.Background(), "b1", nil))
		assert.Equal(t, 2, mock.GetTotalCallCount())
	})
	t.Run("unknown backend stays ErrNotFound", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("POST", testAPI+"/v2/backend/b1/terminate", jsonResponder(404,
			`{"error":{"message":"no such backend","code":"NotFound"}}`))
		require.ErrorIs(t, c.Terminate(context.Background(), "b1", nil), ErrNotFound)
	})
	t.Run("retried on 503", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("POST", testAPI+"/v2/backend/b1/terminate", sequence(
			jsonResponder(503, `unavailable`), jsonResponder(200, `{"status":"ok"}`)))
		require.NoError(t, c.Terminate(context.Background(), "b1", nil))
		assert.Equal(t, 2, mock.GetTotalCallCount())
	})
}
