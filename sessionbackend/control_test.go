package sessionbackend_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/sessionbackend"
)

// fakePlane is the platform's end of a control socket: a real unix socket,
// driven line by line by the test.
type fakePlane struct {
	path string
	ln   *net.UnixListener
}

func newFakePlane(t *testing.T) *fakePlane {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sdk.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	return &fakePlane{path: path, ln: ln}
}

// planeConn is one backend's connection, as the platform sees it.
type planeConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// accept waits for the backend to connect (bounded, so that a broken
// backend fails the test instead of hanging it).
func (p *fakePlane) accept(t *testing.T) *planeConn {
	t.Helper()
	require.NoError(t, p.ln.SetDeadline(time.Now().Add(30*time.Second)))
	conn, err := p.ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	return &planeConn{conn: conn, r: bufio.NewReader(conn)}
}

// line is the next line the backend sent, newline included: the bytes
// must be the official package's exactly.
func (c *planeConn) line(t *testing.T) string {
	t.Helper()
	line, err := c.r.ReadString('\n')
	require.NoError(t, err)
	return line
}

func (c *planeConn) send(t *testing.T, line string) {
	t.Helper()
	_, err := io.WriteString(c.conn, line+"\n")
	require.NoError(t, err)
}

// eof checks that the backend sent nothing more and closed its end.
func (c *planeConn) eof(t *testing.T) {
	t.Helper()
	rest, err := io.ReadAll(c.r)
	require.NoError(t, err)
	assert.Empty(t, string(rest))
}

type assigned struct {
	a   *sessionbackend.Assignment
	err error
}

// goAssign runs Assignment beside the test, which plays the platform.
func goAssign(ctx context.Context, sb *sessionbackend.Backend) <-chan assigned {
	got := make(chan assigned, 1)
	go func() {
		a, err := sb.Assignment(ctx)
		got <- assigned{a, err}
	}()
	return got
}

const (
	warmedLine = `{"message":"Warmed"}` + "\n"
	readyLine  = `{"message":"Ready"}` + "\n"
)

func TestAssignmentSpeaksTheControlProtocol(t *testing.T) {
	plane := newFakePlane(t)
	var logs bytes.Buffer
	sb := &sessionbackend.Backend{
		ControlSocket: plane.path,
		Env:           map[string]string{"KEEP": "1", "OVER": "old", "GONE": "x"},
		Logger:        slog.New(slog.NewTextHandler(&logs, nil)),
	}
	got := goAssign(t.Context(), sb)

	c := plane.accept(t)
	assert.Equal(t, warmedLine, c.line(t))
	c.send(t, `{"message":"Hello","note":"not for you"}`) // skipped, as the official package does
	c.send(t, `{"message":{"BackendAssignment":{"backend_id":"b-1","key":"doc-1","fencing_token":1700000000123,`+
		`"static_token":"s.tok","env":{"OVER":"new","ADD":"2","GONE":null}}}}`)
	r := <-got
	require.NoError(t, r.err)
	a := r.a
	assert.Equal(t, "b-1", a.BackendID)
	assert.Equal(t, "doc-1", a.Key)
	assert.Equal(t, int64(1700000000123), a.FencingToken)
	assert.Equal(t, "s.tok", a.StaticToken)
	assert.Equal(t, map[string]string{"KEEP": "1", "OVER": "new", "ADD": "2"}, a.Env, "the assignment's env over the backend's")
	assert.Equal(t, map[string]string{"KEEP": "1", "OVER": "old", "GONE": "x"}, sb.Env, "the backend's own is untouched")
	assert.Contains(t, logs.String(), "not an assignment")
	assert.NotContains(t, logs.String(), "not for you", "a control line is never logged")

	require.NoError(t, a.Ready())
	assert.Equal(t, readyLine, c.line(t))
	require.NoError(t, a.Ready(), "Ready again is harmless")
	again, err := sb.Assignment(t.Context())
	require.NoError(t, err)
	assert.Same(t, a, again, "the first assignment is the backend's for good")

	require.NoError(t, sb.Close())
	c.eof(t) // no second Warmed, no second Ready
}

func TestAssignmentWaitsOnlyAsLongAsItsContext(t *testing.T) {
	plane := newFakePlane(t)
	sb := &sessionbackend.Backend{ControlSocket: plane.path}
	ctx, cancel := context.WithCancel(t.Context())
	got := goAssign(ctx, sb)
	c := plane.accept(t)
	assert.Equal(t, warmedLine, c.line(t))
	cancel() // the platform never assigns this one
	r := <-got
	require.ErrorIs(t, r.err, context.Canceled)
	assert.Nil(t, r.a)
	c.eof(t) // the backend closed its end: it is no longer warm

	// Asked again, it warms again on a new connection.
	got = goAssign(t.Context(), sb)
	c = plane.accept(t)
	assert.Equal(t, warmedLine, c.line(t))
	c.send(t, `{"message":{"BackendAssignment":{"backend_id":"b-2","key":"k","fencing_token":null,"static_token":null,"env":{}}}}`)
	r = <-got
	require.NoError(t, r.err)
	assert.Equal(t, "b-2", r.a.BackendID)
	assert.Zero(t, r.a.FencingToken)
	assert.Empty(t, r.a.StaticToken)
	require.NoError(t, sb.Close())

	_, err := sb.Assignment(ctx)
	require.ErrorIs(t, err, context.Canceled, "a dead context, even with an assignment at hand")
}

func TestControlSocketFailuresAreTypedErrors(t *testing.T) {
	t.Run("no socket", func(t *testing.T) {
		sb := &sessionbackend.Backend{ControlSocket: filepath.Join(t.TempDir(), "none.sock")}
		_, err := sb.Assignment(t.Context())
		var ce *sessionbackend.ControlError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "dial", ce.Op)
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
	for name, tc := range map[string]struct {
		lines []string
		op    string
		is    error
	}{
		"closed before the assignment": {nil, "read", sessionbackend.ErrControlClosed},
		"a line that is not JSON":      {[]string{`{"message":{"BackendAssignment":{"static_token":"s.sekret"`}, "decode", sessionbackend.ErrMalformedMessage},
		"an assignment of the wrong shape": {[]string{`{"message":{"BackendAssignment":{"backend_id":12,"static_token":"s.sekret"}}}`},
			"decode", sessionbackend.ErrMalformedMessage},
	} {
		t.Run(name, func(t *testing.T) {
			plane := newFakePlane(t)
			sb := &sessionbackend.Backend{ControlSocket: plane.path}
			got := goAssign(t.Context(), sb)
			c := plane.accept(t)
			assert.Equal(t, warmedLine, c.line(t))
			for _, line := range tc.lines {
				c.send(t, line)
			}
			require.NoError(t, c.conn.Close())
			r := <-got
			var ce *sessionbackend.ControlError
			require.ErrorAs(t, r.err, &ce)
			assert.Equal(t, tc.op, ce.Op)
			assert.Equal(t, plane.path, ce.Path)
			assert.ErrorIs(t, r.err, tc.is)
			assert.NotContains(t, r.err.Error(), "sekret")
			assert.Nil(t, r.a)
		})
	}
}
