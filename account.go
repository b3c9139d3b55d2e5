package jamsocket

import (
	"context"
	"net/http"

	"github.com/jamsocket-go/jamsocket/internal/retry"
	"github.com/jamsocket-go/jamsocket/types"
)

// AuthInfo says whom the token speaks for; see types.AuthInfo.
type AuthInfo = types.AuthInfo

// CheckAuth checks the Client's token (GET /auth) and returns the accounts
// it may act on. A token the server refuses is an error matching
// ErrUnauthorized; call it at start-up to fail fast on a bad token.
func (c *Client) CheckAuth(ctx context.Context) (*AuthInfo, error) {
	if c.plane != nil {
		return nil, unsupportedOnPlane("CheckAuth")
	}
	const path = "/auth"
	var body struct {
		AuthInfo
		Accounts *[]string `json:"accounts"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: path, auth: true, class: retry.Idempotent}, &body); err != nil {
		return nil, err
	}
	if body.Accounts == nil {
		return nil, invalid(http.MethodGet, path, "no accounts")
	}
	info := body.AuthInfo
	info.Accounts = *body.Accounts
	return &info, nil
}
