// Package retry decides whether a failed HTTP attempt may be tried again and
// how long to wait first. The decision is a pure function of what the request
// is allowed to repeat (its Class) and what came back, so that it can be
// tested on its own and explained in a log line.
package retry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// Class says what a request may safely repeat.
type Class int

const (
	// Idempotent requests (reads, terminate, a connect by key) may be
	// repeated whenever the server may not have acted: on connection
	// errors, 429, 502, 503 and 504.
	Idempotent Class = iota
	// Create requests (a connect without a key) would make a second
	// resource if repeated after the server acted, so they are repeated
	// only when the server provably never saw them (the connection was
	// never made) or refused them without acting (429).
	Create
	// Classes is the number of classes, for tables indexed by Class.
	Classes
)

// Decide reports whether an attempt that ended with resp or err should be
// repeated, and why, in a few words for the log. Exactly one of resp and err
// is normally set.
func Decide(class Class, resp *http.Response, err error) (retry bool, why string) {
	if err != nil {
		if permanent(err) {
			return false, "the error will not go away by repeating"
		}
		if NeverSent(err) {
			return true, "connection failed before the request was sent"
		}
		if class == Create {
			return false, "the server may have acted on the request"
		}
		return true, "connection error"
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		return true, "rate limited"
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if class == Create {
			return false, "the server may have acted on the request"
		}
		return true, resp.Status
	}
	return false, ""
}

// NeverSent reports whether err proves the request never reached the server:
// the connection could not be made at all.
func NeverSent(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr)
}

// permanent reports transport errors that a repeat cannot cure: a
// certificate the client refuses.
func permanent(err error) bool {
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	return errors.As(err, &certErr) || errors.As(err, &unknownAuthority) || errors.As(err, &hostname)
}

// Backoff returns how long to wait before attempt number attempt (0 for the
// first retry). A Retry-After header on resp wins, capped at max; otherwise
// the wait is exponential from min, capped at max, with full jitter over its
// upper half so that many clients do not retry in step.
func Backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := RetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return clamp(d, 0, max)
		}
	}
	return Jitter(Exponential(min, max, attempt))
}

// Exponential returns min doubled attempt times, capped at max.
func Exponential(min, max time.Duration, attempt int) time.Duration {
	if min <= 0 {
		return 0
	}
	d := min
	for range attempt {
		d *= 2
		if d >= max || d <= 0 {
			return max
		}
	}
	return clamp(d, 0, max)
}

// Jitter returns a random duration in [d/2, d].
func Jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// RetryAfter parses a Retry-After header: delay seconds or an HTTP date
// (relative to now). It reports false when the header is absent or invalid.
func RetryAfter(header string, now time.Time) (time.Duration, bool) {
	if header == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(header); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(header)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

func clamp(d, lo, hi time.Duration) time.Duration {
	return min(max(d, lo), hi)
}
