package jamsocket

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/jamsocket-go/jamsocket/internal/otelattr"
)

// instrumentationName names the SDK's tracer and meter.
const instrumentationName = "github.com/jamsocket-go/jamsocket"

// The attributes this package names itself; the others are OpenTelemetry's
// semantic conventions (server.address, server.port, error.type,
// http.request.method, http.response.status_code). None of them ever holds a
// token, a connection URL, a secret token, user data or auth.
const (
	attrOperation     = attribute.Key("jamsocket.operation")
	attrOutcome       = otelattr.Outcome
	attrTarget        = attribute.Key("jamsocket.target")
	attrBackendID     = otelattr.BackendID
	attrKey           = attribute.Key("jamsocket.key")
	attrSpawned       = otelattr.Spawned
	attrStatus        = otelattr.Status
	attrStatusTime    = attribute.Key("jamsocket.status.time")
	attrHard          = attribute.Key("jamsocket.terminate.hard")
	attrService       = attribute.Key("jamsocket.service")
	attrReason        = attribute.Key("jamsocket.reason")
	attrAttempt       = attribute.Key("jamsocket.attempt")
	attrWait          = attribute.Key("jamsocket.wait")
	attrFailures      = attribute.Key("jamsocket.failures")
	attrStreamPath    = attribute.Key("url.path")
	eventRetry        = "jamsocket.retry"
	eventReconnect    = "jamsocket.reconnect"
	eventStatus       = otelattr.EventStatus
	outcomeOK         = otelattr.OutcomeOK
	outcomeError      = otelattr.OutcomeError
	outcomeCanceled   = otelattr.OutcomeCanceled
	outcomeTerminated = otelattr.OutcomeTerminated
)

// WithTracerProvider sends the Client's spans to tp instead of the global
// tracer provider (otel.GetTracerProvider()).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracerProvider = tp }
}

// WithMeterProvider sends the Client's metrics to mp instead of the global
// meter provider (otel.GetMeterProvider()).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.meterProvider = mp }
}

// WithTelemetryKey says whether a Spawn's key is recorded on its span as
// jamsocket.key; it is by default. Turn it off when keys carry what must not
// leave the process (a user's e-mail address, say).
func WithTelemetryKey(record bool) Option {
	return func(o *options) { o.omitKey = !record }
}

// telemetry is a Client's OpenTelemetry instruments. Made from the global
// providers it costs next to nothing until a provider is installed: spans
// are non-recording, and no attribute is built for an instrument or span
// that would drop it.
type telemetry struct {
	tracer       trace.Tracer
	duration     metric.Float64Histogram
	retries      metric.Int64Counter
	reconnects   metric.Int64Counter
	spawnToReady metric.Float64Histogram
	// server is server.address and server.port of the API's base URL
	// (which holds no user part).
	server  []attribute.KeyValue
	omitKey bool
	// clientSpan and internalSpan are the start options of the two kinds
	// of operation span, made once so that starting a span allocates none.
	clientSpan, internalSpan []trace.SpanStartOption
}

func newTelemetry(o options, base *url.URL) *telemetry {
	tp, mp := o.tracerProvider, o.meterProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	t := &telemetry{
		tracer:  tp.Tracer(instrumentationName, trace.WithInstrumentationVersion(Version)),
		omitKey: o.omitKey,
		server:  []attribute.KeyValue{semconv.ServerAddress(base.Hostname())},

		clientSpan:   []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)},
		internalSpan: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)},
	}
	if port, err := strconv.Atoi(base.Port()); err == nil {
		t.server = append(t.server, semconv.ServerPort(port))
	}
	meter := mp.Meter(instrumentationName, metric.WithInstrumentationVersion(Version))
	// An instrument that fails to build is a no-op one, and the error is
	// the provider's to report (otel.Handle); the Client works without it.
	t.duration, _ = meter.Float64Histogram("jamsocket.client.operation.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of the Client's operations."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
	t.retries, _ = meter.Int64Counter("jamsocket.client.retries",
		metric.WithUnit("{retry}"), metric.WithDescription("Requests repeated after a failure that may be temporary."))
	t.reconnects, _ = meter.Int64Counter("jamsocket.client.reconnects",
		metric.WithUnit("{reconnect}"), metric.WithDescription("Stream connections reopened."))
	t.spawnToReady, _ = meter.Float64Histogram("jamsocket.client.spawn_to_ready.duration",
		metric.WithUnit("s"), metric.WithDescription("Time from a backend's scheduled status to its ready status, as WaitReady saw them."),
		metric.WithExplicitBucketBoundaries(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
	return t
}

// operation is one traced call of a Client method.
type operation struct {
	t      *telemetry
	name   string
	target string
	span   trace.Span
	start  time.Time
}

// begin starts the span of one Client operation; spanName is
// "jamsocket.<method>".
func (c *Client) begin(ctx context.Context, spanName string, kind trace.SpanKind) (context.Context, operation) {
	t := c.tel
	opts := t.clientSpan
	if kind == trace.SpanKindInternal {
		opts = t.internalSpan
	}
	ctx, span := t.tracer.Start(ctx, spanName, opts...)
	op := operation{t: t, name: strings.TrimPrefix(spanName, "jamsocket."), target: c.driver.target(), span: span, start: time.Now()}
	recording := span.IsRecording()
	if recording {
		span.SetAttributes(attrTarget.String(op.target))
		span.SetAttributes(t.server...)
	}
	if recording || t.retries.Enabled(ctx) {
		// The retry hooks of the request path keep their notes here.
		ctx = context.WithValue(ctx, retryNoteKey{}, &retryNote{})
	}
	return ctx, op
}

// The setters add an attribute to the operation's span if it records; the
// attribute is not even built otherwise.

// setKey records a Spawn's key, unless the Client was told not to.
func (op operation) setKey(key string) {
	if key != "" && !op.t.omitKey && op.span.IsRecording() {
		op.span.SetAttributes(attrKey.String(key))
	}
}

func (op operation) setBackendID(id string) {
	if op.span.IsRecording() {
		op.span.SetAttributes(attrBackendID.String(id))
	}
}

func (op operation) setService(name string) {
	if name != "" && op.span.IsRecording() {
		op.span.SetAttributes(attrService.String(name))
	}
}

func (op operation) setHard(hard bool) {
	if op.span.IsRecording() {
		op.span.SetAttributes(attrHard.Bool(hard))
	}
}

// end ends the span with err's outcome and records the duration.
func (op operation) end(ctx context.Context, err error) {
	outcome, kind := outcomeOf(err)
	if op.span.IsRecording() {
		op.span.SetAttributes(attrOutcome.String(outcome))
		if err != nil {
			// The error's message is not recorded: it may quote what a
			// server answered. Its kind says what went wrong.
			op.span.SetAttributes(semconv.ErrorTypeKey.String(kind))
			op.span.SetStatus(codes.Error, kind)
		}
	}
	op.span.End()
	if op.t.duration.Enabled(ctx) {
		attrs := []attribute.KeyValue{attrOperation.String(op.name), attrOutcome.String(outcome), attrTarget.String(op.target)}
		if err != nil {
			attrs = append(attrs, semconv.ErrorTypeKey.String(kind))
		}
		op.t.duration.Record(ctx, time.Since(op.start).Seconds(), metric.WithAttributes(attrs...))
	}
}

// endState ends an operation that answers a backend state.
func (op operation) endState(ctx context.Context, state *BackendState, err error) {
	if state != nil && op.span.IsRecording() {
		op.span.SetAttributes(attrStatus.String(string(state.Status)))
	}
	op.end(ctx, err)
}

// endSpawn ends a Spawn with what its answer says that is not a secret:
// the backend's id, whether it was spawned, and its status.
func (op operation) endSpawn(ctx context.Context, resp *ConnectResponse, err error) {
	if resp != nil && op.span.IsRecording() {
		op.span.SetAttributes(attrBackendID.String(resp.BackendID), attrSpawned.Bool(resp.Spawned),
			attrStatus.String(string(resp.Status)))
	}
	op.end(ctx, err)
}

// outcomeOf says how an operation ended, and, if it failed, the kind of
// error (error.type): low-cardinality and never quoting a message.
func outcomeOf(err error) (outcome, kind string) {
	switch {
	case err == nil:
		return outcomeOK, ""
	case errors.Is(err, context.Canceled):
		return outcomeCanceled, "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return outcomeCanceled, "deadline_exceeded"
	}
	var (
		apiErr        *APIError
		terminatedErr *BackendTerminatedError
		streamErr     *StreamError
		decodeErr     *DecodeError
		redirectErr   *RedirectError
		netErr        net.Error
	)
	switch {
	case errors.As(err, &terminatedErr):
		return outcomeTerminated, "backend_terminated"
	case errors.As(err, &apiErr):
		return outcomeError, strconv.Itoa(apiErr.StatusCode)
	case errors.Is(err, ErrEventTooLarge):
		return outcomeError, "event_too_large"
	case errors.As(err, &decodeErr):
		return outcomeError, "decode"
	case errors.As(err, &redirectErr):
		return outcomeError, "redirect"
	case errors.Is(err, errors.ErrUnsupported):
		return outcomeError, "unsupported"
	case errors.As(err, &streamErr):
		return outcomeError, "stream"
	case errors.As(err, &netErr):
		return outcomeError, "transport"
	}
	return outcomeError, semconv.ErrorTypeOther.Value.AsString()
}

// retryNoteKey keys the retryNote of a recording operation in its context.
type retryNoteKey struct{}

// retryNote carries a retry's reason from the retry decision to the next
// attempt, where the retry event is recorded with the wait it took.
type retryNote struct {
	reason  string
	status  int
	decided time.Time
}

// noteRetry notes the reason of a retry the request path decided on. The
// retry is counted when it happens (retrying): after the last attempt the
// decision is asked too, and no retry follows.
func (t *telemetry) noteRetry(ctx context.Context, reason string, status int) {
	if note, ok := ctx.Value(retryNoteKey{}).(*retryNote); ok {
		*note = retryNote{reason: reason, status: status, decided: time.Now()}
	}
}

// retrying counts a retry and records its event, with its reason and the
// wait it took, as attempt (1 for the first repeat) starts.
func (t *telemetry) retrying(ctx context.Context, method string, attempt int) {
	note, ok := ctx.Value(retryNoteKey{}).(*retryNote)
	if !ok {
		return
	}
	if t.retries.Enabled(ctx) {
		t.retries.Add(ctx, 1, metric.WithAttributes(attrReason.String(note.reason)))
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{
		attrReason.String(note.reason), attrAttempt.Int(attempt),
		attrWait.Float64(time.Since(note.decided).Seconds()), semconv.HTTPRequestMethodKey.String(method),
	}
	if note.status != 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(note.status))
	}
	span.AddEvent(eventRetry, trace.WithAttributes(attrs...))
}

// startStream starts the long-lived span of one event stream.
func (t *telemetry) startStream(ctx context.Context, name, path string) (context.Context, trace.Span) {
	ctx, span := t.tracer.Start(ctx, "jamsocket."+name, trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		span.SetAttributes(attrStreamPath.String(path))
		span.SetAttributes(t.server...)
	}
	return ctx, span
}

// reconnecting records a stream's reconnect: an event on the stream's span
// and the reconnects counter, by reason.
func (t *telemetry) reconnecting(ctx context.Context, err error, failures int, wait time.Duration) {
	reason := reconnectKind(err)
	if t.reconnects.Enabled(ctx) {
		t.reconnects.Add(ctx, 1, metric.WithAttributes(attrReason.String(reason)))
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(eventReconnect, trace.WithAttributes(attrReason.String(reason),
			attrFailures.Int(failures), attrWait.Float64(wait.Seconds())))
	}
}

// endStream ends a stream's span; err is the error it yielded, if any.
func endStream(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		outcome, kind := outcomeOf(err)
		span.SetAttributes(attrOutcome.String(outcome), semconv.ErrorTypeKey.String(kind))
		span.SetStatus(codes.Error, kind)
	}
	span.End()
}

// reconnectKind names why a stream connection ended, in a word: never the
// error's text, which may quote an address or a body.
func reconnectKind(err error) string {
	var apiErr *APIError
	switch {
	case errors.Is(err, errIdle):
		return "idle"
	case errors.Is(err, errEnded):
		return "ended"
	case errors.As(err, &apiErr):
		return "status_" + strconv.Itoa(apiErr.StatusCode)
	}
	_, kind := outcomeOf(err)
	return kind
}

// statusSeen records a status a WaitReady passed through, with the time
// the server gave it.
func (op operation) statusSeen(state *BackendState) {
	if op.span.IsRecording() {
		op.span.AddEvent(eventStatus, trace.WithAttributes(attrStatus.String(string(state.Status)),
			attrStatusTime.String(state.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"))))
	}
}

// spawnedToReady records the time from a backend's scheduled status to its
// ready status.
func (op operation) spawnedToReady(ctx context.Context, scheduled, ready time.Time) {
	if d := ready.Sub(scheduled); d >= 0 && op.t.spawnToReady.Enabled(ctx) {
		op.t.spawnToReady.Record(ctx, d.Seconds(), metric.WithAttributes(attrTarget.String(op.target)))
	}
}

// injectTraceContext puts the context's trace context (W3C traceparent and
// tracestate, with the usual propagator) in a request's headers.
func injectTraceContext(ctx context.Context, h map[string][]string) {
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(h))
}
