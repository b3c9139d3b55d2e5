package sessionbackend_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/sessionbackend"
)

// served is a Backend serving a handler on a loopback port, stopped by
// cancelling its context.
type served struct {
	url    string
	stop   context.CancelFunc
	result chan error
}

func serve(t *testing.T, sb *sessionbackend.Backend, h http.Handler) *served {
	t.Helper()
	sb.Host = "127.0.0.1"
	ln, err := sb.Listen(t.Context())
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	s := &served{url: "http://" + ln.Addr().String(), stop: stop, result: make(chan error, 1)}
	go func() { s.result <- sb.Serve(ctx, ln, h) }()
	t.Cleanup(func() {
		stop()
		<-s.result
	})
	return s
}

// startRequest sends GET path and returns once the response's headers are
// in: the handler is running.
func startRequest(t *testing.T, url string) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// untilDrained answers its headers at once, then waits for the drain and
// says whether the request's context was still alive then.
func untilDrained(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	_ = http.NewResponseController(w).Flush()
	<-sessionbackend.Draining(r.Context())
	if r.Context().Err() == nil {
		_, _ = io.WriteString(w, "finished while draining")
	}
}

// farewell is a WebSocket that, when the drain begins, says "bye", waits
// for the peer's answer, and closes with 1001.
func farewell(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	<-sessionbackend.Draining(r.Context())
	if c.Write(r.Context(), websocket.MessageText, []byte("bye")) != nil {
		return
	}
	if _, _, err := c.Read(r.Context()); err != nil {
		return
	}
	_ = c.Close(websocket.StatusGoingAway, "draining")
}

func TestServeDrainsRequests(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	s := serve(t, &sessionbackend.Backend{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		untilDrained(w, r)
	}))
	slowDone := make(chan *http.Response, 1)
	go func() {
		resp, err := http.Get(s.url)
		assert.NoError(t, err)
		slowDone <- resp
	}()
	<-entered

	s.stop()
	require.Empty(t, s.result, "Serve waits for the request")
	close(release)
	slow := <-slowDone
	require.NotNil(t, slow)
	defer slow.Body.Close()
	body, err := io.ReadAll(slow.Body)
	require.NoError(t, err)
	assert.Equal(t, "finished while draining", string(body), "the request in flight was served")
	require.NoError(t, <-s.result, "a full drain")
	s.result <- nil // for the cleanup

	_, err = net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	require.Error(t, err, "the listener is closed")
}

// The server loses sight of a hijacked connection: Serve waits for its
// handler instead, and the handler's context lives until it is done.
func TestServeDrainsWebSockets(t *testing.T) {
	s := serve(t, &sessionbackend.Backend{}, http.HandlerFunc(farewell))
	ws, _, err := websocket.Dial(t.Context(), s.url, nil)
	require.NoError(t, err)
	defer ws.CloseNow()

	s.stop()
	_, msg, err := ws.Read(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "bye", string(msg), "the WebSocket's handler was told")
	require.NoError(t, ws.Write(t.Context(), websocket.MessageText, []byte("ok")))
	_, _, err = ws.Read(t.Context())
	assert.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err), "the handler's context lived until it was done")
	require.NoError(t, <-s.result, "a full drain")
	s.result <- nil
}

// stubborn ignores the drain: only its context ending stops it, which
// it reports.
func stubborn(ended chan<- struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
		close(ended)
	}
}

func TestServeCutsWhatOutlivesTheGracePeriod(t *testing.T) {
	ended := make(chan struct{})
	var logs strings.Builder
	sb := &sessionbackend.Backend{GracePeriod: 1, Logger: newTextLogger(&logs)} // 1ns: the drain cannot finish
	s := serve(t, sb, stubborn(ended))
	startRequest(t, s.url)
	s.stop()
	require.ErrorIs(t, <-s.result, sessionbackend.ErrGraceExpired)
	s.result <- nil
	<-ended // its context ended
	assert.Contains(t, logs.String(), "grace period ended")
}

func TestServeWithANegativeGracePeriodDoesNotDrain(t *testing.T) {
	ended := make(chan struct{})
	s := serve(t, &sessionbackend.Backend{GracePeriod: -1}, stubborn(ended))
	startRequest(t, s.url)
	s.stop()
	require.NoError(t, <-s.result)
	s.result <- nil
	<-ended
}

func TestServeReturnsWhatStopsTheServer(t *testing.T) {
	sb := &sessionbackend.Backend{Host: "127.0.0.1"}
	ln, err := sb.Listen(t.Context())
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	err = sb.Serve(t.Context(), ln, http.NotFoundHandler())
	require.ErrorIs(t, err, net.ErrClosed)
}

// The real thing: a session backend process (this test binary, see
// childMain) gets SIGTERM with a request in flight; it finishes the
// request and exits 0.
func TestSIGTERMDrainsTheProcessAndExits(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = childEnv("PORT=0", "SESSION_BACKEND_ID=b-child", "SESSION_BACKEND_KEY=doc-7")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "the backend's first line")
	fields := strings.Fields(lines.Text())
	require.Len(t, fields, 3)
	assert.Equal(t, []string{"b-child", "doc-7"}, fields[1:], "its assignment, from the environment")

	// The handler runs, so Serve has started, and with it the signal
	// handling.
	slow := startRequest(t, "http://"+fields[0]+"/slow")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	body, err := io.ReadAll(slow.Body)
	require.NoError(t, err)
	assert.Equal(t, "finished while draining", string(body))
	require.True(t, lines.Scan())
	assert.Equal(t, "drained", lines.Text())
	require.NoError(t, cmd.Wait(), "exit 0")
}
