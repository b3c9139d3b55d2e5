package localplane

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/jamsocket-go/jamsocket/internal/otelattr"
	"github.com/jamsocket-go/jamsocket/types"
)

// The plane's OpenTelemetry spans: a server span per connect request that
// continues the caller's trace, and for each backend it spawns a start span,
// from scheduled to ready, with an event per status and two children: the
// runner's start and the readiness probe. So a slow spawn shows which step
// was slow.

// instrumentationName names the plane's tracer.
const instrumentationName = "github.com/jamsocket-go/jamsocket/localplane"

// Span names and the attributes the plane names itself, as the SDK names
// its own (package jamsocket's telemetry.go). None of them ever holds a
// token, a connection URL, a secret token, user data, auth or an
// environment value: a backend is named by its id only.
const (
	spanBackendStart = "localplane.backend.start"
	spanRunnerStart  = "localplane.runner.start"
	spanProbe        = "localplane.probe"

	attrBackendID = otelattr.BackendID
	attrSpawned   = otelattr.Spawned
	attrStatus    = otelattr.Status
	attrOutcome   = otelattr.Outcome
	attrRunner    = attribute.Key("jamsocket.runner")
	attrReason    = attribute.Key("jamsocket.termination.reason")
	attrAttempts  = attribute.Key("jamsocket.probe.attempts")
	eventStatus   = otelattr.EventStatus

	outcomeOK         = otelattr.OutcomeOK
	outcomeError      = otelattr.OutcomeError
	outcomeCanceled   = otelattr.OutcomeCanceled
	outcomeTerminated = otelattr.OutcomeTerminated
)

// telemetry is the plane's tracer, and the propagator that reads a
// caller's trace context. With no provider installed its spans do not
// record, and no attribute is built for them.
type telemetry struct {
	provider   trace.TracerProvider
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	runner     attribute.KeyValue // jamsocket.runner
	internal   []trace.SpanStartOption
	server     []trace.SpanStartOption
}

func newTelemetry(cfg *Config) *telemetry {
	t := &telemetry{provider: cfg.TracerProvider, propagator: cfg.Propagator, runner: attrRunner.String(runnerKind(cfg))}
	if t.provider == nil {
		t.provider = otel.GetTracerProvider()
	}
	if t.propagator == nil {
		t.propagator = otel.GetTextMapPropagator()
	}
	t.tracer = t.provider.Tracer(instrumentationName)
	t.internal = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
	t.server = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	return t
}

// runnerKind is jamsocket.runner: what runs cfg's backends.
func runnerKind(cfg *Config) string {
	switch {
	case len(cfg.Command) > 0:
		return "process"
	case cfg.Handler != nil:
		return "handler"
	}
	return "container"
}

// connectHandler wraps a connect route in a server span named by its
// route, that continues the trace of the request's traceparent (read with
// the configured propagator) and records the HTTP server attributes of the
// semantic conventions (never the query, a header or the body); the core
// adds the connect's outcome (connected). With tracing off it costs a
// non-recording span and nothing else.
func (t *telemetry) connectHandler(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := t.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := t.tracer.Start(ctx, r.Pattern, t.server...)
		defer span.End()
		if !span.SpanContext().IsValid() { // a no-op tracer: nothing to record or continue
			h(w, r)
			return
		}
		if !span.IsRecording() {
			h(w, r.WithContext(ctx))
			return
		}
		_, route, _ := strings.Cut(r.Pattern, " ")
		span.SetAttributes(semconv.HTTPRequestMethodKey.String(r.Method), semconv.HTTPRoute(route),
			semconv.URLPath(r.URL.Path), semconv.URLScheme("http"))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h(sw, r.WithContext(ctx))
		span.SetAttributes(semconv.HTTPResponseStatusCode(sw.status))
		if sw.status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, strconv.Itoa(sw.status))
		}
	}
}

// statusWriter notes the status code a handler answers with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// connected records a connect's outcome on its server span: the backend,
// whether it was spawned and its status, or the kind of refusal (the
// Jamsocket error code, never the message).
func connected(ctx context.Context, res connectResult, err error) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if err != nil {
		ref, _ := connectRefusals(err)
		span.SetAttributes(attrOutcome.String(outcomeError), semconv.ErrorTypeKey.String(ref.code))
		return
	}
	span.SetAttributes(attrOutcome.String(outcomeOK), attrBackendID.String(res.b.id),
		attrSpawned.Bool(res.spawned), attrStatus.String(string(res.status)))
}

// afterConnect is the context a spawned backend's lifecycle starts its
// spans in: the connect's span as parent, without the request's deadline
// and values.
func afterConnect(ctx context.Context) context.Context {
	return trace.ContextWithSpanContext(context.Background(), trace.SpanContextFromContext(ctx))
}

// startSpan is the span of a backend's start, from scheduled (the span's
// start) to ready; its steps are events, and the runner's start and the
// readiness probe its child spans. Only the backend's lifecycle uses it.
type startSpan struct {
	t      *telemetry
	ctx    context.Context
	span   trace.Span
	failed types.BackendStatus // the step the start failed in, if it did
}

func (t *telemetry) backendStart(parent context.Context, b *backend) *startSpan {
	scheduled := b.history[0].Time // the lifecycle has not begun: no lock needed
	ctx, span := t.tracer.Start(parent, spanBackendStart, trace.WithTimestamp(scheduled), t.internal[0])
	if span.IsRecording() {
		span.SetAttributes(attrBackendID.String(b.id), t.runner)
		span.AddEvent(eventStatus, trace.WithTimestamp(scheduled),
			trace.WithAttributes(attrStatus.String(string(types.StatusScheduled))))
	}
	return &startSpan{t: t, ctx: ctx, span: span}
}

// status records a status the backend reached, at the history's time (the
// console shows the same). The span ends at ready, or at the first status
// that ends the backend before it was ready.
func (s *startSpan) status(st state) {
	if !s.span.IsRecording() {
		return
	}
	s.span.AddEvent(eventStatus, trace.WithTimestamp(st.Time), trace.WithAttributes(attrStatus.String(string(st.Status))))
	switch {
	case st.Status == types.StatusReady:
		s.span.SetAttributes(attrStatus.String(string(st.Status)), attrOutcome.String(outcomeOK))
	case s.failed != "":
		s.span.SetAttributes(attrStatus.String(string(st.Status)), attrOutcome.String(outcomeError),
			semconv.ErrorTypeKey.String(string(s.failed)))
		s.span.SetStatus(codes.Error, "failed while "+string(s.failed))
	case st.Status.Rank() > types.StatusReady.Rank():
		s.span.SetAttributes(attrStatus.String(string(st.Status)), attrOutcome.String(outcomeTerminated),
			attrReason.String(string(st.TerminationReason)))
		s.span.SetStatus(codes.Error, "terminated before ready")
	default:
		return
	}
	s.span.End(trace.WithTimestamp(st.Time))
}

// fail notes that the backend could not start from the step last (loading
// or starting): error.type names the step, since the error's message may
// quote the command, a path or the image.
func (s *startSpan) fail(last types.BackendStatus) { s.failed = last }

// runnerStart traces the runner's start of the backend.
func (s *startSpan) runnerStart(start func() error) error {
	_, span := s.t.tracer.Start(s.ctx, spanRunnerStart, s.t.internal...)
	err := start()
	if span.IsRecording() {
		span.SetAttributes(s.t.runner)
		endOutcome(span, err)
	}
	span.End()
	return err
}

// probe traces the readiness probe run; the span ends before probe
// returns, so that it has ended when the backend is ready.
func (s *startSpan) probe(ctx context.Context, run func(ctx context.Context) (attempts int, err error)) error {
	ctx, span := s.t.tracer.Start(trace.ContextWithSpan(ctx, s.span), spanProbe, s.t.internal...)
	attempts, err := run(ctx)
	if span.IsRecording() {
		span.SetAttributes(attrAttempts.Int(attempts))
		endOutcome(span, err)
	}
	span.End()
	return err
}

// endOutcome sets a span's jamsocket.outcome, and error.type and an error
// status on failure: the kind of error, never its message.
func endOutcome(span trace.Span, err error) {
	switch {
	case err == nil:
		span.SetAttributes(attrOutcome.String(outcomeOK))
	case errors.Is(err, context.Canceled):
		span.SetAttributes(attrOutcome.String(outcomeCanceled))
	default:
		span.SetAttributes(attrOutcome.String(outcomeError), semconv.ErrorTypeOther)
		span.SetStatus(codes.Error, semconv.ErrorTypeOther.Value.AsString())
	}
}
