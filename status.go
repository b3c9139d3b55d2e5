package jamsocket

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/jamsocket-go/jamsocket/internal/retry"
	"github.com/jamsocket-go/jamsocket/internal/sse"
)

// Status returns a backend's current status. The status endpoint is public:
// no token is sent.
func (c *Client) Status(ctx context.Context, backendID string) (state *BackendState, err error) {
	ctx, op := c.begin(ctx, "jamsocket.Status", trace.SpanKindClient)
	defer func() { op.endState(ctx, state, err) }()
	op.setBackendID(backendID)
	if err := checkBackendID(backendID); err != nil {
		return nil, err
	}
	return c.driver.status(ctx, backendID)
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
		c.driver.statusStream(ctx, backendID)(yield)
	}
}

// status reads the public status endpoint at path, for the drivers.
func (c *caller) status(ctx context.Context, path string) (*BackendState, error) {
	var state BackendState
	if err := c.do(ctx, request{method: http.MethodGet, path: path, class: retry.Idempotent}, &state); err != nil {
		return nil, err
	}
	return &state, nil
}

// statusStream is the status stream at path, as StatusStream describes it,
// for the drivers.
func (c *caller) statusStream(ctx context.Context, path string) iter.Seq2[*BackendState, error] {
	return func(yield func(*BackendState, error) bool) {
		seen := statusDeduper{}
		s := eventStream[*BackendState]{
			name:   "StatusStream",
			path:   path,
			decode: seen.decode,
			isLast: func(s *BackendState) bool { return s.Status.IsTerminal() },
		}
		s.run(ctx, c, yield)
	}
}

// maxReplayWait bounds how long a server that said it does not know a
// backend is given to replay it on its status stream. A status stream
// replays a backend's history at once, so one that stays silent is the
// stream of an id the server never had.
const maxReplayWait = 5 * time.Second

// replayWait is maxReplayWait, or the stream policy's idle timeout if
// shorter.
func (c *caller) replayWait() time.Duration { return min(maxReplayWait, c.opts.stream.IdleTimeout) }

// errNoReplay says that a status stream replayed nothing in time.
var errNoReplay = errors.New("the status stream replayed no status")

// The phases of replayedStatuses.
const (
	awaitingReplay int32 = iota
	replayArrived
	replayTimedOut
)

// replayedStatuses is a backend's status stream, asked of a server that
// said it does not know the backend (devDriver.forgotten). If no status
// comes within the replay wait, it yields errNoReplay and ends.
func (c *Client) replayedStatuses(ctx context.Context, backendID string) iter.Seq2[*BackendState, error] {
	return func(yield func(*BackendState, error) bool) {
		streamCtx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		// The phase settles once, so that a status arriving as the wait
		// runs out is either the replay or too late, never both.
		var phase atomic.Int32
		wait := time.AfterFunc(c.replayWait, func() {
			if phase.CompareAndSwap(awaitingReplay, replayTimedOut) {
				cancel(errNoReplay)
			}
		})
		defer wait.Stop()
		for state, err := range c.driver.statusStream(streamCtx, backendID) {
			if err == nil && phase.CompareAndSwap(awaitingReplay, replayArrived) {
				wait.Stop()
			}
			if phase.Load() == replayTimedOut && ctx.Err() == nil {
				yield(nil, errNoReplay)
				return
			}
			if !yield(state, err) {
				return
			}
		}
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
	if err := state.UnmarshalJSON([]byte(ev.Data)); err != nil {
		return nil, false, err
	}
	return &state, d.fresh(&state), nil
}

// fresh reports whether state is to be passed on, and records it if so.
func (d *statusDeduper) fresh(state *BackendState) bool {
	if rank := state.Status.Rank(); rank != 0 {
		if rank <= d.lastRank {
			return false
		}
		d.lastRank = rank
		return true
	}
	if d.unknown[state.Status] {
		return false
	}
	if d.unknown == nil {
		d.unknown = map[BackendStatus]bool{}
	}
	d.unknown[state.Status] = true
	return true
}

// WaitOptions adjusts WaitReady.
type WaitOptions struct {
	// OnStatus, if set, is called with each status WaitReady sees, once per
	// status and in order, including the first one read and the last (ready
	// or ending). It runs on WaitReady's goroutine; keep it short.
	OnStatus func(*BackendState)
}

// WaitReady waits until a backend is ready and returns that status. It reads
// the current status first, then follows the status stream; when the stream
// gives up or the server has none, it polls the status with backoff. A
// quiet backend (minutes in loading, say) is waited for as long as ctx
// lives: bound the wait with a context deadline. At most one opts is used;
// nil means the defaults.
//
// If the backend reaches terminating, hard-terminating or terminated first,
// WaitReady returns a *BackendTerminatedError, which matches
// ErrBackendTerminated. Every other failure is a *WaitError naming the last
// status seen and unwrapping to the cause: the context's error
// (errors.Is(err, context.DeadlineExceeded) works), or an error no retry
// will cure, such as ErrNotFound for an unknown backend.
//
// The official dev server forgets a backend once it ended, and answers its
// status with a bare 404, as it does for an id it never had and for a
// backend spawned a moment ago; on a Dev client WaitReady then follows the
// status stream, which replays the backend's statuses (ending in
// terminated: ErrBackendTerminated). A stream that replays nothing within a
// few seconds means an unknown id: ErrNotFound.
func (c *Client) WaitReady(ctx context.Context, backendID string, opts ...*WaitOptions) (state *BackendState, err error) {
	ctx, op := c.begin(ctx, "jamsocket.WaitReady", trace.SpanKindInternal)
	defer func() { op.endState(ctx, state, err) }()
	op.setBackendID(backendID)
	w := waiter{c: c, backendID: backendID, op: op}
	if len(opts) > 0 && opts[0] != nil {
		w.onStatus = opts[0].OnStatus
	}
	state, err = w.wait(ctx)
	if err == nil && !w.scheduled.IsZero() {
		op.spawnedToReady(ctx, w.scheduled, state.Time)
	}
	return state, err
}

// waiter is one WaitReady call.
type waiter struct {
	c         *Client
	backendID string
	onStatus  func(*BackendState)
	// op is the WaitReady's span, which gets an event per status.
	op operation
	// scheduled is when the backend was scheduled, if a status read or
	// the stream's replay said so.
	scheduled time.Time
	// seen passes each status to onStatus once and in order, across the
	// first read, the stream's replay and polling.
	seen statusDeduper
	last *BackendState
}

func (w *waiter) wait(ctx context.Context) (*BackendState, error) {
	if err := checkBackendID(w.backendID); err != nil {
		return nil, w.fail(err)
	}
	state, err := w.c.driver.status(ctx, w.backendID)
	switch {
	case err != nil && ctx.Err() == nil && w.c.driver.forgotten(err):
		// The server does not know the backend now; its status stream
		// replays it if it ended, or if it is too new to be known.
		return w.follow(ctx, err)
	case err != nil && (ctx.Err() != nil || permanent(err)):
		return nil, w.fail(err)
	case err != nil:
		// Retries are used up but the context lives: keep asking.
		return w.poll(ctx)
	}
	if done, ready, err := w.see(state); done {
		return ready, err
	}
	return w.follow(ctx, nil)
}

// follow reads the status stream until readiness is decided, falling back
// to polling when the stream gives up. unknown, if not nil, is the status
// read's answer that the server does not know the backend: then the stream
// must replay the backend (replayedStatuses), else that answer stands.
func (w *waiter) follow(ctx context.Context, unknown error) (*BackendState, error) {
	statuses := w.c.StatusStream(ctx, w.backendID)
	if unknown != nil {
		statuses = w.c.replayedStatuses(ctx, w.backendID)
	}
	for state, err := range statuses {
		if err != nil {
			switch {
			case errors.Is(err, errNoReplay):
				return nil, w.fail(unknown)
			case ctx.Err() != nil:
				return nil, w.fail(err)
			}
			w.c.logger.LogAttrs(ctx, slog.LevelDebug, "jamsocket: status stream given up, polling",
				slog.String("backend_id", w.backendID))
			return w.poll(ctx)
		}
		if unknown != nil && state.Status == StatusReady {
			// A replay holds the whole history: the ready of a backend
			// that ended since comes before its end. The server knows a
			// backend that is ready now.
			w.record(state)
			current, err := w.c.driver.status(ctx, w.backendID)
			if err != nil {
				continue // forgotten, or unreadable: the stream goes on
			}
			state = current
		}
		if done, ready, err := w.see(state); done {
			return ready, err
		}
	}
	// StatusStream ends without an error only after terminated, which see
	// has already answered; this is a server that broke the rules.
	return w.poll(ctx)
}

// record passes a status to onStatus, the first time it is seen, and
// keeps it as the last status seen.
func (w *waiter) record(state *BackendState) {
	if state.Status == StatusScheduled {
		w.scheduled = state.Time
	}
	if w.seen.fresh(state) {
		w.op.statusSeen(state)
		if w.onStatus != nil {
			w.onStatus(state)
		}
	}
	w.last = state
}

// see records a status and says whether waiting is over, and with what: the
// ready state, or a *BackendTerminatedError for an ending one.
func (w *waiter) see(state *BackendState) (done bool, ready *BackendState, err error) {
	w.record(state)
	switch {
	case state.Status == StatusReady:
		return true, state, nil
	case state.Status.IsEnding():
		return true, nil, &BackendTerminatedError{BackendID: w.backendID, State: state}
	}
	return false, nil, nil
}

// poll reads the status with backoff until readiness is decided, ctx ends,
// or the status fails in a way no retry cures.
func (w *waiter) poll(ctx context.Context) (*BackendState, error) {
	const minWait, maxWait = 100 * time.Millisecond, 2 * time.Second
	for attempt := 0; ; attempt++ {
		if err := sleep(ctx, retry.Jitter(retry.Exponential(minWait, maxWait, attempt))); err != nil {
			return nil, w.fail(err)
		}
		state, err := w.c.driver.status(ctx, w.backendID)
		switch {
		case err != nil && ctx.Err() == nil && w.last != nil && w.c.driver.forgotten(err):
			// It was seen alive, and the server has forgotten it since:
			// it ended.
			return nil, &BackendTerminatedError{BackendID: w.backendID}
		case err != nil && (ctx.Err() != nil || permanent(err)):
			return nil, w.fail(err)
		case err != nil:
			continue
		}
		if done, ready, err := w.see(state); done {
			return ready, err
		}
	}
}

// fail wraps err in a *WaitError naming the last status seen.
func (w *waiter) fail(err error) error {
	return &WaitError{BackendID: w.backendID, LastState: w.last, Err: err}
}

// checkBackendID refuses an empty id, which would address another endpoint.
func checkBackendID(id string) error {
	if id == "" {
		return errors.New("jamsocket: backend id is empty")
	}
	return nil
}
