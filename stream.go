package jamsocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/retry"
	"github.com/jamsocket-go/jamsocket/internal/sse"
)

// errIdle is the cause given to a stream connection that sent nothing for
// the idle timeout.
var errIdle = errors.New("stream idle timeout")

// errEnded says a connection ended before its stream was complete.
var errEnded = errors.New("stream ended early")

// eventStream is one long-lived server-sent-events endpoint read as a
// sequence of T, reconnecting as the Client's StreamPolicy says. StatusStream
// and the log and metrics streams are built on it.
type eventStream[T any] struct {
	// name names the stream's span ("jamsocket.<name>").
	name string
	path string
	auth bool
	// decode turns an event into a value; ok false skips the event (a
	// duplicate, a keep-alive). An error skips it too, and is logged.
	decode func(sse.Event) (v T, ok bool, err error)
	// isLast reports the value after which the stream is complete.
	isLast func(T) bool
	// complete, if set, is asked when a connection ends cleanly whether the
	// stream is complete (a log stream ends when its backend does).
	complete func(ctx context.Context) bool
	// onConnect, if set, is called each time a connection opens, before its
	// first event (the log stream restarts its dedupe there).
	onConnect func()
}

// connection is how one connection went.
type connection struct {
	// finished: the stream is complete, or the consumer stopped.
	finished bool
	// healthy: the server answered 200 and then idled or ended cleanly, or
	// dropped after sending something. A healthy connection is not a
	// failed reconnect, however quiet it was.
	healthy bool
	// progressed: it yielded a value not seen before.
	progressed bool
	// err is why it ended, when it did not finish.
	err error
}

// run yields the stream's values until it is complete, the consumer stops,
// ctx ends, or reconnecting is given up.
//
// A quiet stream is not a broken one: servers that send no keep-alive (the
// official dev server) idle for minutes between statuses, and one may end a
// connection after replaying the history. Such connections are healthy and
// the stream reconnects after them for as long as ctx lives, waiting longer
// each time nothing new came, so that a server closing at once cannot make a
// hot loop. Only failed connections (a dial error, a non-2xx answer, an end
// before any byte) count towards StreamPolicy.MaxReconnects.
func (s *eventStream[T]) run(ctx context.Context, c *caller, yield func(T, error) bool) {
	ctx, span := c.tel.startStream(ctx, s.name, s.path)
	var failed error
	defer func() { endStream(span, failed) }()
	s.follow(ctx, c, func(v T, err error) bool {
		if err != nil {
			failed = err
		}
		return yield(v, err)
	})
}

// follow is run without the span.
func (s *eventStream[T]) follow(ctx context.Context, c *caller, yield func(T, error) bool) {
	var zero T
	policy := c.opts.stream
	lastEventID := ""
	failures := 0 // failed connections in a row
	quiet := 0    // connections in a row that brought nothing new
	for {
		conn := s.connect(ctx, c, &lastEventID, yield)
		if conn.finished {
			return
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			yield(zero, fmt.Errorf("jamsocket: stream %s: %w", s.path, ctxErr))
			return
		}
		switch {
		case conn.progressed:
			failures, quiet = 0, 0
		case conn.healthy:
			failures = 0
			quiet++
		default:
			failures++
			quiet++
		}
		if permanent(conn.err) || failures > policy.MaxReconnects {
			yield(zero, &StreamError{Path: s.path, Attempts: max(failures, 1), Err: conn.err})
			return
		}
		wait := reconnectWait(policy, quiet, conn.err)
		c.tel.reconnecting(ctx, conn.err, failures, wait)
		c.logger.LogAttrs(ctx, slog.LevelDebug, "jamsocket: stream reconnecting",
			slog.String("path", s.path), slog.String("why", reconnectReason(conn.err)),
			slog.Int("failures", failures), slog.Duration("wait", wait))
		if err := sleep(ctx, wait); err != nil {
			yield(zero, fmt.Errorf("jamsocket: stream %s: %w", s.path, err))
			return
		}
	}
}

// reconnectReason says in a few words why a connection ended, for the log:
// a refusal by its status alone, since an error's message may quote the
// server's body.
func reconnectReason(err error) string {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return "status " + strconv.Itoa(apiErr.StatusCode)
	}
	return err.Error()
}

// reconnectWait is the wait before the next connection: the Retry-After
// of a refusal, capped by MaxWait, or a jittered exponential backoff that
// grows with the connections in a row that brought nothing new.
func reconnectWait(policy StreamPolicy, quiet int, err error) time.Duration {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
		return min(apiErr.RetryAfter, policy.MaxWait)
	}
	return retry.Jitter(retry.Exponential(policy.MinWait, policy.MaxWait, quiet))
}

// connect opens one connection and reads it to its end.
func (s *eventStream[T]) connect(ctx context.Context, c *caller, lastEventID *string, yield func(T, error) bool) connection {
	connCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The idle timer runs from the request on: a server that takes the
	// connection but never sends the headers is as dead as one that stops
	// sending events.
	idle := time.AfterFunc(c.opts.stream.IdleTimeout, func() { cancel(errIdle) })
	defer idle.Stop()
	resp, err := c.openStream(connCtx, s.path, s.auth, *lastEventID)
	if err != nil {
		if errors.Is(context.Cause(connCtx), errIdle) {
			err = errIdle
		}
		return connection{err: err}
	}
	defer resp.Body.Close()
	// Not every RoundTripper closes the body when the request's context
	// ends; closing it here is what unblocks a read stuck on a silent
	// connection, on cancel and on the idle timeout alike.
	stopClosing := context.AfterFunc(connCtx, func() { resp.Body.Close() })
	defer stopClosing()
	if s.onConnect != nil {
		s.onConnect()
	}
	// Any byte counts as activity, so that keep-alives hold the connection.
	// A flood that never completes an event also holds it, until the
	// event limit ends it.
	body := &activityReader{r: resp.Body, onRead: func() { idle.Reset(c.opts.stream.IdleTimeout) }}
	return s.read(ctx, connCtx, c, body, lastEventID, yield)
}

// read yields the events of an open connection until it ends; connCtx is
// the connection's context, whose cause tells an idle timeout.
func (s *eventStream[T]) read(ctx, connCtx context.Context, c *caller, body *activityReader, lastEventID *string, yield func(T, error) bool) connection {
	dec := sse.NewDecoder(body, c.opts.maxEventBytes)
	progressed, loggedUndecodable := false, false
	for {
		ev, err := dec.Next()
		if err != nil {
			switch cause := context.Cause(connCtx); {
			case errors.Is(cause, errIdle):
				// Silent for the idle timeout after a 200: quiet, not
				// broken.
				return connection{healthy: true, progressed: progressed, err: errIdle}
			case errors.Is(err, sse.ErrEventTooLarge):
				err = fmt.Errorf("%w: over %d bytes", ErrEventTooLarge, c.opts.maxEventBytes)
			case err == io.EOF:
				if s.complete != nil && s.complete(ctx) {
					return connection{finished: true}
				}
				err = errEnded
			}
			return connection{healthy: body.read > 0, progressed: progressed, err: err}
		}
		if ev.ID != "" {
			*lastEventID = ev.ID
		}
		v, ok, err := s.decode(ev)
		switch {
		case err != nil && !loggedUndecodable:
			loggedUndecodable = true
			s.logUndecodable(ctx, c, ev, err)
			continue
		case err != nil || !ok:
			continue
		}
		progressed = true
		if !yield(v, nil) || s.isLast(v) {
			return connection{finished: true}
		}
	}
}

// logUndecodable logs an event that does not decode. Its data may hold
// anything, secrets included: the log has its size and the kind of failure,
// never the data or the error (which may quote it). read logs the first
// of a connection only.
func (s *eventStream[T]) logUndecodable(ctx context.Context, c *caller, ev sse.Event, err error) {
	c.logger.LogAttrs(ctx, slog.LevelDebug, "jamsocket: skipping an event that does not decode",
		slog.String("path", s.path), slog.Int("bytes", len(ev.Data)),
		slog.String("error_kind", decodeErrorKind(err)))
}

// decodeErrorKind names the kind of a decoding error without quoting the
// input.
func decodeErrorKind(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return "json syntax"
	case errors.As(err, &typ):
		return "json type"
	default:
		return "invalid"
	}
}

// openStream sends the GET for a stream and checks its status.
func (c *caller) openStream(ctx context.Context, path string, auth bool, lastEventID string) (*http.Response, error) {
	r := request{method: http.MethodGet, path: path}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.apiURL+path, nil)
	if err != nil {
		return nil, fmt.Errorf("jamsocket: building GET %s: %w", path, err)
	}
	c.setHeaders(ctx, req.Header, auth, "text/event-stream", "")
	req.Header.Set("Cache-Control", "no-cache")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := c.stream.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, r, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, _ := c.readBody(resp)
		return nil, c.apiError(r, resp, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "text/event-stream") {
		// Read a page's worth (a proxy's sign-in page, say) so the
		// connection can be reused; a longer body is not worth the wait.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, &DecodeError{Method: r.method, Path: path, StatusCode: resp.StatusCode,
			Err: fmt.Errorf("content type %q is not text/event-stream", ct)}
	}
	return resp, nil
}

// permanent reports a failure that repeating the request will not cure: a
// 4xx other than 408 and 429, a response that is not the promised one, a
// refused redirect, or a stream event over the limit (the server would send
// it again).
func permanent(err error) bool {
	if errors.Is(err, ErrEventTooLarge) || errors.Is(err, ErrRedirected) {
		return true
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		code := apiErr.StatusCode
		return code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
	}
	var decodeErr *DecodeError
	return errors.As(err, &decodeErr)
}

// activityReader calls onRead whenever bytes arrive, so that keep-alives
// count as activity, and counts them.
type activityReader struct {
	r      io.Reader
	onRead func()
	read   int64
}

func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.read += int64(n)
		a.onRead()
	}
	return n, err
}

// sleep waits for d or until ctx ends, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
