// Package retry decides whether a failed HTTP attempt may be tried again and
// how long to wait first. The decision is a pure function of what the request
// is allowed to repeat (its Class) and what came back, so that it can be
// tested on its own and explained in a log line.
package retry

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/wire"
)

// Class says what a request may safely repeat.
type Class int

const (
	// Idempotent requests (reads, terminate, a connect by key) may be
	// repeated whenever the server may not have acted: on connection
	// errors, 429, 502, 503 and 504, and on Plane's 500s that say a
	// repeat may succeed (see planeRetryable).
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
// is normally set. To tell Plane's 500s apart, Decide may read the start of
// an Idempotent request's 500 body; it puts back what it read.
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
	case http.StatusInternalServerError:
		if class == Create {
			return false, "the server may have acted on the request"
		}
		if kind := planeKind(resp); planeRetryable(kind) {
			return true, "Plane's " + kind
		}
	}
	return false, ""
}

// planeRetryable reports the kinds of Plane's 500 answers to a connect that
// a repeat may cure, since Plane acted on nothing: no drone was free
// (NoDroneAvailable), or another connect took the key at the same moment
// (FailedToAcquireKey, which Plane's own code calls retryable). Only a
// connect with a key is repeated after them: it returns the key's holder,
// so a repeat never makes a second backend.
func planeRetryable(kind string) bool {
	return kind == wire.PlaneKindNoDroneAvailable || kind == wire.PlaneKindFailedToAcquireKey
}

// maxKindPeek bounds what planeKind reads of a body: Plane's error bodies
// are a hundred bytes or so.
const maxKindPeek = 4 << 10

// planeKind returns the kind of a Plane error body ({"id", "kind",
// "message"}), or "" for any other body. It reads at most maxKindPeek bytes
// and puts them back in front of the rest of the body.
func planeKind(resp *http.Response) string {
	if resp.Body == nil || resp.Body == http.NoBody || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return ""
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxKindPeek))
	resp.Body = peekedBody{Reader: io.MultiReader(bytes.NewReader(head), resp.Body), Closer: resp.Body}
	if err != nil {
		return ""
	}
	var body wire.PlaneError
	if json.Unmarshal(head, &body) != nil {
		return ""
	}
	return body.Kind
}

// peekedBody is a body whose start was read and put back.
type peekedBody struct {
	io.Reader
	io.Closer
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
// first retry). A Retry-After header on resp wins, capped at max (however
// large the header's number or far its date); otherwise
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

// MaxRetryAfter is the longest wait RetryAfter returns: the longest
// time.Duration, about 292 years.
const MaxRetryAfter = time.Duration(math.MaxInt64)

// RetryAfter parses a Retry-After header: delay seconds (digits only) or an
// HTTP date (relative to now). The wait is never negative (a date in the
// past is 0) and saturates at MaxRetryAfter: a number of seconds too large
// for a Duration, even too large for 64 bits, is checked before it is
// multiplied, so it cannot wrap around. It reports false when the header is
// absent or invalid.
func RetryAfter(header string, now time.Time) (time.Duration, bool) {
	header = strings.TrimSpace(header)
	if header == "" {
		return 0, false
	}
	if isDigits(header) {
		secs, err := strconv.ParseUint(header, 10, 64)
		if err != nil || secs > uint64(MaxRetryAfter/time.Second) {
			// Only digits, so the one error is a number beyond 64 bits.
			return MaxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(header)
	if err != nil {
		return 0, false
	}
	// Time.Sub saturates at the Duration's bounds.
	return max(at.Sub(now), 0), true
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func clamp(d, lo, hi time.Duration) time.Duration {
	return min(max(d, lo), hi)
}
