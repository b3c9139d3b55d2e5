package jamsocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/jamsocket-go/jamsocket/internal/sse"
	"github.com/jamsocket-go/jamsocket/types"
)

// The wire types of the backend endpoints, re-exported from package types.
type (
	// BackendInfo describes one backend; see types.BackendInfo.
	BackendInfo = types.BackendInfo
	// V2State is one entry of a backend's status history on the
	// authenticated endpoints; see types.V2State.
	V2State = types.V2State
	// BackendSummary is one running backend in the account's list; see
	// types.BackendSummary.
	BackendSummary = types.BackendSummary
	// Metrics is one sample of a backend's resource use; see types.Metrics.
	Metrics = types.Metrics
	// LogLine is one line of a backend's output; see types.LogLine.
	LogLine = types.LogLine
)

// Backend returns what the API knows of a backend: its service, cluster,
// image, key and whole status history, sorted by time (oldest first).
func (c *Client) Backend(ctx context.Context, backendID string) (_ *BackendInfo, err error) {
	ctx, op := c.begin(ctx, "jamsocket.Backend", trace.SpanKindClient)
	defer func() { op.end(ctx, err) }()
	op.setBackendID(backendID)
	d, err := c.account("Backend")
	if err != nil {
		return nil, err
	}
	if err := checkBackendID(backendID); err != nil {
		return nil, err
	}
	info, err := d.backend(ctx, backendID)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(info.Statuses, func(a, b V2State) int { return a.Time.Compare(b.Time) })
	return info, nil
}

// ListBackends returns the account's running backends.
func (c *Client) ListBackends(ctx context.Context) (_ []BackendSummary, err error) {
	ctx, op := c.begin(ctx, "jamsocket.ListBackends", trace.SpanKindClient)
	defer func() { op.end(ctx, err) }()
	d, err := c.account("ListBackends")
	if err != nil {
		return nil, err
	}
	return d.listBackends(ctx)
}

// Logs streams a backend's output, one line per value, with the server's
// replay of earlier lines first.
//
// It reconnects like StatusStream when the connection drops or idles, and
// ends (without an error) when a connection ends cleanly and the backend's
// status is terminated or gone. It yields an error, and ends, when it gives
// up (a *StreamError), when the server refuses it (an *APIError inside the
// *StreamError; ErrNotFound for an unknown backend), or when ctx ends.
//
// When the server numbers its lines (id: N, as the local plane does), a
// reconnect resumes with Last-Event-ID and drops any line whose number was
// already yielded, so no line is repeated or lost. Lines without numbers
// are all yielded: after a reconnect, a server that replays them shows them
// again, since a replayed line cannot be told from a new one that reads the
// same.
//
// A backend that stays silent is followed for as long as ctx lives: a
// connection that answered 200 and then idled past the stream policy's
// IdleTimeout, or ended cleanly while the backend runs, is reconnected with
// a growing backoff and is not a failed reconnect; only failed connections
// count towards StreamPolicy.MaxReconnects.
func (c *Client) Logs(ctx context.Context, backendID string) iter.Seq2[LogLine, error] {
	return func(yield func(LogLine, error) bool) {
		d, err := c.account("Logs")
		if err != nil {
			yield(LogLine{}, err)
			return
		}
		if err := checkBackendID(backendID); err != nil {
			yield(LogLine{}, err)
			return
		}
		d.logs(ctx, backendID)(yield)
	}
}

// Metrics streams samples of a backend's memory and CPU use. It reconnects
// and ends like Logs; samples are not deduplicated (each is a new
// measurement). An event that is not a metrics sample is skipped.
func (c *Client) Metrics(ctx context.Context, backendID string) iter.Seq2[Metrics, error] {
	return func(yield func(Metrics, error) bool) {
		d, err := c.account("Metrics")
		if err != nil {
			yield(Metrics{}, err)
			return
		}
		if err := checkBackendID(backendID); err != nil {
			yield(Metrics{}, err)
			return
		}
		d.metrics(ctx, backendID)(yield)
	}
}

// TerminateAllRequest selects the backends TerminateAll stops.
type TerminateAllRequest struct {
	// Before limits the call to backends spawned before this time; zero
	// means the moment TerminateAll is called. The same time is sent in
	// every round, so backends spawned meanwhile are spared and the rounds
	// converge.
	Before time.Time
	// Hard kills the backends at once instead of asking them to stop.
	Hard bool
	// DryRun only counts the backends that would be terminated.
	DryRun bool
}

// TerminateAllResult sums the rounds of a TerminateAll.
type TerminateAllResult struct {
	// BackendCount is the sum of the backend_count of every round.
	BackendCount int `json:"backend_count"`
	// TerminatedCount is the sum of the terminated_count of every round.
	TerminatedCount int `json:"terminated_count"`
	// Rounds is how many requests were made.
	Rounds int `json:"rounds"`
	// IsComplete is the last round's is_complete: false only if
	// MaxTerminateAllRounds rounds did not finish the job.
	IsComplete bool `json:"is_complete"`
}

// MaxTerminateAllRounds bounds the requests of one TerminateAll.
const MaxTerminateAllRounds = 100

// TerminateAll terminates every backend of the Client's service spawned
// before req.Before (POST /service/{account}/{service}/terminate-backends).
//
// The server works in batches and says is_complete false while backends
// remain, so TerminateAll repeats the same request until is_complete, at
// most MaxTerminateAllRounds times, summing backend_count and
// terminated_count over the rounds. If the bound is reached the result has
// IsComplete false and the error is nil: call again to go on. If a round
// fails, TerminateAll returns the sums of the rounds before it together
// with the error (never a nil result beside an error from the server), so
// that a caller knows how much was already done. A DryRun
// makes one request only, since it changes nothing that a repeat would see.
// Each round is retried like a read: terminating what is already
// terminated changes nothing. Mass termination may cause mass re-spawns by
// clients, which can hit rate limits.
func (c *Client) TerminateAll(ctx context.Context, req TerminateAllRequest) (_ *TerminateAllResult, err error) {
	ctx, op := c.begin(ctx, "jamsocket.TerminateAll", trace.SpanKindClient)
	defer func() { op.end(ctx, err) }()
	op.setHard(req.Hard)
	d, err := c.account("TerminateAll")
	if err != nil {
		return nil, err
	}
	before := req.Before
	if before.IsZero() {
		before = time.Now()
	}
	result := &TerminateAllResult{}
	for result.Rounds < MaxTerminateAllRounds {
		round, err := d.terminateBackends(ctx, before, req.Hard, req.DryRun)
		if err != nil {
			return result, fmt.Errorf("%w (after %d round(s), %d terminated)", err, result.Rounds, result.TerminatedCount)
		}
		result.Rounds++
		result.BackendCount += round.backendCount
		result.TerminatedCount += round.terminatedCount
		result.IsComplete = round.isComplete
		if result.IsComplete || req.DryRun {
			break
		}
	}
	return result, nil
}

func decodeMetrics(ev sse.Event) (Metrics, bool, error) {
	var m Metrics
	if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
		return Metrics{}, false, err
	}
	return m, true, nil
}

// invalid is the error of a 200 response that decoded but lacks what the
// API promises.
func invalid(method, path, what string) error {
	return &DecodeError{Method: method, Path: path, StatusCode: http.StatusOK, Err: errors.New(what)}
}

// logDeduper drops the numbered lines (id: N) a server repeats after a
// reconnect, at or below the highest number already yielded; the reconnect
// sends Last-Event-ID, so a server that honours it repeats none.
//
// Lines without a numeric id are all yielded: without a number a replayed
// line cannot be told from a new one that reads the same, and a line shown
// twice is better than a line lost.
type logDeduper struct {
	lastID int64
	haveID bool
	// connID is the last id seen on this connection: an event without an
	// id of its own carries it.
	connID string
}

func (d *logDeduper) reconnected() { d.connID = "" }

// decode turns an event into its line and reports whether the line is new.
func (d *logDeduper) decode(ev sse.Event) (line LogLine, isNew bool, _ error) {
	line = LogLine{Text: ev.Data, ID: ev.ID}
	sameConn := ev.ID == d.connID
	d.connID = ev.ID
	id, err := strconv.ParseInt(ev.ID, 10, 64)
	if err != nil || sameConn {
		return line, true, nil
	}
	if d.haveID && id <= d.lastID {
		return line, false, nil
	}
	d.lastID, d.haveID = id, true
	return line, true, nil
}
