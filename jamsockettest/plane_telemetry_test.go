package jamsockettest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/jamsockettest"
)

// A spawn through the local plane by the Client, with Options.TracerProvider
// recording, is one trace: the caller's span, the Client's Spawn, the
// plane's connect, the backend's start and, under it, the runner's start
// and the readiness probe.
func TestSpawnIsOneTrace(t *testing.T) {
	// The Client writes traceparent with the global propagator.
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer func() { require.NoError(t, tp.Shutdown(context.Background())) }()
	srv := jamsockettest.NewServer(t, &jamsockettest.Options{TracerProvider: tp})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ctx, caller := tp.Tracer("test").Start(ctx, "caller")
	spawnReady(ctx, t, srv, &jamsocket.ConnectRequest{Key: "traced"})
	caller.End()
	require.NoError(t, srv.Close()) // every lifecycle has ended

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans.Ended() {
		assert.Equal(t, caller.SpanContext().TraceID(), s.SpanContext().TraceID(), "span %s in another trace", s.Name())
		byName[s.Name()] = s
	}
	parentOf := map[string]string{
		"jamsocket.Spawn": "caller",
		"POST /v2/service/{account}/{service}/connect": "jamsocket.Spawn",
		"localplane.backend.start":                     "POST /v2/service/{account}/{service}/connect",
		"localplane.runner.start":                      "localplane.backend.start",
		"localplane.probe":                             "localplane.backend.start",
	}
	for child, parent := range parentOf {
		require.Contains(t, byName, child)
		require.Contains(t, byName, parent)
		assert.Equal(t, byName[parent].SpanContext().SpanID(), byName[child].Parent().SpanID(), "the parent of %s", child)
	}
}
