package jamsocket

import (
	"log/slog"
	"net/http"
	"time"
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
}

// RetryPolicy bounds how requests are repeated after a failure that may be
// temporary. Which failures qualify depends on the request: see the package
// documentation.
type RetryPolicy struct {
	// MaxRetries is how many times a request may be repeated; 0 = never.
	MaxRetries int
	// MinWait is the first backoff; each further one doubles, with jitter.
	MinWait time.Duration
	// MaxWait caps every wait, including one asked for by Retry-After.
	MaxWait time.Duration
}

// DefaultRetryPolicy is the policy of a Client made without WithRetry.
var DefaultRetryPolicy = RetryPolicy{MaxRetries: 4, MinWait: 200 * time.Millisecond, MaxWait: 10 * time.Second}

// StreamPolicy governs the long-lived streams (StatusStream and the like).
type StreamPolicy struct {
	// IdleTimeout is how long a stream may send nothing at all, not even a
	// keep-alive, before it is treated as dropped and reconnected. Zero
	// means DefaultStreamPolicy's; there is always an idle timeout, since a
	// half-open connection would otherwise hang the stream for good.
	IdleTimeout time.Duration
	// MaxReconnects is how many reconnects in a row may fail to deliver
	// anything new before the stream gives up with a *StreamError. Any new
	// event resets the count and the backoff.
	MaxReconnects int
	// MinWait and MaxWait bound the jittered exponential wait between
	// reconnects.
	MinWait, MaxWait time.Duration
}

// DefaultStreamPolicy is the policy of a Client made without WithStreamPolicy.
var DefaultStreamPolicy = StreamPolicy{
	IdleTimeout:   60 * time.Second,
	MaxReconnects: 5,
	MinWait:       250 * time.Millisecond,
	MaxWait:       5 * time.Second,
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

// WithRetry replaces DefaultRetryPolicy.
func WithRetry(p RetryPolicy) Option {
	return func(o *options) { o.retry = p }
}

// WithStreamPolicy replaces DefaultStreamPolicy.
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
