package jamsocket_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
)

func TestCheckAuth(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodGet, testAPI+"/auth",
		jsonResponder(t, http.StatusOK, `{"status":"ok","accounts":["acct","other"],"is_admin":false,"account":"acct"}`))
	info, err := c.CheckAuth(t.Context())
	require.NoError(t, err)
	assert.Equal(t, &jamsocket.AuthInfo{Status: "ok", Accounts: []string{"acct", "other"}}, info)
}

func TestCheckAuthBadToken(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodGet, testAPI+"/auth", httpmock401())
	_, err := c.CheckAuth(t.Context())
	require.ErrorIs(t, err, jamsocket.ErrUnauthorized)
	assert.NotContains(t, err.Error(), testToken)
	assert.Equal(t, 1, mock.GetTotalCallCount(), "a refused token is not retried")
}

func TestCheckAuthRetriedAfter503(t *testing.T) {
	c, mock := newMockClient(t)
	n := 0
	mock.RegisterResponder(http.MethodGet, testAPI+"/auth", func(req *http.Request) (*http.Response, error) {
		n++
		if n < 3 {
			return jsonResponder(t, http.StatusServiceUnavailable, "busy")(req)
		}
		return jsonResponder(t, http.StatusOK, `{"status":"ok","accounts":[],"is_admin":true}`)(req)
	})
	info, err := c.CheckAuth(t.Context())
	require.NoError(t, err)
	assert.True(t, info.IsAdmin)
	assert.Empty(t, info.Accounts)
	assert.Equal(t, 3, n)
}

// httpmock401 answers 401 with a text body that quotes the token, as a
// careless proxy might; the error must not repeat it.
func httpmock401() func(*http.Request) (*http.Response, error) {
	return func(req *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: http.StatusUnauthorized, Header: http.Header{},
			Body: bodyOf("invalid token " + req.Header.Get("Authorization")), Request: req,
		}, nil
	}
}

func bodyOf(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
