package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/jamsockettest"
)

// TestMain runs the backend itself when the local plane started this test
// binary as a session backend (jamsockettest.SelfCommand).
func TestMain(m *testing.M) {
	if os.Getenv("SESSION_BACKEND_ID") != "" {
		if err := serve(context.Background(), slog.New(slog.NewTextHandler(os.Stdout, nil))); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// The example backend as a real process behind the real local plane: it
// answers with its assignment and the caller's identity, echoes a
// WebSocket opened from another origin (as the browser client opens it,
// from the app's page), closes that WebSocket with 1001 on SIGTERM, and
// exits 0.
func TestTheBackendBehindTheLocalPlane(t *testing.T) {
	srv := jamsockettest.NewServer(t, &jamsockettest.Options{Command: jamsockettest.SelfCommand()})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-1", User: "ann", Auth: map[string]any{"role": "editor"}})
	require.NoError(t, err)
	_, err = srv.Client.WaitReady(ctx, conn.BackendID)
	require.NoError(t, err)

	req, err := http.NewRequestWithContext(ctx, "GET", conn.URL+"hello", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var answer Answer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
	assert.Equal(t, conn.BackendID, answer.BackendID)
	assert.Equal(t, "doc-1", answer.Key)
	assert.Equal(t, "/hello", answer.Path)
	assert.Equal(t, "ann", answer.User)
	assert.JSONEq(t, `{"role":"editor"}`, string(answer.UserData))
	assert.NotContains(t, answer.Verified, "x-verified-secret")

	ws, _, err := websocket.Dial(ctx, conn.URL+"ws", &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {"http://app.example.com"}},
	})
	require.NoError(t, err, "a WebSocket from the app's origin")
	defer ws.CloseNow()
	require.NoError(t, ws.Write(ctx, websocket.MessageText, []byte("hi")))
	_, msg, err := ws.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, "hi", string(msg))

	require.NoError(t, srv.Client.Terminate(ctx, conn.BackendID, nil))
	_, _, err = ws.Read(ctx)
	assert.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err), "closed by the drain")
	var last *jamsocket.BackendState
	for state, err := range srv.Client.StatusStream(ctx, conn.BackendID) {
		require.NoError(t, err)
		last = state
	}
	require.NotNil(t, last.ExitError)
	assert.False(t, *last.ExitError, "a clean exit after the drain")
}
