package jamsocket

import (
	"context"
	"errors"
	"net/http"

	"github.com/jamsocket-go/jamsocket/internal/retry"
)

// Spawn asks for a connection to a session backend (the connect endpoint),
// spawning one unless req.NoSpawn is set. A nil req is the empty request: a
// fresh backend with no key.
//
// With a key, Spawn returns the live backend holding it (Spawned false) or
// spawns one that holds it, so it is safe to repeat and is retried like a
// read. Without a key every call creates a backend, so Spawn retries only
// when the server provably never saw the request or refused it with 429: a
// keyless Spawn that meets a 503 or a timeout returns the error rather than
// risk a second backend.
//
// The response's Token, SecretToken and URL are secrets: hand URL to the one
// client that should reach the backend, and never log them (the response's
// String and LogValue redact them).
func (c *Client) Spawn(ctx context.Context, req *ConnectRequest) (*ConnectResponse, error) {
	if req == nil {
		req = &ConnectRequest{}
	}
	if req.NoSpawn && req.Key == "" {
		return nil, errors.New("jamsocket: Spawn with NoSpawn needs a Key: without one there is nothing to connect to")
	}
	if c.plane != nil {
		return c.plane.spawn(ctx, c, req)
	}
	class := retry.Create
	if req.Key != "" {
		class = retry.Idempotent
	}
	segments := []string{"v2", "service", c.cfg.Account, c.cfg.Service}
	if c.cfg.Environment != "" {
		segments = append(segments, c.cfg.Environment)
	}
	var resp ConnectResponse
	err := c.do(ctx, request{
		method: http.MethodPost, path: pathOf(append(segments, "connect")...),
		body: req, auth: true, class: class,
	}, &resp)
	if err != nil {
		return nil, err
	}
	return &resp, nil
}
