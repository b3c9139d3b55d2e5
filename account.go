package jamsocket

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/jamsocket-go/jamsocket/types"
)

// AuthInfo says whom the token speaks for; see types.AuthInfo.
type AuthInfo = types.AuthInfo

// CheckAuth checks the Client's token (GET /auth) and returns the accounts
// it may act on. A token the server refuses is an error matching
// ErrUnauthorized; call it at start-up to fail fast on a bad token.
func (c *Client) CheckAuth(ctx context.Context) (_ *AuthInfo, err error) {
	ctx, op := c.begin(ctx, "jamsocket.CheckAuth", trace.SpanKindClient)
	defer func() { op.end(ctx, err) }()
	d, err := c.account("CheckAuth")
	if err != nil {
		return nil, err
	}
	return d.checkAuth(ctx)
}
