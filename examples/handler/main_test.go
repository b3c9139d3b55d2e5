package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/jamsockettest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func postSession(t *testing.T, h http.Handler, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/session", strings.NewReader(body))
	req.Header.Set("X-User", "alice")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSessionSpawnsOneBackendPerDocumentAndHidesTheSecret(t *testing.T) {
	srv := jamsockettest.NewServer(t, nil)
	h := NewHandler(srv.Client, slog.New(slog.DiscardHandler))

	first := postSession(t, h, `{"document":"doc-42","wait":true}`)
	require.Equal(t, http.StatusOK, first.Code, first.Body.String())
	// The fields the official browser libraries require, and no other.
	var fields map[string]any
	require.NoError(t, json.Unmarshal(first.Body.Bytes(), &fields))
	assert.ElementsMatch(t, []string{"backend_id", "spawned", "status", "token", "url", "status_url"}, slices.Collect(maps.Keys(fields)))
	var a jamsocket.BrowserConnectResponse
	require.NoError(t, json.Unmarshal(first.Body.Bytes(), &a))
	assert.Equal(t, jamsocket.StatusReady, a.Status, "the status seen by the wait")
	assert.True(t, a.Spawned)
	assert.NotEmpty(t, a.Token)
	assert.Contains(t, a.URL, a.Token)
	assert.Contains(t, a.StatusURL, a.BackendID)
	// The browser follows the status as @jamsocket/client does: status_url
	// + "/stream".
	streamResp, err := http.Get(a.StatusURL + "/stream")
	require.NoError(t, err)
	defer streamResp.Body.Close()
	assert.Equal(t, http.StatusOK, streamResp.StatusCode)
	assert.Contains(t, streamResp.Header.Get("Content-Type"), "text/event-stream")
	assert.NotContains(t, first.Body.String(), "secret", "the browser must not get the secret token")

	second := postSession(t, h, `{"document":"doc-42"}`)
	require.Equal(t, http.StatusOK, second.Code)
	var b jamsocket.BrowserConnectResponse
	require.NoError(t, json.Unmarshal(second.Body.Bytes(), &b))
	assert.False(t, b.Spawned, "joined, not spawned")
	assert.Equal(t, a.BackendID, b.BackendID, "the same document shares one backend")

	// The browser reaches the backend with the URL it was given, as alice.
	resp, err := http.Get(a.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	var seen jamsockettest.EchoResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&seen))
	assert.Equal(t, "alice", seen.Verified["x-verified-username"])
	assert.Equal(t, "doc-42", seen.Key)
}

func TestSessionRejectsBadRequests(t *testing.T) {
	srv := jamsockettest.NewServer(t, nil)
	h := NewHandler(srv.Client, slog.New(slog.DiscardHandler))
	for _, body := range []string{``, `{`, `{"document":""}`, `[1,2]`} {
		rec := postSession(t, h, body)
		assert.Equal(t, http.StatusBadRequest, rec.Code, "body %q", body)
	}
	assert.Empty(t, srv.Backends(), "a bad request spawns nothing")
}

func TestSessionReportsASpawnFailure(t *testing.T) {
	srv := jamsockettest.NewServer(t, nil)
	c, err := srv.NewClient(jamsocket.WithRetry(jamsocket.RetryPolicy{MaxRetries: -1}))
	require.NoError(t, err)
	require.NoError(t, srv.Close()) // the plane is gone: Spawn fails
	rec := postSession(t, NewHandler(c, slog.New(slog.DiscardHandler)), `{"document":"doc-1"}`)
	assert.Equal(t, http.StatusBadGateway, rec.Code)
	assert.True(t, bytes.Contains(rec.Body.Bytes(), []byte("could not get a session backend")))
}
