package jamsocket

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/trace"

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
// risk a second backend. This is decided here, for every target.
//
// A NoSpawn Spawn that finds no backend holding the key fails with an error
// matching ErrKeyNotHeld on every target (its *APIError has NoSpawn set); one
// that meets a holder spawned with another tag (Plane), ErrKeyHeld.
//
// The response's Token, SecretToken and URL are secrets: hand URL to the one
// client that should reach the backend, and never log them (the response's
// String and LogValue redact them).
func (c *Client) Spawn(ctx context.Context, req *ConnectRequest) (resp *ConnectResponse, err error) {
	ctx, op := c.begin(ctx, "jamsocket.Spawn", trace.SpanKindClient)
	defer func() { op.endSpawn(ctx, resp, err) }()
	if req == nil {
		req = &ConnectRequest{}
	}
	op.setKey(req.Key)
	if req.NoSpawn && req.Key == "" {
		return nil, errors.New("jamsocket: Spawn with NoSpawn needs a Key: without one there is nothing to connect to")
	}
	class := retry.Create
	if req.Key != "" {
		class = retry.Idempotent
	}
	resp, err = c.driver.connect(ctx, req, class)
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		apiErr.NoSpawn = req.NoSpawn
	}
	return resp, err
}
