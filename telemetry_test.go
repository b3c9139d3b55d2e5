package jamsocket

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// otelRecorder is an in-memory OpenTelemetry pipeline: the SDK's span otelRecorder
// and a manual metric reader.
type otelRecorder struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newOtelRecorder(t *testing.T) *otelRecorder {
	r := &otelRecorder{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	r.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	t.Cleanup(func() {
		_ = r.tp.Shutdown(context.Background())
		_ = r.mp.Shutdown(context.Background())
	})
	return r
}

func (r *otelRecorder) options() []Option {
	return []Option{WithTracerProvider(r.tp), WithMeterProvider(r.mp)}
}

// ended returns the ended spans with the name.
func (r *otelRecorder) ended(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range r.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// metric returns the collected metric with the name, failing if none.
func (r *otelRecorder) metric(t *testing.T, name string) metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m
			}
		}
	}
	require.Failf(t, "no metric", "%s not recorded", name)
	return metricdata.Metrics{}
}

// attrs turns attributes into a map for assertions.
func attrs(kvs []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func eventsNamed(s sdktrace.ReadOnlySpan, name string) []sdktrace.Event {
	var out []sdktrace.Event
	for _, e := range s.Events() {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// A keyed Spawn that meets a 503 and then succeeds is one operation span
// with one retry event, one retry counted and one duration recorded.
func TestTelemetrySpawnRetry(t *testing.T) {
	rec := newOtelRecorder(t)
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock, rec.options()...)
	mock.RegisterResponder("POST", connectURL, sequence(jsonResponder(503, `{"error":{"code":"Unavailable","message":"busy"}}`),
		jsonResponder(200, connectBody)))

	_, err := c.Spawn(context.Background(), &ConnectRequest{Key: "doc-42"})
	require.NoError(t, err)

	spans := rec.spans.Ended()
	require.Len(t, spans, 1)
	span := spans[0]
	assert.Equal(t, "jamsocket.Spawn", span.Name())
	assert.Equal(t, trace.SpanKindClient, span.SpanKind())
	assert.Equal(t, map[string]any{
		"jamsocket.target": "jamsocket", "server.address": "api.test",
		"jamsocket.key": "doc-42", "jamsocket.backend.id": "knrv5", "jamsocket.spawned": true,
		"jamsocket.status": "scheduled", "jamsocket.outcome": "ok",
	}, attrs(span.Attributes()))
	require.Len(t, span.Events(), 1)
	retry := span.Events()[0]
	assert.Equal(t, "jamsocket.retry", retry.Name)
	got := attrs(retry.Attributes)
	assert.Equal(t, "503 Service Unavailable", got["jamsocket.reason"])
	assert.Equal(t, int64(1), got["jamsocket.attempt"])
	assert.Equal(t, int64(503), got["http.response.status_code"])
	assert.Equal(t, "POST", got["http.request.method"])
	assert.GreaterOrEqual(t, got["jamsocket.wait"], 0.0)

	retries := rec.metric(t, "jamsocket.client.retries").Data.(metricdata.Sum[int64])
	require.Len(t, retries.DataPoints, 1)
	assert.Equal(t, int64(1), retries.DataPoints[0].Value)
	assert.Equal(t, map[string]any{"jamsocket.reason": "503 Service Unavailable"}, attrs(retries.DataPoints[0].Attributes.ToSlice()))

	duration := rec.metric(t, "jamsocket.client.operation.duration")
	assert.Equal(t, "s", duration.Unit)
	points := duration.Data.(metricdata.Histogram[float64]).DataPoints
	require.Len(t, points, 1)
	assert.Equal(t, uint64(1), points[0].Count)
	assert.Equal(t, map[string]any{"jamsocket.operation": "Spawn", "jamsocket.outcome": "ok", "jamsocket.target": "jamsocket"},
		attrs(points[0].Attributes.ToSlice()))
}

// A Spawn whose retries run out records each retry that happened, and no
// more: the retry decision after the last attempt is not a retry.
func TestTelemetryRetriesExhausted(t *testing.T) {
	rec := newOtelRecorder(t)
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock, rec.options()...)
	mock.RegisterResponder("POST", connectURL, jsonResponder(503, `{}`))

	_, err := c.Spawn(context.Background(), &ConnectRequest{Key: "doc-42"})
	require.Error(t, err)
	require.Equal(t, fastRetry.MaxRetries+1, calls(mock, "POST", connectURL))

	span := rec.ended("jamsocket.Spawn")[0]
	assert.Len(t, eventsNamed(span, "jamsocket.retry"), fastRetry.MaxRetries)
	assert.Equal(t, "503", attrs(span.Attributes())["error.type"])
	retries := rec.metric(t, "jamsocket.client.retries").Data.(metricdata.Sum[int64])
	require.Len(t, retries.DataPoints, 1)
	assert.Equal(t, int64(fastRetry.MaxRetries), retries.DataPoints[0].Value)
}

// A failed call says what kind of failure it was (error.type), on the span
// and on the duration, and never quotes the error's message.
func TestTelemetryErrorKind(t *testing.T) {
	rec := newOtelRecorder(t)
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock, append(rec.options(), WithTelemetryKey(false))...)
	mock.RegisterResponder("POST", connectURL, jsonResponder(409, `{"error":{"code":"KeyHeld","message":"key doc-42 is held"}}`))

	_, err := c.Spawn(context.Background(), &ConnectRequest{Key: "doc-42"})
	require.ErrorIs(t, err, ErrKeyHeld)

	span := rec.ended("jamsocket.Spawn")[0]
	got := attrs(span.Attributes())
	assert.Equal(t, "409", got["error.type"])
	assert.Equal(t, "error", got["jamsocket.outcome"])
	assert.NotContains(t, got, "jamsocket.key", "WithTelemetryKey(false)")
	assert.Equal(t, "409", span.Status().Description)
	points := rec.metric(t, "jamsocket.client.operation.duration").Data.(metricdata.Histogram[float64]).DataPoints
	require.Len(t, points, 1)
	assert.Equal(t, "409", attrs(points[0].Attributes.ToSlice())["error.type"])
}

// Requests and stream connections carry the W3C trace context of the
// operation's span, as the global propagator writes it. (The propagator
// stays installed: the global one cannot be put back. It writes nothing
// for a context without a span.)
func TestTelemetryTraceContextInjected(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	rec := newOtelRecorder(t)
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock, rec.options()...)
	var traceparents, tracestates []string
	record := func(next httpmock.Responder) httpmock.Responder {
		return func(req *http.Request) (*http.Response, error) {
			traceparents = append(traceparents, req.Header.Get("traceparent"))
			tracestates = append(tracestates, req.Header.Get("tracestate"))
			return next(req)
		}
	}
	mock.RegisterResponder("POST", connectURL, record(jsonResponder(200, connectBody)))
	mock.RegisterResponder("GET", streamURL, record(sseResponder(events(StatusReady, StatusTerminated), false)))

	state, err := trace.ParseTraceState("vendor=opaque")
	require.NoError(t, err)
	ctx, parent := rec.tp.Tracer("test").Start(context.Background(), "handler")
	defer parent.End()
	ctx = trace.ContextWithSpanContext(ctx, trace.SpanFromContext(ctx).SpanContext().WithTraceState(state))
	_, err = c.Spawn(ctx, &ConnectRequest{Key: "doc-42"})
	require.NoError(t, err)
	_, err = collect(t, c.StatusStream(ctx, "b1"))
	require.NoError(t, err)

	traceID := parent.SpanContext().TraceID()
	spawn, stream := rec.ended("jamsocket.Spawn"), rec.ended("jamsocket.StatusStream")
	require.Len(t, spawn, 1)
	require.Len(t, stream, 1)
	assert.Equal(t, []string{
		"00-" + traceID.String() + "-" + spawn[0].SpanContext().SpanID().String() + "-01",
		"00-" + traceID.String() + "-" + stream[0].SpanContext().SpanID().String() + "-01",
	}, traceparents)
	assert.Equal(t, []string{"vendor=opaque", "vendor=opaque"}, tracestates)
}

// WaitReady over a status stream whose first connection drops records the
// reconnect (an event on the stream's span and the counter), an event per
// status it passed through, and the time from scheduled to ready.
func TestTelemetryWaitReadyReconnect(t *testing.T) {
	const scheduledAt, readyAt = "2024-11-04T20:42:21.000Z", "2024-11-04T20:42:23.500Z"
	stateEvent := func(status BackendStatus, at string) string {
		return `data: {"status":"` + string(status) + `","time":"` + at + `"}` + "\n\n"
	}
	var connections atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/backend/b1/status" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"status":"loading","time":%q}`, "2024-11-04T20:42:22.000Z")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, stateEvent(StatusScheduled, scheduledAt), stateEvent(StatusLoading, "2024-11-04T20:42:22.000Z"))
		if connections.Add(1) > 1 {
			fmt.Fprint(w, stateEvent(StatusReady, readyAt))
		}
		// The first connection ends here: dropped before ready.
	}))
	defer srv.Close()
	rec := newOtelRecorder(t)
	c, err := New(Config{Account: "acme", Token: testToken, Service: "editor", APIURL: srv.URL},
		append(rec.options(), WithStreamPolicy(fastStream))...)
	require.NoError(t, err)

	state, err := c.WaitReady(t.Context(), "b1")
	require.NoError(t, err)
	assert.Equal(t, StatusReady, state.Status)

	waits := rec.ended("jamsocket.WaitReady")
	require.Len(t, waits, 1)
	wait := waits[0]
	assert.Equal(t, "ready", attrs(wait.Attributes())["jamsocket.status"])
	assert.Equal(t, "b1", attrs(wait.Attributes())["jamsocket.backend.id"])
	var seen []any
	for _, e := range eventsNamed(wait, "jamsocket.status") {
		seen = append(seen, attrs(e.Attributes)["jamsocket.status"])
	}
	assert.Equal(t, []any{"loading", "ready"}, seen)
	assert.Equal(t, readyAt, attrs(eventsNamed(wait, "jamsocket.status")[1].Attributes)["jamsocket.status.time"])
	assert.Empty(t, rec.ended("jamsocket.Status"), "WaitReady's reads are part of its span")

	streams := rec.ended("jamsocket.StatusStream")
	require.Len(t, streams, 1)
	stream := streams[0]
	assert.Equal(t, wait.SpanContext().SpanID(), stream.Parent().SpanID())
	reconnects := eventsNamed(stream, "jamsocket.reconnect")
	require.Len(t, reconnects, 1)
	assert.Equal(t, "ended", attrs(reconnects[0].Attributes)["jamsocket.reason"])

	counted := rec.metric(t, "jamsocket.client.reconnects").Data.(metricdata.Sum[int64]).DataPoints
	require.Len(t, counted, 1)
	assert.Equal(t, int64(1), counted[0].Value)
	assert.Equal(t, map[string]any{"jamsocket.reason": "ended"}, attrs(counted[0].Attributes.ToSlice()))

	ready := rec.metric(t, "jamsocket.client.spawn_to_ready.duration").Data.(metricdata.Histogram[float64]).DataPoints
	require.Len(t, ready, 1)
	assert.Equal(t, uint64(1), ready[0].Count)
	assert.InDelta(t, 2.5, ready[0].Sum, 1e-9)
}

// globalRecorder is installed as the global providers once, by
// TestTelemetryGlobalProviders: the global providers cannot be put back.
var globalRecorder = sync.OnceValue(func() *otelRecorder {
	r := &otelRecorder{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	r.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	otel.SetTracerProvider(r.tp)
	otel.SetMeterProvider(r.mp)
	return r
})

// Without a provider the Client uses the global ones: spans appear once
// one is installed, with no change to a Client made before.
func TestTelemetryGlobalProviders(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	rec := globalRecorder()
	id := "global-" + strconv.Itoa(int(globalRuns.Add(1)))
	mock.RegisterResponder("GET", testAPI+"/v2/backend/"+id+"/status", jsonResponder(200, `{"status":"ready","time":"2024-11-04T20:42:21.123Z"}`))
	_, err := c.Status(context.Background(), id)
	require.NoError(t, err)
	var mine []sdktrace.ReadOnlySpan
	for _, s := range rec.ended("jamsocket.Status") {
		if attrs(s.Attributes())["jamsocket.backend.id"] == id {
			mine = append(mine, s)
		}
	}
	require.Len(t, mine, 1)
	assert.Equal(t, "ready", attrs(mine[0].Attributes())["jamsocket.status"])
	rec.metric(t, "jamsocket.client.operation.duration")
}

var globalRuns atomic.Int64

// The log and metrics streams each have their own span, named after the
// stream, which ends when the stream does (here: the backend is gone).
func TestTelemetryLogsAndMetricsStreams(t *testing.T) {
	rec := newOtelRecorder(t)
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock, rec.options()...)
	mock.RegisterResponder("GET", testAPI+"/v2/backend/b1/logs/stream", sseResponder("data: hello\n\n", false))
	mock.RegisterResponder("GET", testAPI+"/v2/backend/b1/metrics/stream", sseResponder(
		`data: {"cluster":"c1","backend_id":"b1","mem_used":1,"mem_available":2,"cpu_used":1,"sys_cpu":2}`+"\n\n", false))
	mock.RegisterResponder("GET", testAPI+"/v2/backend/b1/status", jsonResponder(404, ""))

	var lines []string
	for line, err := range c.Logs(t.Context(), "b1") {
		require.NoError(t, err)
		lines = append(lines, line.Text)
	}
	var samples int
	for _, err := range c.Metrics(t.Context(), "b1") {
		require.NoError(t, err)
		samples++
	}

	assert.Equal(t, []string{"hello"}, lines)
	assert.Equal(t, 1, samples)
	for name, path := range map[string]string{
		"jamsocket.Logs":    "/v2/backend/b1/logs/stream",
		"jamsocket.Metrics": "/v2/backend/b1/metrics/stream",
	} {
		spans := rec.ended(name)
		require.Len(t, spans, 1, name)
		assert.Equal(t, path, attrs(spans[0].Attributes())["url.path"], name)
	}
}
