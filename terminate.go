package jamsocket

import (
	"context"
	"net/http"

	"github.com/jamsocket-go/jamsocket/internal/retry"
	"github.com/jamsocket-go/jamsocket/types"
)

// TerminateOptions adjusts Terminate.
type TerminateOptions struct {
	// Hard kills the backend at once instead of asking it to stop (SIGTERM,
	// then a kill after a grace period).
	Hard bool
}

// Terminate asks for a backend to be stopped; nil opts is a soft stop. It
// returns once the server accepted the request: watch StatusStream for
// terminated. Terminating a backend that already ended is an *APIError (code
// "BackendNotRunning" on Jamsocket; Plane accepts it silently).
func (c *Client) Terminate(ctx context.Context, backendID string, opts *TerminateOptions) error {
	if err := checkBackendID(backendID); err != nil {
		return err
	}
	hard := opts != nil && opts.Hard
	if c.plane != nil {
		return c.plane.terminate(ctx, c, backendID, hard)
	}
	return c.do(ctx, request{
		method: http.MethodPost, path: pathOf("v2", "backend", backendID, "terminate"),
		body: types.TerminateRequest{Hard: hard}, auth: true, class: retry.Idempotent,
	}, nil)
}
