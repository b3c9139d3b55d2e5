package jamsocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/jamsocket-go/jamsocket/internal/retry"
	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/types"
)

// caller is the one request path every driver sends through: request
// building, retries (go-retryablehttp, with this package's decision),
// error mapping for both error shapes, redaction, logging, and the opening
// of event streams.
type caller struct {
	token  string
	apiURL string // the base URL, without a trailing slash
	bearer string // the Authorization header's value

	// retrying holds one retrying client per retry.Class, indexed by it.
	retrying [retry.Classes]*retryablehttp.Client
	stream   *http.Client // long-lived streams, without a whole-request timeout
	logger   *slog.Logger
	opts     options
	tel      *telemetry
}

// newCaller builds the request path to rawURL, sending token where a
// request asks for it.
func newCaller(rawURL, token string, opts []Option) (*caller, error) {
	o := options{
		retry:         DefaultRetryPolicy(),
		stream:        DefaultStreamPolicy(),
		userAgent:     "jamsocket-go/" + Version,
		logger:        slog.New(slog.DiscardHandler),
		maxBodyBytes:  10 << 20,
		maxEventBytes: 1 << 20,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	o.retry, o.stream = o.retry.resolved(), o.stream.resolved()
	base, err := parseBaseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if base.Scheme == "http" && token != "" && token != devPlaceholder && !o.insecureHTTP && !isLoopback(base.Hostname()) {
		return nil, fmt.Errorf("jamsocket: refusing to send the API token over plain http to %s; use https, or WithInsecureHTTP()", base.Host)
	}
	c := &caller{token: token, apiURL: base.String(), bearer: "Bearer " + token, logger: o.logger, opts: o,
		tel: newTelemetry(o, base)}
	hc := o.httpClient
	if hc == nil {
		hc = &http.Client{Transport: defaultTransport(), Timeout: 30 * time.Second}
	}
	// Both clients are copies: the caller's own *http.Client is never
	// changed. Neither follows a redirect (see refuseRedirect).
	streamClient := *hc
	streamClient.Timeout = 0
	streamClient.CheckRedirect = refuseRedirect
	c.stream = &streamClient
	// retryablehttp closes the transport's idle connections whenever a
	// request fails for good or is cancelled, emptying the pool every other
	// caller shares; it gets a client whose transport hides that method.
	// That transport also applies hc.Timeout to each attempt itself: given
	// a transport it does not know, http.Client would enforce the timeout
	// with a goroutine and a timer per request.
	retryClient := *hc
	retryClient.Transport = attemptTransport{rt: transportOf(hc), timeout: hc.Timeout}
	retryClient.Timeout = 0
	retryClient.CheckRedirect = refuseRedirect
	// One retrying client per class, each with its own decision: the class
	// never travels through the request's context.
	for class := range c.retrying {
		c.retrying[class] = &retryablehttp.Client{
			HTTPClient:     &retryClient,
			RetryMax:       o.retry.MaxRetries,
			RetryWaitMin:   o.retry.MinWait,
			RetryWaitMax:   o.retry.MaxWait,
			CheckRetry:     c.checkRetry(retry.Class(class)),
			Backoff:        retry.Backoff,
			ErrorHandler:   retryablehttp.PassthroughErrorHandler,
			RequestLogHook: c.logAttempt,
		}
	}
	return c, nil
}

// refuseRedirect is every Client's CheckRedirect: the APIs never redirect,
// and following one would resend the Authorization header (Go keeps it on a
// redirect to the same host, even from https to plain http) and a 307's
// body to wherever the answer points.
func refuseRedirect(req *http.Request, _ []*http.Request) error {
	e := &RedirectError{Location: redactLocation(req.URL)}
	if req.Response != nil {
		e.StatusCode = req.Response.StatusCode
	}
	return e
}

// redactLocation is a redirect's target without its user part, query and
// fragment, which may carry secrets.
func redactLocation(u *url.URL) string {
	shown := *u
	shown.User, shown.RawQuery, shown.ForceQuery, shown.Fragment, shown.RawFragment = nil, "", false, "", ""
	return shown.String()
}

// request is one API call: everything do needs to send it and classify its
// failures.
type request struct {
	method string
	// path is the escaped path below the base URL; build it with pathOf.
	path string
	body any
	// auth sends the bearer token. Public endpoints (status) go without.
	auth bool
	// class says what the request may safely repeat.
	class retry.Class
}

// pathOf joins escaped segments into a path: a segment can never add a
// slash or a dot-dot of its own.
func pathOf(segments ...string) string {
	n := 0
	for _, s := range segments {
		n += 1 + len(s) // escaping may add more; most segments need none
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range segments {
		b.WriteByte('/')
		switch s {
		case ".", "..":
			// PathEscape leaves dots alone, and a literal dot segment is
			// removed by URL normalisation (RFC 3986 5.2.4) in proxies and
			// servers, climbing out of the intended path.
			b.WriteString(strings.Repeat("%2E", len(s)))
		default:
			b.WriteString(url.PathEscape(s))
		}
	}
	return b.String()
}

// do sends r and decodes a 2xx JSON answer into out (unless out is nil).
// Every API call goes through here.
func (c *caller) do(ctx context.Context, r request, out any) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, readErr := c.readBody(resp)
	if readErr != nil && ctx.Err() != nil {
		return c.transportError(ctx, r, readErr)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The status alone makes the error; a body too large or cut off
		// only loses some of its message.
		return c.apiError(r, resp, body)
	}
	switch {
	case errors.Is(readErr, errBodyTooLarge):
		return &DecodeError{Method: r.method, Path: r.path, StatusCode: resp.StatusCode, Err: readErr}
	case readErr != nil:
		return c.transportError(ctx, r, readErr)
	case out == nil:
		return nil
	}
	if err := decodeBody(body, out); err != nil {
		return &DecodeError{Method: r.method, Path: r.path, StatusCode: resp.StatusCode, Err: err}
	}
	return nil
}

// decodeBody decodes a whole JSON body into out. The two answers of the
// hot paths (a connect's, a status) are handed straight to their
// UnmarshalJSON, which checks the whole body itself: json.Unmarshal would
// scan the body, then hand it to UnmarshalJSON to scan again.
func decodeBody(body []byte, out any) error {
	switch out := out.(type) {
	case *ConnectResponse:
		return out.UnmarshalJSON(body)
	case *BackendState:
		return out.UnmarshalJSON(body)
	}
	return json.Unmarshal(body, out)
}

// send makes the HTTP exchange with retries; the caller closes the body.
func (c *caller) send(ctx context.Context, r request) (*http.Response, error) {
	var body any
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("jamsocket: encoding %s %s: %w", r.method, r.path, err)
		}
		body = b
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, c.apiURL+r.path, body)
	if err != nil {
		return nil, fmt.Errorf("jamsocket: building %s %s: %w", r.method, r.path, err)
	}
	contentType := ""
	if body != nil {
		contentType = "application/json"
	}
	c.setHeaders(ctx, req.Header, r.auth, "application/json", contentType)
	resp, err := c.retrying[r.class].Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return nil, c.transportError(ctx, r, err)
	}
	return resp, nil
}

// setHeaders sets the headers of every request, and Content-Type unless
// contentType is empty. Every request carries the trace context of ctx.
func (c *caller) setHeaders(ctx context.Context, h http.Header, auth bool, accept, contentType string) {
	// One array holds the values, each slice capped so that an append
	// copies: one allocation for all the headers instead of one each.
	v := [...]string{c.opts.userAgent, accept, c.bearer, contentType}
	h["User-Agent"] = v[0:1:1]
	h["Accept"] = v[1:2:2]
	if auth && c.token != "" {
		h["Authorization"] = v[2:3:3]
	}
	if contentType != "" {
		h["Content-Type"] = v[3:4:4]
	}
	injectTraceContext(ctx, h)
}

// errBodyTooLarge is the cause of a response body over the Client's limit.
var errBodyTooLarge = errors.New("response body too large")

// readBody reads at most maxBodyBytes, so a misbehaving server cannot exhaust
// memory. On an error it still returns what it read, which is enough to
// describe a failed request.
func (c *caller) readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= c.opts.maxBodyBytes && n <= 64<<10 {
		// The size is announced and small: one buffer of exactly that
		// size, where ReadAll would grow one. (A larger announced size is
		// not trusted with an allocation before its bytes arrive.)
		body := make([]byte, n)
		read, err := io.ReadFull(resp.Body, body)
		return body[:read], err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.maxBodyBytes+1))
	if err != nil {
		return body, err
	}
	if int64(len(body)) > c.opts.maxBodyBytes {
		return body[:c.opts.maxBodyBytes], fmt.Errorf("%w: larger than %d bytes", errBodyTooLarge, c.opts.maxBodyBytes)
	}
	return body, nil
}

// transportError wraps a failure to exchange; the context's error wins, so
// that callers can match context.Canceled and DeadlineExceeded. A refused
// redirect is returned as itself, without the *url.Error around it, which
// quotes the whole Location.
func (c *caller) transportError(ctx context.Context, r request, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("jamsocket: %s %s: %w", r.method, r.path, ctxErr)
	}
	if redirect, ok := errors.AsType[*RedirectError](err); ok {
		redirect.Method, redirect.Path = r.method, r.path
		return redirect
	}
	return fmt.Errorf("jamsocket: %s %s: %w", r.method, r.path, c.scrub(err))
}

// maxErrorMessage bounds APIError.Message, which may quote a whole body.
const maxErrorMessage = 512

// apiError builds an *APIError from a non-2xx response of either server.
func (c *caller) apiError(r request, resp *http.Response, body []byte) error {
	e := &APIError{StatusCode: resp.StatusCode, Method: r.method, Path: r.path}
	if d, ok := retry.RetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = d
	}
	var shapes struct {
		Error   json.RawMessage `json:"error"`
		ID      string          `json:"id"`
		Kind    string          `json:"kind"`
		Message string          `json:"message"`
	}
	var detail wire.ErrorDetail
	switch {
	case json.Unmarshal(body, &shapes) != nil:
		e.Message = strings.TrimSpace(string(body))
	case len(shapes.Error) > 0 && json.Unmarshal(shapes.Error, &detail) == nil:
		e.Code, e.Message, e.RequestID = detail.Code, detail.Message, detail.ID
	case len(shapes.Error) > 0:
		// {"error": "text"}, seen on some proxies.
		_ = json.Unmarshal(shapes.Error, &e.Message)
	default:
		e.Code, e.Message, e.RequestID = shapes.Kind, shapes.Message, shapes.ID
	}
	if len(e.Message) > maxErrorMessage {
		// Cut on a rune boundary, so the message stays valid UTF-8.
		cut := maxErrorMessage
		for cut > 0 && !utf8.RuneStart(e.Message[cut]) {
			cut--
		}
		e.Message = e.Message[:cut] + "…"
	}
	e.Message = c.scrubString(e.Message)
	return e
}

// scrub keeps the token out of an error that might quote a request.
func (c *caller) scrub(err error) error {
	if c.token == "" || c.token == devPlaceholder || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return scrubbedError{msg: c.scrubString(err.Error()), err: err}
}

func (c *caller) scrubString(s string) string {
	if len(c.token) < 4 {
		return s
	}
	return strings.ReplaceAll(s, c.token, types.Redacted)
}

// scrubbedError shows a redacted message but still unwraps to the cause.
type scrubbedError struct {
	msg string
	err error
}

func (e scrubbedError) Error() string { return e.msg }
func (e scrubbedError) Unwrap() error { return e.err }

// checkRetry returns the retry decision for retryablehttp for one class of
// requests; a done context always stops.
func (c *caller) checkRetry(class retry.Class) retryablehttp.CheckRetry {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return false, ctxErr
		}
		if errors.Is(err, ErrRedirected) {
			return false, nil
		}
		again, why := retry.Decide(class, resp, err)
		if again {
			attrs := []slog.Attr{slog.String("why", why)}
			status := 0
			if resp != nil {
				if req := resp.Request; req != nil {
					attrs = append(attrs, slog.String("method", req.Method), slog.String("path", req.URL.Path))
				}
				attrs = append(attrs, slog.Int("status", resp.StatusCode))
				status = resp.StatusCode
			}
			c.logger.LogAttrs(ctx, slog.LevelDebug, "jamsocket: will retry", attrs...)
			c.tel.noteRetry(ctx, why, status)
		}
		return again, nil
	}
}

// logAttempt logs and traces each repeat of a request (not the first
// attempt).
func (c *caller) logAttempt(_ retryablehttp.Logger, req *http.Request, attempt int) {
	if attempt == 0 {
		return
	}
	c.tel.retrying(req.Context(), req.Method, attempt)
	c.logger.LogAttrs(req.Context(), slog.LevelDebug, "jamsocket: retrying",
		slog.String("method", req.Method), slog.String("path", req.URL.Path), slog.Int("attempt", attempt))
}

// attemptTransport bounds each attempt by timeout (if positive), from
// sending the request to closing the response body. It has no
// CloseIdleConnections, so that http.Client.CloseIdleConnections leaves the
// pool alone.
type attemptTransport struct {
	rt      http.RoundTripper
	timeout time.Duration
}

// RoundTrip sends req with the attempt's deadline.
func (t attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.timeout <= 0 {
		return t.rt.RoundTrip(req)
	}
	if d, ok := req.Context().Deadline(); ok && time.Until(d) <= t.timeout {
		// The caller's deadline comes first: one of our own would never
		// fire, and costs a context, a timer and a body wrapper.
		return t.rt.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.rt.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends an attempt's deadline when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func transportOf(hc *http.Client) http.RoundTripper {
	if hc.Transport == nil {
		return http.DefaultTransport
	}
	return hc.Transport
}

// defaultTransport pools enough idle connections per host for many
// concurrent callers; http.DefaultTransport keeps only two.
func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	return t
}
