package jamsocket

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a server that records every request it receives.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newRecorder(t *testing.T, tls bool, handler http.HandlerFunc) *recorder {
	t.Helper()
	r := &recorder{}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		handler(w, req)
	})
	if tls {
		r.Server = httptest.NewTLSServer(h)
	} else {
		r.Server = httptest.NewServer(h)
	}
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// An API server that redirects (from https to plain http on the same host,
// or to another host; a 307 keeps the method and the body) gets a
// *RedirectError: the second server receives nothing, so neither the token
// nor a body is resent, and the attempt is not repeated. The caller's own
// *http.Client is left as it was.
func TestRedirectsAreRefused(t *testing.T) {
	elsewhere := newRecorder(t, false, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	})
	port := strconv.Itoa(elsewhere.Listener.Addr().(*net.TCPAddr).Port)
	for _, tc := range []struct {
		name, host string
		code       int
		call       func(context.Context, *Client) error
		method     string
	}{
		{"status, https to http on the same host", "127.0.0.1", http.StatusFound,
			func(ctx context.Context, c *Client) error { _, err := c.Status(ctx, "b1"); return err }, http.MethodGet},
		{"status, to another host", "localhost", http.StatusMovedPermanently,
			func(ctx context.Context, c *Client) error { _, err := c.Status(ctx, "b1"); return err }, http.MethodGet},
		{"307 connect with its body, same host", "127.0.0.1", http.StatusTemporaryRedirect,
			func(ctx context.Context, c *Client) error {
				_, err := c.Spawn(ctx, &ConnectRequest{Key: "doc-42", Auth: map[string]any{"secret": "body-secret"}})
				return err
			}, http.MethodPost},
		{"308 connect with its body, another host", "localhost", http.StatusPermanentRedirect,
			func(ctx context.Context, c *Client) error {
				_, err := c.Spawn(ctx, &ConnectRequest{Key: "doc-42", Auth: map[string]any{"secret": "body-secret"}})
				return err
			}, http.MethodPost},
		{"terminate", "127.0.0.1", http.StatusTemporaryRedirect,
			func(ctx context.Context, c *Client) error { return c.Terminate(ctx, "b1", nil) }, http.MethodPost},
		{"status stream", "127.0.0.1", http.StatusFound,
			func(ctx context.Context, c *Client) error {
				for _, err := range c.StatusStream(ctx, "b1") {
					return err
				}
				return nil
			}, http.MethodGet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newRecorder(t, true, func(w http.ResponseWriter, req *http.Request) {
				target := "http://" + tc.host + ":" + port + req.URL.Path + "?token=query-secret"
				http.Redirect(w, req, target, tc.code)
			})
			own := api.Client()
			c, err := New(Config{Account: "acme", Service: "editor", Token: testToken, APIURL: api.URL},
				WithHTTPClient(own), WithRetry(fastRetry), WithStreamPolicy(fastStream))
			require.NoError(t, err)

			err = tc.call(t.Context(), c)
			require.ErrorIs(t, err, ErrRedirected)
			var redirect *RedirectError
			require.ErrorAs(t, err, &redirect)
			assert.Equal(t, tc.code, redirect.StatusCode)
			assert.Equal(t, tc.method, redirect.Method)
			assert.Equal(t, "http://"+tc.host+":"+port+redirect.Path, redirect.Location, "no query in the error")
			assert.NotContains(t, err.Error(), "query-secret")
			assert.NotContains(t, err.Error(), testToken)

			assert.Empty(t, elsewhere.requests(), "the redirect's target receives nothing: no token, no body")
			assert.Len(t, api.requests(), 1, "a refused redirect is not retried")
			assert.Nil(t, own.CheckRedirect, "the caller's *http.Client is not changed")
		})
	}
}

// A caller's CheckRedirect is not consulted either: the copy the Client
// uses refuses every redirect, and the caller's client keeps its own.
func TestRedirectRefusedWhateverTheCallersPolicy(t *testing.T) {
	elsewhere := newRecorder(t, false, func(http.ResponseWriter, *http.Request) {})
	api := newRecorder(t, false, func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, elsewhere.URL+req.URL.Path, http.StatusFound)
	})
	followed := 0
	own := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { followed++; return nil }}
	c, err := New(Config{Account: "acme", Service: "editor", Token: testToken, APIURL: api.URL}, WithHTTPClient(own), WithRetry(fastRetry))
	require.NoError(t, err)
	_, err = c.Status(t.Context(), "b1")
	require.ErrorIs(t, err, ErrRedirected)
	assert.Zero(t, followed)
	assert.Empty(t, elsewhere.requests())
	assert.NotNil(t, own.CheckRedirect)

	// The caller's client still follows redirects for the caller's own use.
	resp, err := own.Get(api.URL + "/mine")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 1, followed)
	assert.Equal(t, []string{"GET /mine"}, elsewhere.requests())
}

func TestRedirectErrorMessage(t *testing.T) {
	u, err := url.Parse("http://user:pw@example.test:8080/v2/backend/b/status?token=x#frag")
	require.NoError(t, err)
	e := &RedirectError{Method: "GET", Path: "/v2/backend/b/status", StatusCode: 302, Location: redactLocation(u)}
	assert.Equal(t, "http://example.test:8080/v2/backend/b/status", e.Location)
	assert.True(t, errors.Is(e, ErrRedirected))
	assert.True(t, strings.HasPrefix(e.Error(), "jamsocket: GET /v2/backend/b/status: refused a 302 redirect to http://example.test:8080/"))
}
