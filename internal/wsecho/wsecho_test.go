package wsecho_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/jamsocket-go/jamsocket/internal/wsecho"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A browser opens the socket from the app's page: another origin than the
// backend's.
func TestServeEchoesAWebSocketFromAnotherOrigin(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(wsecho.Serve))
	defer srv.Close()
	ws, _, err := websocket.Dial(t.Context(), srv.URL, &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {"https://app.example.com"}},
	})
	require.NoError(t, err)
	defer ws.CloseNow()
	require.NoError(t, ws.Write(t.Context(), websocket.MessageText, []byte("hi")))
	_, msg, err := ws.Read(t.Context())
	require.NoError(t, err)
	assert.Equal(t, wsecho.Prefix+"hi", string(msg))
	require.NoError(t, ws.Close(websocket.StatusNormalClosure, ""))
}
