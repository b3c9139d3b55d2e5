package retry

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func TestDecidePlaneKinds(t *testing.T) {
	planeError := func(status int, contentType, body string) *http.Response {
		r := response(status)
		r.Header.Set("Content-Type", contentType)
		r.Body = io.NopCloser(strings.NewReader(body))
		return r
	}
	const json = "application/json"
	for _, tc := range []struct {
		name  string
		class Class
		resp  *http.Response
		want  bool
	}{
		{"keyed connect, no drone", Idempotent, planeError(500, json, `{"id":"e1","kind":"NoDroneAvailable","message":"No active drone available."}`), true},
		{"keyed connect, key race", Idempotent, planeError(500, json, `{"id":"e2","kind":"FailedToAcquireKey","message":"Failed to acquire lock."}`), true},
		{"keyless connect, no drone", Create, planeError(500, json, `{"id":"e3","kind":"NoDroneAvailable","message":"No active drone available."}`), false},
		{"keyless connect, key race", Create, planeError(500, json, `{"id":"e4","kind":"FailedToAcquireKey","message":"Failed to acquire lock."}`), false},
		{"other kind", Idempotent, planeError(500, json, `{"id":"e5","kind":"Other","message":"Internal error."}`), false},
		{"unhealthy holder", Idempotent, planeError(500, json, `{"id":"e6","kind":"KeyHeldUnhealthy","message":"Lock is held but unhealthy."}`), false},
		{"the kind in text, not JSON", Idempotent, planeError(500, "text/plain", `{"kind":"NoDroneAvailable"}`), false},
		{"Jamsocket's shape", Idempotent, planeError(500, json, `{"error":{"code":"NoDroneAvailable","message":"x"}}`), false},
		{"not JSON", Idempotent, planeError(500, json, `NoDroneAvailable`), false},
		{"409 with a retryable kind", Idempotent, planeError(409, json, `{"id":"e7","kind":"FailedToAcquireKey","message":"x"}`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before []byte
			if tc.resp.Body != nil {
				before, _ = io.ReadAll(tc.resp.Body)
				tc.resp.Body = io.NopCloser(bytes.NewReader(before))
			}
			got, why := Decide(tc.class, tc.resp, nil)
			assert.Equal(t, tc.want, got, why)
			if got {
				assert.Contains(t, why, "Plane's ")
			}
			after, err := io.ReadAll(tc.resp.Body)
			require.NoError(t, err)
			assert.Equal(t, string(before), string(after), "the body is still whole for the caller")
		})
	}
	t.Run("a body larger than the peek is put back whole", func(t *testing.T) {
		big := `{"kind":"Other","message":"` + strings.Repeat("x", 3*maxKindPeek) + `"}`
		r := planeError(500, json, big)
		got, _ := Decide(Idempotent, r, nil)
		assert.False(t, got)
		after, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		assert.Equal(t, big, string(after))
	})
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
		{" 7 ", 7 * time.Second, true},
		{"-1", 0, false},
		{"+3", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
		{"0x10", 0, false},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		// The largest number of whole seconds a Duration holds, and beyond:
		// saturated, never wrapped around to a short or negative wait.
		{"9223372036", 9223372036 * time.Second, true},
		{"9223372037", MaxRetryAfter, true},
		{"10000000000", MaxRetryAfter, true},
		{"18446744074", MaxRetryAfter, true},
		{"18446744073709551616", MaxRetryAfter, true},
		{"99999999999999999999999999999", MaxRetryAfter, true},
		{"Fri, 31 Dec 9999 23:59:59 GMT", MaxRetryAfter, true},
		{"Mon, 01 Jan 0001 00:00:00 GMT", 0, true},
	} {
		got, ok := RetryAfter(tc.header, now)
		assert.Equal(t, tc.ok, ok, "%q", tc.header)
		assert.Equal(t, tc.want, got, "%q", tc.header)
	}
}

// A huge Retry-After waits MaxWait, not a wrapped-around 0.29 s or a
// negative duration.
func TestBackoffHugeRetryAfter(t *testing.T) {
	const maxWait = 10 * time.Second
	for _, header := range []string{
		"18446744074", "10000000000", "9223372037", "18446744073709551616",
		"99999999999999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT",
		time.Now().Add(100 * 365 * 24 * time.Hour).UTC().Format(http.TimeFormat),
	} {
		r := response(429)
		r.Header.Set("Retry-After", header)
		assert.Equal(t, maxWait, Backoff(time.Millisecond, maxWait, 0, r), "%q", header)
		assert.Equal(t, time.Duration(0), Backoff(0, 0, 0, r), "%q with no wait allowed", header)
	}
}

// Whatever the header, the wait is never negative, an invalid header is 0,
// and Backoff stays within [0, max].
func FuzzRetryAfter(f *testing.F) {
	for _, seed := range []string{"", "0", "3", "-1", "18446744074", "10000000000", "99999999999999999999",
		"Fri, 31 Dec 9999 23:59:59 GMT", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", " 5"} {
		f.Add(seed)
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, header string) {
		d, ok := RetryAfter(header, now)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("RetryAfter(%q) = %v, %t", header, d, ok)
		}
		r := response(429)
		r.Header["Retry-After"] = []string{header}
		if b := Backoff(time.Millisecond, time.Second, 0, r); b < 0 || b > time.Second {
			t.Fatalf("Backoff with Retry-After %q = %v", header, b)
		}
	})
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
