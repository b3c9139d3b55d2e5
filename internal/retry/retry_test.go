package retry

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func response(code int) *http.Response {
	return &http.Response{StatusCode: code, Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), Header: http.Header{}}
}

func urlErr(err error) error {
	return &url.Error{Op: "Post", URL: "https://api.example/v2/service/a/s/connect", Err: err}
}

func TestDecide(t *testing.T) {
	refused := urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
	dialTimeout := urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded})
	dns := urlErr(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x"}})
	reset := urlErr(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)})
	eof := urlErr(errors.New("EOF"))
	timeout := urlErr(context.DeadlineExceeded)
	badCert := urlErr(x509.UnknownAuthorityError{})

	for _, tc := range []struct {
		name  string
		class Class
		resp  *http.Response
		err   error
		want  bool
	}{
		{"idempotent 429", Idempotent, response(429), nil, true},
		{"idempotent 502", Idempotent, response(502), nil, true},
		{"idempotent 503", Idempotent, response(503), nil, true},
		{"idempotent 504", Idempotent, response(504), nil, true},
		{"idempotent 500", Idempotent, response(500), nil, false},
		{"idempotent 400", Idempotent, response(400), nil, false},
		{"idempotent 404", Idempotent, response(404), nil, false},
		{"idempotent 409", Idempotent, response(409), nil, false},
		{"idempotent 200", Idempotent, response(200), nil, false},
		{"idempotent refused", Idempotent, nil, refused, true},
		{"idempotent reset", Idempotent, nil, reset, true},
		{"idempotent EOF", Idempotent, nil, eof, true},
		{"idempotent timeout", Idempotent, nil, timeout, true},
		{"idempotent bad certificate", Idempotent, nil, badCert, false},
		{"create 429", Create, response(429), nil, true},
		{"create 502", Create, response(502), nil, false},
		{"create 503", Create, response(503), nil, false},
		{"create 504", Create, response(504), nil, false},
		{"create 500", Create, response(500), nil, false},
		{"create refused", Create, nil, refused, true},
		{"create bare ECONNREFUSED", Create, nil, urlErr(syscall.ECONNREFUSED), true},
		{"create dial timeout", Create, nil, dialTimeout, true},
		{"create DNS failure", Create, nil, dns, true},
		{"create reset after sending", Create, nil, reset, false},
		{"create EOF", Create, nil, eof, false},
		{"create timeout", Create, nil, timeout, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := Decide(tc.class, tc.resp, tc.err)
			assert.Equal(t, tc.want, got, why)
			if got {
				assert.NotEmpty(t, why)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"3", 3 * time.Second, true},
		{"120", 2 * time.Minute, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	} {
		got, ok := RetryAfter(tc.header, now)
		assert.Equal(t, tc.ok, ok, "%q", tc.header)
		assert.Equal(t, tc.want, got, "%q", tc.header)
	}
}

func TestBackoff(t *testing.T) {
	t.Run("Retry-After wins, capped at max", func(t *testing.T) {
		r := response(429)
		r.Header.Set("Retry-After", "2")
		assert.Equal(t, 2*time.Second, Backoff(time.Millisecond, time.Minute, 0, r))
		assert.Equal(t, 50*time.Millisecond, Backoff(time.Millisecond, 50*time.Millisecond, 0, r))
	})
	t.Run("exponential with jitter otherwise", func(t *testing.T) {
		for attempt := range 8 {
			want := Exponential(100*time.Millisecond, 2*time.Second, attempt)
			for range 50 {
				got := Backoff(100*time.Millisecond, 2*time.Second, attempt, response(503))
				assert.GreaterOrEqual(t, got, want/2)
				assert.LessOrEqual(t, got, want)
			}
		}
	})
}

func TestExponential(t *testing.T) {
	assert.Equal(t, 100*time.Millisecond, Exponential(100*time.Millisecond, time.Second, 0))
	assert.Equal(t, 200*time.Millisecond, Exponential(100*time.Millisecond, time.Second, 1))
	assert.Equal(t, 800*time.Millisecond, Exponential(100*time.Millisecond, time.Second, 3))
	assert.Equal(t, time.Second, Exponential(100*time.Millisecond, time.Second, 4))
	assert.Equal(t, time.Second, Exponential(100*time.Millisecond, time.Second, 1000))
	assert.Equal(t, time.Duration(0), Exponential(0, time.Second, 5))
	assert.Equal(t, 50*time.Millisecond, Exponential(100*time.Millisecond, 50*time.Millisecond, 0), "min above max is capped")
}

func TestJitter(t *testing.T) {
	assert.Equal(t, time.Duration(0), Jitter(0))
	assert.Equal(t, time.Duration(1), Jitter(1))
	seen := map[time.Duration]bool{}
	for range 200 {
		d := Jitter(time.Second)
		assert.GreaterOrEqual(t, d, 500*time.Millisecond)
		assert.LessOrEqual(t, d, time.Second)
		seen[d] = true
	}
	assert.Greater(t, len(seen), 1, "jitter varies")
}
