package jamsocket

import (
	"context"
	"errors"
	"io"
	"iter"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testAPI   = "https://api.test"
	testToken = "tok-SECRET-3f9a1c77e2"
)

// fastRetry and fastStream keep the tests quick: the waits are tiny but the
// decisions are the real ones.
var (
	fastRetry  = RetryPolicy{MaxRetries: 3, MinWait: time.Microsecond, MaxWait: time.Millisecond}
	fastStream = StreamPolicy{IdleTimeout: 10 * time.Second, MaxReconnects: 3, MinWait: time.Microsecond, MaxWait: time.Millisecond}
)

// newTestClient returns a hosted-API Client whose requests go to mock.
func newTestClient(t *testing.T, mock *httpmock.MockTransport, opts ...Option) *Client {
	t.Helper()
	return newTestClientCfg(t, Config{Account: "acme", Token: testToken, Service: "editor", APIURL: testAPI}, mock, opts...)
}

func newTestClientCfg(t *testing.T, cfg Config, mock *httpmock.MockTransport, opts ...Option) *Client {
	t.Helper()
	all := append([]Option{WithHTTPClient(&http.Client{Transport: mock}), WithRetry(fastRetry), WithStreamPolicy(fastStream)}, opts...)
	c, err := New(cfg, all...)
	require.NoError(t, err)
	return c
}

// callerOf is the request path c's driver sends through, for tests that
// look at how New configured it.
func callerOf(t *testing.T, c *Client) *caller {
	t.Helper()
	switch d := c.driver.(type) {
	case *jamsocketDriver:
		return d.c
	case devDriver:
		return d.c
	case *planeDriver:
		return d.c
	}
	t.Fatalf("no caller in driver %T", c.driver)
	return nil
}

func calls(mock *httpmock.MockTransport, method, url string) int {
	return mock.GetCallCountInfo()[method+" "+url]
}

// jsonResponder answers with status and a JSON body.
func jsonResponder(status int, body string) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(status, body)
		r.Header.Set("Content-Type", "application/json")
		return r, nil
	}
}

// sequence answers with each responder in turn, then keeps using the last.
func sequence(responders ...httpmock.Responder) httpmock.Responder {
	var n atomic.Int64
	return func(req *http.Request) (*http.Response, error) {
		i := int(n.Add(1)) - 1
		return responders[min(i, len(responders)-1)](req)
	}
}

// liveBody is a streamed response body: it returns its data, then either
// ends (EOF, a dropped connection) or, if hold is set, blocks until closed,
// as a server that keeps the stream open does. It records Close.
type liveBody struct {
	r      *strings.Reader
	hold   bool
	closed chan struct{}
	once   sync.Once
}

func newLiveBody(data string, hold bool) *liveBody {
	return &liveBody{r: strings.NewReader(data), hold: hold, closed: make(chan struct{})}
}

var errBodyClosed = errors.New("read on closed body")

func (b *liveBody) Read(p []byte) (int, error) {
	select {
	case <-b.closed:
		return 0, errBodyClosed
	default:
	}
	if b.r.Len() > 0 {
		return b.r.Read(p)
	}
	if !b.hold {
		return 0, io.EOF
	}
	<-b.closed
	return 0, errBodyClosed
}

func (b *liveBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

func (b *liveBody) isClosed() bool {
	select {
	case <-b.closed:
		return true
	default:
		return false
	}
}

func sseResponse(body io.ReadCloser) *http.Response {
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", ContentLength: -1, Body: body,
		Header: http.Header{"Content-Type": {"text/event-stream"}, "Cache-Control": {"no-cache"}},
	}
}

// sseResponder answers with a fresh stream of data each call.
func sseResponder(data string, hold bool) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		return sseResponse(newLiveBody(data, hold)), nil
	}
}

// event is one Jamsocket status event (ISO time, no id).
func event(status BackendStatus) string {
	return `data: {"status":"` + string(status) + `","time":"2024-11-04T20:42:21.123Z"}` + "\n\n"
}

func events(statuses ...BackendStatus) string {
	var b strings.Builder
	for _, s := range statuses {
		b.WriteString(event(s))
	}
	return b.String()
}

// collect ranges over a status stream, failing the test if it does not end.
func collect(t *testing.T, seq iter.Seq2[*BackendState, error]) ([]BackendStatus, error) {
	t.Helper()
	var (
		got []BackendStatus
		err error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s, e := range seq {
			if e != nil {
				err = e
				return
			}
			got = append(got, s.Status)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end")
	}
	return got, err
}

// capture records every request the mock sees and answers with resp.
func capture(mock *httpmock.MockTransport, resp httpmock.Responder) *[]*http.Request {
	var (
		mu   sync.Mutex
		reqs []*http.Request
	)
	mock.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		reqs = append(reqs, req)
		mu.Unlock()
		return resp(req)
	})
	return &reqs
}

func TestNewValidation(t *testing.T) {
	t.Run("every missing field is named", func(t *testing.T) {
		_, err := New(Config{})
		require.Error(t, err)
		for _, f := range []string{"Account", "Token", "Service"} {
			assert.Contains(t, err.Error(), f)
		}
		_, err = New(Config{Account: "a", Token: testToken})
		require.ErrorContains(t, err, "Service")
		assert.NotContains(t, err.Error(), "Account")
	})
	t.Run("defaults to the hosted API", func(t *testing.T) {
		c, err := New(Config{Account: "a", Token: testToken, Service: "s"})
		require.NoError(t, err)
		assert.Equal(t, DefaultAPIURL, c.APIURL())
	})
	t.Run("dev mode needs nothing", func(t *testing.T) {
		c, err := New(Config{Dev: true})
		require.NoError(t, err)
		assert.Equal(t, "http://localhost:8080", c.APIURL())
		c, err = New(Config{Dev: true, DevPort: 9999})
		require.NoError(t, err)
		assert.Equal(t, "http://localhost:9999", c.APIURL())
		_, err = New(Config{Dev: true, DevPort: 70000})
		require.Error(t, err)
		_, err = New(Config{Dev: true, DevPort: -1})
		require.Error(t, err)
	})
	t.Run("refuses a token over plain http to a remote host", func(t *testing.T) {
		for _, u := range []string{"http://api.example.com", "http://10.0.0.8:8080", "http://localhost.evil.com"} {
			_, err := New(Config{Account: "a", Token: testToken, Service: "s", APIURL: u})
			require.Error(t, err, u)
			assert.Contains(t, err.Error(), "WithInsecureHTTP", u)
			assert.NotContains(t, err.Error(), testToken)
			_, err = New(Config{Account: "a", Token: testToken, Service: "s", APIURL: u}, WithInsecureHTTP())
			require.NoError(t, err, u)
		}
	})
	t.Run("allows plain http to loopback", func(t *testing.T) {
		for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "http://127.0.0.2", "http://app.localhost"} {
			_, err := New(Config{Account: "a", Token: testToken, Service: "s", APIURL: u})
			require.NoError(t, err, u)
		}
	})
	t.Run("refuses a URL that is not absolute http(s)", func(t *testing.T) {
		for _, u := range []string{"api.jamsocket.com", "ftp://api.example", "https://", "://x", "https://u:" + testToken + "@host:bad"} {
			_, err := New(Config{Account: "a", Token: testToken, Service: "s", APIURL: u})
			require.Error(t, err, u)
			assert.NotContains(t, err.Error(), testToken)
		}
	})
	t.Run("base URL trailing slash and path kept", func(t *testing.T) {
		c, err := New(Config{Account: "a", Token: testToken, Service: "s", APIURL: "https://proxy.example/jam/"})
		require.NoError(t, err)
		assert.Equal(t, "https://proxy.example/jam", c.APIURL())
	})
}

func TestHeaders(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock, WithUserAgent("my-app/1.0"))
	reqs := capture(mock, func(req *http.Request) (*http.Response, error) {
		switch {
		case strings.HasSuffix(req.URL.Path, "/connect"):
			return jsonResponder(200, connectBody)(req)
		case strings.HasSuffix(req.URL.Path, "/stream"):
			return sseResponse(newLiveBody(event(StatusTerminated), false)), nil
		case strings.HasSuffix(req.URL.Path, "/status"):
			return jsonResponder(200, `{"status":"ready","time":"2024-11-04T20:42:21.123Z"}`)(req)
		default:
			return jsonResponder(200, `{"status":"ok"}`)(req)
		}
	})
	ctx := context.Background()
	_, err := c.Spawn(ctx, nil)
	require.NoError(t, err)
	_, err = c.Status(ctx, "b1")
	require.NoError(t, err)
	_, err = collect(t, c.StatusStream(ctx, "b1"))
	require.NoError(t, err)
	require.NoError(t, c.Terminate(ctx, "b1", nil))

	require.Len(t, *reqs, 4)
	for _, req := range *reqs {
		assert.Equal(t, "my-app/1.0", req.Header.Get("User-Agent"))
		public := req.Method == http.MethodGet
		if public {
			assert.Empty(t, req.Header.Get("Authorization"), "%s %s is public: no token", req.Method, req.URL.Path)
		} else {
			assert.Equal(t, "Bearer "+testToken, req.Header.Get("Authorization"), "%s %s", req.Method, req.URL.Path)
			assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
		}
	}
	assert.Equal(t, "text/event-stream", (*reqs)[2].Header.Get("Accept"))
	assert.Equal(t, "application/json", (*reqs)[1].Header.Get("Accept"))
}

func TestDefaultUserAgent(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	reqs := capture(mock, jsonResponder(200, `{"status":"ready","time":"2024-11-04T20:42:21.123Z"}`))
	_, err := c.Status(context.Background(), "b1")
	require.NoError(t, err)
	assert.Equal(t, "jamsocket-go/"+Version, (*reqs)[0].Header.Get("User-Agent"))
}

func TestPathEscaping(t *testing.T) {
	for _, tc := range []struct {
		id, want string
	}{
		{"../x", "/v2/backend/..%2Fx/status"},
		{"..", "/v2/backend/%2E%2E/status"},
		{".", "/v2/backend/%2E/status"},
		{"a/b", "/v2/backend/a%2Fb/status"},
		{"a?b#c", "/v2/backend/a%3Fb%23c/status"},
		{"a b", "/v2/backend/a%20b/status"},
		{"knrv5", "/v2/backend/knrv5/status"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newTestClient(t, mock)
			reqs := capture(mock, jsonResponder(200, `{"status":"ready","time":"2024-11-04T20:42:21.123Z"}`))
			_, err := c.Status(context.Background(), tc.id)
			require.NoError(t, err)
			require.Len(t, *reqs, 1)
			got := (*reqs)[0].URL
			assert.Equal(t, tc.want, got.EscapedPath())
			assert.Empty(t, got.RawQuery)
			assert.Empty(t, got.Fragment)
			assert.Equal(t, "api.test", got.Host)
		})
	}
	t.Run("account, service and environment", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClientCfg(t, Config{Account: "a/..", Token: testToken, Service: "..", Environment: "x y", APIURL: testAPI}, mock)
		reqs := capture(mock, jsonResponder(200, connectBody))
		_, err := c.Spawn(context.Background(), nil)
		require.NoError(t, err)
		assert.Equal(t, "/v2/service/a%2F../%2E%2E/x%20y/connect", (*reqs)[0].URL.EscapedPath())
	})
	t.Run("empty backend id refused", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		ctx := context.Background()
		_, err := c.Status(ctx, "")
		require.Error(t, err)
		require.Error(t, c.Terminate(ctx, "", nil))
		_, err = collect(t, c.StatusStream(ctx, ""))
		require.Error(t, err)
		_, err = c.WaitReady(ctx, "")
		require.Error(t, err)
		assert.Zero(t, mock.GetTotalCallCount())
	})
}

func TestBasePathPrefix(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClientCfg(t, Config{Account: "a", Token: testToken, Service: "s", APIURL: "https://proxy.test/jam/"}, mock)
	mock.RegisterResponder("GET", "https://proxy.test/jam/v2/backend/b1/status", jsonResponder(200, `{"status":"ready","time":"2024-11-04T20:42:21.123Z"}`))
	_, err := c.Status(context.Background(), "b1")
	require.NoError(t, err)
}

func repeat(b byte, n int) string {
	return string(bytesRepeat(b, n))
}

func bytesRepeat(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// ioPipe is io.Pipe, whose reader is the streamed body.
func ioPipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }
