package integration_test

import (
	"bufio"
	"context"
	"net/http"
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
)

// The proxy behind connection URLs (issue 3): HTTP and WebSocket pass, the
// x-verified-* headers are set by the plane and never by the caller, and a
// URL whose backend is gone answers 410.
func TestProxy(t *testing.T) {
	t.Parallel()
	forTargetsAndRunners(t, func(t *testing.T, tg target, r runner) {
		srv := newServer(t, tg, r, nil)
		conn := spawnReady(t, srv.Client, &jamsocket.ConnectRequest{
			Key: "proxied", User: "ann", Auth: map[string]any{"team": "blue"},
		})

		got := echo(t, http.MethodPost, conn.URL+"a/b%2Fc?x=1&y=2",
			"X-Verified-Username", "mallory",
			"X-Verified-User-Data", `{"team":"red"}`,
			"X-Verified-Secret", "forged",
			"X-Verified-Backend", "someone-else",
			"X-Verified-Invented", "forged")
		assert.Equal(t, http.MethodPost, got.Method)
		assert.Equal(t, "/a/b%2Fc?x=1&y=2", got.Path, "the token is stripped, the rest passes as sent")
		assert.Equal(t, "ann", got.Verified["x-verified-username"])
		assert.JSONEq(t, `{"team":"blue"}`, got.Verified["x-verified-user-data"])
		assert.Equal(t, conn.SecretToken, got.Verified["x-verified-secret"])
		assert.NotEqual(t, "forged", got.Verified["x-verified-secret"])
		assert.Equal(t, conn.BackendID, got.Verified["x-verified-backend"])
		assert.NotContains(t, got.Verified, "x-verified-invented", "inbound x-verified-* headers are dropped")

		ctx := testContext(t)
		assertStreams(t, conn.URL+"stream")

		ws, _, err := websocket.Dial(ctx, wsURL(conn.URL)+"ws", nil)
		require.NoError(t, err)
		defer ws.CloseNow()
		for _, msg := range []string{"hello", "again"} {
			require.NoError(t, ws.Write(ctx, websocket.MessageText, []byte(msg)))
			typ, data, err := ws.Read(ctx)
			require.NoError(t, err)
			assert.Equal(t, websocket.MessageText, typ)
			assert.Equal(t, msg, string(data))
		}

		// Ending the backend cuts its WebSocket and its URL.
		require.NoError(t, srv.Client.Terminate(ctx, conn.BackendID, &jamsocket.TerminateOptions{Hard: true}))
		_, _, err = ws.Read(ctx)
		assert.Error(t, err, "the WebSocket is cut when the backend ends")
		require.NoError(t, ctx.Err(), "cut, not timed out")
		states(t, srv.Client, conn.BackendID, nil)
		code, _ := get(t, http.MethodGet, conn.URL)
		assert.Equal(t, http.StatusGone, code)
		code, _ = get(t, http.MethodGet, srv.ProxyURL+"/not-a-token/")
		assert.Equal(t, http.StatusGone, code, "an unknown token is gone too")
	})
}

// assertStreams checks that a response the backend flushes but has not
// finished arrives through the proxy as it is written.
func assertStreams(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "first\n", line, "the flushed part arrives while the response is still open")
}
