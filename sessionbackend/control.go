package sessionbackend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/controlsock"
)

// Errors a *ControlError wraps, for errors.Is.
var (
	// ErrControlClosed: the platform closed the control socket before it
	// assigned the backend.
	ErrControlClosed = errors.New("closed before the assignment")
	// ErrMalformedMessage: the platform sent a line that is not JSON, or an
	// assignment of the wrong shape, or a line over 1 MiB.
	ErrMalformedMessage = controlsock.ErrMalformed
)

// ControlError is a failure of the control socket: it could not be
// reached or written, it closed, or it sent a malformed line. Its text
// never quotes what the platform sent.
type ControlError struct {
	// Path is the socket's path.
	Path string
	// Op is what failed: "dial", "send Warmed", "read", "decode", "send Ready".
	Op  string
	Err error
}

func (e *ControlError) Error() string {
	return "sessionbackend: control socket " + e.Path + ": " + e.Op + ": " + e.Err.Error()
}

func (e *ControlError) Unwrap() error { return e.Err }

// readyTimeout bounds the write of Ready, which has no context.
const readyTimeout = 10 * time.Second

// assignmentFromControl speaks the warm pool's protocol: Warmed, then wait
// for a BackendAssignment (main.ts:96-126). The connection stays open for
// Ready and for the rest of the backend's life; on failure it is closed.
func (b *Backend) assignmentFromControl(ctx context.Context) (*Assignment, error) {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", b.ControlSocket)
	if err != nil {
		return nil, b.controlErr(ctx, "dial", err)
	}
	b.mu.Lock()
	b.control = conn
	b.mu.Unlock()

	// A context that ends unblocks the write and the read below.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	wire, err := b.waitAssignment(ctx, conn)
	if !stop() && err == nil {
		err = waitEnded(ctx) // the deadline is set: the connection is spent
	}
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	a := &Assignment{BackendID: wire.BackendID, Key: wire.Key, Env: maps.Clone(b.Env)}
	if a.Env == nil {
		a.Env = map[string]string{}
	}
	if wire.FencingToken != nil {
		a.FencingToken = *wire.FencingToken
	}
	if wire.StaticToken != nil {
		a.StaticToken = *wire.StaticToken
	}
	for name, value := range wire.Env {
		if value == nil {
			delete(a.Env, name)
		} else {
			a.Env[name] = *value
		}
	}
	a.ready = func() error { return b.sendReady(conn) }
	return a, nil
}

// waitAssignment sends Warmed and reads lines until the assignment,
// skipping (and logging) any other message.
func (b *Backend) waitAssignment(ctx context.Context, conn net.Conn) (*controlsock.Assignment, error) {
	if _, err := io.WriteString(conn, controlsock.WarmedLine); err != nil {
		return nil, b.controlErr(ctx, "send Warmed", err)
	}
	lines := controlsock.NewReader(conn)
	for {
		line, err := lines.Next()
		switch {
		case errors.Is(err, io.EOF):
			return nil, b.controlErr(ctx, "read", ErrControlClosed)
		case errors.Is(err, controlsock.ErrMalformed):
			return nil, b.controlErr(ctx, "decode", err)
		case err != nil:
			return nil, b.controlErr(ctx, "read", err)
		}
		msg, err := controlsock.Decode(line)
		if err != nil {
			return nil, b.controlErr(ctx, "decode", err)
		}
		if msg.Kind == controlsock.Assigned {
			return msg.Assignment, nil
		}
		b.logger().Warn("sessionbackend: ignoring a control message that is not an assignment", "bytes", len(line))
	}
}

func (b *Backend) sendReady(conn net.Conn) error {
	if err := conn.SetWriteDeadline(time.Now().Add(readyTimeout)); err != nil {
		return &ControlError{Path: b.ControlSocket, Op: "send Ready", Err: err}
	}
	if _, err := io.WriteString(conn, controlsock.ReadyLine); err != nil {
		return &ControlError{Path: b.ControlSocket, Op: "send Ready", Err: err}
	}
	return nil
}

// controlErr is err as a *ControlError, unless the context ended: then the
// context's error wins, since the failure is only its consequence.
func (b *Backend) controlErr(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return waitEnded(ctx)
	}
	return &ControlError{Path: b.ControlSocket, Op: op, Err: err}
}

// waitEnded is the error of an Assignment whose context ended first.
func waitEnded(ctx context.Context) error {
	return fmt.Errorf("sessionbackend: waiting for the assignment: %w", context.Cause(ctx))
}
