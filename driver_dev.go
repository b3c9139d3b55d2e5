package jamsocket

import (
	"context"
	"errors"
	"net/http"
)

// devDriver is the Jamsocket driver of a client made with Config.Dev: it
// talks to a dev server, the official one (`npx jamsocket dev`) or the
// local plane, and adds what the official one needs.
//
// The official dev server forgets a backend once it has ended, and does not
// know one yet for the first moments after its spawn (until its own status
// stream from Plane brings the first status): in both cases its status and
// terminate endpoints answer a 404 with no body at all
// (cli/src/dev-server/index.ts, handleStatusRequest and
// handleTerminateRequest), as for an id it never had. Its status stream,
// passed through from Plane, still replays a backend it forgot or does not
// know yet, and stays silent for an id Plane never had. The local plane
// answers a JSON 404, only for an id it never had: still ErrNotFound.
type devDriver struct {
	*jamsocketDriver
}

func (d devDriver) target() string { return "dev" }

// forgotten is the official dev server's bodiless 404.
func (d devDriver) forgotten(err error) bool {
	apiErr, ok := errors.AsType[*APIError](err)
	return ok && apiErr.StatusCode == http.StatusNotFound && apiErr.Code == "" && apiErr.Message == ""
}

// terminate asks again when the dev server answers that it does not know
// the backend, because it may be too new to be known yet. Its status stream
// tells which: a replay that ends in terminated is a backend that ended and
// was forgotten (success, as Terminate promises); a live status is a
// backend the dev server is learning about (the terminate is repeated, at
// most once per status the stream brings). When neither settles it within
// the replay wait (silence: an id the server never had), the 404 stands:
// ErrNotFound.
func (d devDriver) terminate(ctx context.Context, backendID string, hard bool) error {
	err := d.jamsocketDriver.terminate(ctx, backendID, hard)
	if !d.forgotten(err) {
		return err
	}
	unknown := err
	replayCtx, cancel := context.WithTimeout(ctx, d.c.replayWait())
	defer cancel()
	for state, err := range d.statusStream(replayCtx, backendID) {
		switch {
		case err != nil && ctx.Err() != nil:
			return err
		case err != nil:
			return unknown
		case state.Status.IsTerminal():
			return nil
		}
		if err := d.jamsocketDriver.terminate(ctx, backendID, hard); !d.forgotten(err) {
			return err
		}
	}
	return unknown
}
