package localplane_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

const shortTimeout = 300 * time.Millisecond

func shortTimeouts(s *localplane.Server) {
	localplane.SetTimeouts(s, shortTimeout, shortTimeout, shortTimeout, shortTimeout)
}

// closedByServer reports whether the server closes conn (after answering
// what was sent, if anything) before the guard passes.
func closedByServer(t *testing.T, conn net.Conn) bool {
	t.Helper()
	// A guard against a hang, not a synchronisation: the read returns when
	// the server closes the connection.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(20*shortTimeout)))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func dial(t *testing.T, url string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestConnectionTimeouts(t *testing.T) {
	p := startPlane(t, localplane.Config{}, shortTimeouts)
	res := p.connect(map[string]any{"key": "k"})
	p.statusStream(res.BackendID).until(types.StatusReady)
	proxyHost := strings.TrimPrefix(p.ProxyURL(), "http://")

	for name, base := range map[string]string{"api": p.APIURL(), "proxy": p.ProxyURL()} {
		t.Run(name+" header", func(t *testing.T) {
			conn := dial(t, base)
			io.WriteString(conn, "GET / HTTP/1.1\r\nHost: localhost\r\n") // never ends
			assert.True(t, closedByServer(t, conn), "a request whose headers never end is cut")
		})
		t.Run(name+" idle keep-alive", func(t *testing.T) {
			conn := dial(t, base)
			path := "/pub/health"
			if name == "proxy" {
				path = "/" + res.Token + "/"
			}
			io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: localhost\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.True(t, closedByServer(t, conn), "an idle keep-alive connection is closed")
		})
	}

	t.Run("api slow body", func(t *testing.T) {
		conn := dial(t, p.APIURL())
		io.WriteString(conn, "POST /v2/service/a/s/connect HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
		assert.True(t, closedByServer(t, conn), "a body that stops coming is cut")
	})
	t.Run("proxy stalled body", func(t *testing.T) {
		conn := dial(t, "http://"+proxyHost)
		io.WriteString(conn, "POST /"+res.Token+"/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nx")
		assert.True(t, closedByServer(t, conn), "a proxied body that stalls is cut")
	})

	t.Run("websocket lives on", func(t *testing.T) {
		ws := dialWS(t, res.URL+"ws")
		defer ws.CloseNow()
		// The passing of time is what is tested: the connection outlives
		// every timeout several times over.
		<-time.After(4 * shortTimeout)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, ws.Write(ctx, websocket.MessageText, []byte("still here")))
		_, msg, err := ws.Read(ctx)
		require.NoError(t, err)
		assert.Equal(t, "echo: still here", string(msg))
	})
	t.Run("status stream lives on", func(t *testing.T) {
		stream := p.statusStream(res.BackendID)
		stream.until(types.StatusReady)
		<-time.After(4 * shortTimeout)
		require.NoError(t, p.Terminate(res.BackendID, true))
		stream.until(types.StatusTerminated)
	})
}

// Listening beyond loopback is said, naming what it exposes.
func TestNonLoopbackListenWarns(t *testing.T) {
	var log bytes.Buffer
	srv, err := localplane.New(localplane.Config{
		APIAddr: "0.0.0.0:0", ProxyAddr: "127.0.0.1:0", Handler: handlerBackends,
		Logger: slog.New(slog.NewTextHandler(&log, nil)),
	})
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	require.NoError(t, srv.Close())
	assert.Contains(t, log.String(), "level=WARN")
	assert.Contains(t, log.String(), "the API listens on every network interface")
	assert.Contains(t, log.String(), "spawn and terminate backends (no token is set)")
	assert.Contains(t, log.String(), "a spawn runs code on this machine as you")
	assert.NotContains(t, log.String(), "the proxy listens")
}
