package jamsocket

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

// TerminateOptions adjusts Terminate.
type TerminateOptions struct {
	// Hard kills the backend at once instead of asking it to stop (SIGTERM,
	// then a kill after a grace period).
	Hard bool
}

// Terminate asks for a backend to be stopped; nil opts is a soft stop. It
// returns once the server accepted the request: watch StatusStream for
// terminated.
//
// Terminate is idempotent on every target: a backend that already ended is
// success (nil), whether it ended long ago or a first attempt that the
// retry did not hear back from ended it. An unknown id is an error matching
// ErrNotFound. The official dev server answers a bare 404 both for a
// backend it forgot (it forgets them once they end) and for an id it never
// had; on a Dev client Terminate tells them apart by the status stream's
// replay, so an unknown id there takes a few seconds to be ErrNotFound.
func (c *Client) Terminate(ctx context.Context, backendID string, opts *TerminateOptions) (err error) {
	ctx, op := c.begin(ctx, "jamsocket.Terminate", trace.SpanKindClient)
	defer func() { op.end(ctx, err) }()
	hard := opts != nil && opts.Hard
	op.setBackendID(backendID)
	op.setHard(hard)
	if err := checkBackendID(backendID); err != nil {
		return err
	}
	return c.driver.terminate(ctx, backendID, hard)
}
