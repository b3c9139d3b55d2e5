package jamsocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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

// outcome of one connection.
type outcome int

const (
	dropped  outcome = iota // reconnect
	finished                // the stream is complete, or the consumer stopped
)

// run yields the stream's values until it is complete, the consumer stops,
// ctx ends, or reconnecting is given up.
func (s *eventStream[T]) run(ctx context.Context, c *Client, yield func(T, error) bool) {
	var zero T
	policy := c.opts.stream
	lastEventID := ""
	failures := 0
	for {
		result, progressed, err := s.connect(ctx, c, &lastEventID, yield)
		if result == finished {
			return
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			yield(zero, fmt.Errorf("jamsocket: stream %s: %w", s.path, ctxErr))
			return
		}
		// A connection that delivered something new resets the budget: its
		// drop is not a failed reconnect, and the next wait is the shortest.
		if progressed {
			failures = 0
		} else {
			failures++
		}
		if permanentStreamError(err) || failures > policy.MaxReconnects {
			yield(zero, &StreamError{Path: s.path, Attempts: max(failures, 1), Err: err})
			return
		}
		wait := retry.Jitter(retry.Exponential(policy.MinWait, policy.MaxWait, failures))
		c.logger.LogAttrs(ctx, slog.LevelDebug, "jamsocket: stream reconnecting",
			slog.String("path", s.path), slog.String("why", err.Error()),
			slog.Int("attempt", failures), slog.Duration("wait", wait))
		if err := sleep(ctx, wait); err != nil {
			yield(zero, fmt.Errorf("jamsocket: stream %s: %w", s.path, err))
			return
		}
	}
}

// connect reads one connection to its end. progressed reports whether it
// yielded anything new.
func (s *eventStream[T]) connect(ctx context.Context, c *Client, lastEventID *string, yield func(T, error) bool) (result outcome, progressed bool, err error) {
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
		return dropped, false, err
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

	body := &activityReader{r: resp.Body, onRead: func() { idle.Reset(c.opts.stream.IdleTimeout) }}
	dec := sse.NewDecoder(body, c.opts.maxEventBytes)
	for {
		ev, err := dec.Next()
		if err != nil {
			if cause := context.Cause(connCtx); errors.Is(cause, errIdle) {
				err = errIdle
			}
			if errors.Is(err, sse.ErrEventTooLarge) {
				err = fmt.Errorf("%w: over %d bytes", ErrEventTooLarge, c.opts.maxEventBytes)
			}
			if err == io.EOF {
				if s.complete != nil && s.complete(ctx) {
					return finished, progressed, nil
				}
				err = errEnded
			}
			return dropped, progressed, err
		}
		if ev.ID != "" {
			*lastEventID = ev.ID
		}
		v, ok, err := s.decode(ev)
		if err != nil {
			c.logger.LogAttrs(ctx, slog.LevelWarn, "jamsocket: skipping an event that does not decode",
				slog.String("path", s.path), slog.String("error", err.Error()))
			continue
		}
		if !ok {
			continue
		}
		progressed = true
		if !yield(v, nil) || s.isLast(v) {
			return finished, progressed, nil
		}
	}
}

// openStream sends the GET for a stream and checks its status.
func (c *Client) openStream(ctx context.Context, path string, auth bool, lastEventID string) (*http.Response, error) {
	r := request{method: http.MethodGet, path: path}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL.String()+path, nil)
	if err != nil {
		return nil, fmt.Errorf("jamsocket: building GET %s: %w", path, err)
	}
	c.setHeaders(req.Header, auth, "text/event-stream")
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

// permanentStreamError reports a refusal that reconnecting will not cure: a
// 4xx other than 408 and 429, a response that is not a stream, or an event
// over the limit (the server would send it again).
func permanentStreamError(err error) bool {
	if errors.Is(err, ErrEventTooLarge) {
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
// count as activity.
type activityReader struct {
	r      io.Reader
	onRead func()
}

func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
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
