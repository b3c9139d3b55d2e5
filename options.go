package jamsocket

import (
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option adjusts a Client made by New, FromEnv or NewPlane.
type Option func(*options)

type options struct {
	httpClient    *http.Client
	logger        *slog.Logger
	retry         RetryPolicy
	stream        StreamPolicy
	userAgent     string
	insecureHTTP  bool
	maxBodyBytes  int64
	maxEventBytes int
	// tracerProvider and meterProvider are the global ones when nil;
	// omitKey keeps a Spawn's key off its span (see telemetry.go).
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	omitKey        bool
}

// RetryPolicy bounds how requests are repeated after a failure that may be
// temporary. Which failures qualify depends on the request: see the package
// documentation. As in StreamPolicy, a zero field means its default
// (DefaultRetryPolicy) and a negative one turns the thing off.
type RetryPolicy struct {
	// MaxRetries is how many times a request may be repeated. Zero means
	// the default; a negative value never retries.
	MaxRetries int
	// MinWait is the first backoff; each further one doubles, with jitter.
	// Zero means the default; a negative MinWait retries at once (a
	// Retry-After is still honoured, up to MaxWait).
	MinWait time.Duration
	// MaxWait caps every wait, including one asked for by Retry-After.
	// Zero means the default; a negative MaxWait never waits at all.
	MaxWait time.Duration
}

// DefaultRetryPolicy returns the policy of a Client made without WithRetry:
// 4 retries, waits from 200ms up to 10s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 4, MinWait: 200 * time.Millisecond, MaxWait: 10 * time.Second}
}

// resolved fills the zero fields with the defaults and turns the negative
// ones into what they mean.
func (p RetryPolicy) resolved() RetryPolicy {
	d := DefaultRetryPolicy()
	p.MaxRetries = resolveCount(p.MaxRetries, d.MaxRetries)
	p.MinWait, p.MaxWait = resolveWaits(p.MinWait, p.MaxWait, d.MinWait, d.MaxWait)
	return p
}

// StreamPolicy governs the long-lived streams (StatusStream and the like).
// A zero field means its default (DefaultStreamPolicy).
type StreamPolicy struct {
	// IdleTimeout is how long a connection may send nothing at all, not
	// even a keep-alive, before it is closed and a new one opened. Zero or
	// negative means the default: there is always an idle timeout, since a
	// half-open connection would otherwise hang the stream for good.
	IdleTimeout time.Duration
	// MaxReconnects is how many failed connections in a row (a dial error,
	// a non-2xx answer, an end before any byte) are followed by another
	// try before the stream gives up with a *StreamError. A connection
	// that answered 200 and then idled or ended cleanly is not a failure,
	// however long it was quiet. Zero means the default; a negative value
	// gives up at the first failed connection.
	MaxReconnects int
	// MinWait and MaxWait bound the jittered exponential wait between
	// connections, which grows while they bring nothing new. Zero means
	// the default; a negative MinWait reconnects at once, a negative
	// MaxWait never waits at all. A Retry-After on a refusal is honoured,
	// up to MaxWait.
	MinWait, MaxWait time.Duration
}

// DefaultStreamPolicy returns the policy of a Client made without
// WithStreamPolicy: a 60s idle timeout, 5 failed reconnects, waits from
// 250ms up to 5s.
func DefaultStreamPolicy() StreamPolicy {
	return StreamPolicy{
		IdleTimeout:   60 * time.Second,
		MaxReconnects: 5,
		MinWait:       250 * time.Millisecond,
		MaxWait:       5 * time.Second,
	}
}

// resolved fills the zero fields with the defaults and turns the negative
// ones into what they mean.
func (p StreamPolicy) resolved() StreamPolicy {
	d := DefaultStreamPolicy()
	if p.IdleTimeout <= 0 {
		p.IdleTimeout = d.IdleTimeout
	}
	p.MaxReconnects = resolveCount(p.MaxReconnects, d.MaxReconnects)
	p.MinWait, p.MaxWait = resolveWaits(p.MinWait, p.MaxWait, d.MinWait, d.MaxWait)
	return p
}

// resolveCount applies the rule both policies share to a count of
// repeats: zero is the default, a negative count is none.
func resolveCount(n, def int) int {
	switch {
	case n == 0:
		return def
	case n < 0:
		return 0
	}
	return n
}

// resolveWaits applies the rule both policies share: zero is the default,
// a negative MinWait is no backoff, a negative MaxWait is no wait at all.
func resolveWaits(minWait, maxWait, defMin, defMax time.Duration) (time.Duration, time.Duration) {
	switch {
	case maxWait < 0:
		return 0, 0
	case maxWait == 0:
		maxWait = defMax
	}
	switch {
	case minWait < 0:
		minWait = 0
	case minWait == 0:
		minWait = min(defMin, maxWait)
	}
	return min(minWait, maxWait), maxWait
}

// WithHTTPClient sends requests through hc instead of the Client's own pooled
// HTTP client. hc.Timeout, if set, bounds each attempt of ordinary requests;
// streams ignore it (they use StreamPolicy.IdleTimeout instead).
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) { o.httpClient = hc }
}

// WithLogger sends the Client's logs (retries and reconnects, at debug
// level) to l. The default discards them. Logs never hold a token, a body or
// a header.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithRetry replaces DefaultRetryPolicy(); zero fields keep their defaults.
// RetryPolicy{MaxRetries: -1} turns retries off.
func WithRetry(p RetryPolicy) Option {
	return func(o *options) { o.retry = p }
}

// WithStreamPolicy replaces DefaultStreamPolicy(); zero fields keep their
// defaults.
func WithStreamPolicy(p StreamPolicy) Option {
	return func(o *options) { o.stream = p }
}

// WithUserAgent sets the User-Agent header, which defaults to
// "jamsocket-go/<version>".
func WithUserAgent(ua string) Option {
	return func(o *options) { o.userAgent = ua }
}

// WithInsecureHTTP allows sending the API token over plain http:// to a host
// that is not loopback. Without it New refuses such a configuration, because
// anyone on the path could read the token.
func WithInsecureHTTP() Option {
	return func(o *options) { o.insecureHTTP = true }
}
