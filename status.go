package jamsocket

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"log/slog"
	"net/http"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/retry"
	"github.com/jamsocket-go/jamsocket/internal/sse"
)

// Status returns a backend's current status. The status endpoint is public:
// no token is sent.
func (c *Client) Status(ctx context.Context, backendID string) (*BackendState, error) {
	if err := checkBackendID(backendID); err != nil {
		return nil, err
	}
	var state BackendState
	err := c.do(ctx, request{method: http.MethodGet, path: c.statusPath(backendID), class: retry.Idempotent}, &state)
	if err != nil {
		return nil, err
	}
	return &state, nil
}

// StatusStream streams a backend's statuses: first its history, then each
// change, ending after terminated. Each status is yielded once and in
// lifecycle order, even across reconnects.
//
// When the connection drops, or sends nothing at all for the stream policy's
// idle timeout, the stream reconnects with jittered backoff, resuming with
// Last-Event-ID, and says nothing of it to the caller. It yields an error,
// and ends, only when it gives up (a *StreamError), when the server refuses
// it (an *APIError inside the *StreamError), or when ctx ends. Breaking out of
// the loop or cancelling ctx closes the connection at once.
//
//	for state, err := range client.StatusStream(ctx, id) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(state.Status)
//	}
func (c *Client) StatusStream(ctx context.Context, backendID string) iter.Seq2[*BackendState, error] {
	return func(yield func(*BackendState, error) bool) {
		if err := checkBackendID(backendID); err != nil {
			yield(nil, err)
			return
		}
		seen := statusDeduper{}
		s := eventStream[*BackendState]{
			path:   c.statusStreamPath(backendID),
			decode: func(ev sse.Event) (*BackendState, bool, error) { return seen.decode(ev) },
			isLast: func(s *BackendState) bool { return s.Status.IsTerminal() },
		}
		s.run(ctx, c, yield)
	}
}

// statusDeduper passes each status once, in order: a known status only if it
// ranks above the last one passed, an unknown one only the first time.
type statusDeduper struct {
	lastRank int
	unknown  map[BackendStatus]bool
}

func (d *statusDeduper) decode(ev sse.Event) (*BackendState, bool, error) {
	var state BackendState
	if err := json.Unmarshal([]byte(ev.Data), &state); err != nil {
		return nil, false, err
	}
	if rank := state.Status.Rank(); rank != 0 {
		if rank <= d.lastRank {
			return nil, false, nil
		}
		d.lastRank = rank
		return &state, true, nil
	}
	if d.unknown[state.Status] {
		return nil, false, nil
	}
	if d.unknown == nil {
		d.unknown = map[BackendStatus]bool{}
	}
	d.unknown[state.Status] = true
	return &state, true, nil
}

// WaitReady waits until a backend is ready and returns that status. It reads
// the current status first, then follows the status stream (polling with
// backoff where the server has no stream).
//
// If the backend reaches terminating, hard-terminating or terminated first,
// WaitReady returns a *BackendTerminatedError, which matches
// ErrBackendTerminated. If ctx ends first, or the status can no longer be
// read, it returns a *WaitError that unwraps to the cause (so
// errors.Is(err, context.DeadlineExceeded) works) and names the last status
// seen. Bound the wait with a context deadline.
func (c *Client) WaitReady(ctx context.Context, backendID string) (*BackendState, error) {
	state, err := c.Status(ctx, backendID)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &WaitError{BackendID: backendID, Err: err}
		}
		return nil, err
	}
	if done, ready, err := readiness(backendID, state); done {
		return ready, err
	}
	last := state
	for state, err := range c.StatusStream(ctx, backendID) {
		if err != nil {
			if ctx.Err() == nil && streamMissing(err) {
				c.logger.LogAttrs(ctx, slog.LevelDebug, "jamsocket: no status stream, polling",
					slog.String("backend_id", backendID))
				return c.pollReady(ctx, backendID, last)
			}
			return nil, &WaitError{BackendID: backendID, LastState: last, Err: err}
		}
		last = state
		if done, ready, err := readiness(backendID, state); done {
			return ready, err
		}
	}
	// StatusStream ends without an error only after terminated, which
	// readiness has already answered; this is a server that broke the rules.
	return nil, &WaitError{BackendID: backendID, LastState: last, Err: errors.New("status stream ended")}
}

// readiness says whether waiting is over, and with what: the ready state, or
// a *BackendTerminatedError for an ending one.
func readiness(backendID string, state *BackendState) (done bool, ready *BackendState, err error) {
	switch {
	case state.Status == StatusReady:
		return true, state, nil
	case state.Status.IsEnding():
		return true, nil, &BackendTerminatedError{BackendID: backendID, State: state}
	}
	return false, nil, nil
}

// streamMissing reports a stream refused as if the endpoint did not exist.
func streamMissing(err error) bool {
	return errIsStatus(err, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented)
}

// pollReady polls the status with backoff until readiness is decided.
func (c *Client) pollReady(ctx context.Context, backendID string, last *BackendState) (*BackendState, error) {
	const minWait, maxWait = 100 * time.Millisecond, 2 * time.Second
	for attempt := 0; ; attempt++ {
		if err := sleep(ctx, retry.Jitter(retry.Exponential(minWait, maxWait, attempt))); err != nil {
			return nil, &WaitError{BackendID: backendID, LastState: last, Err: err}
		}
		state, err := c.Status(ctx, backendID)
		if err != nil {
			return nil, &WaitError{BackendID: backendID, LastState: last, Err: err}
		}
		last = state
		if done, ready, err := readiness(backendID, state); done {
			return ready, err
		}
	}
}

func (c *Client) statusPath(backendID string) string {
	if c.plane != nil {
		return pathOf("pub", "b", backendID, "status")
	}
	return pathOf("v2", "backend", backendID, "status")
}

func (c *Client) statusStreamPath(backendID string) string {
	if c.plane != nil {
		return pathOf("pub", "b", backendID, "status-stream")
	}
	return pathOf("v2", "backend", backendID, "status", "stream")
}

// checkBackendID refuses an empty id, which would address another endpoint.
func checkBackendID(id string) error {
	if id == "" {
		return errors.New("jamsocket: backend id is empty")
	}
	return nil
}
