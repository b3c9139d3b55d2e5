package jamsockettest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/jamsockettest"
)

// Options.TracerProvider receives the plane's spans: a spawn by the Client
// is a connect span, and the backend's start a span under it with the
// runner's start and the probe.
func TestPlaneSpans(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer func() { require.NoError(t, tp.Shutdown(context.Background())) }()
	srv := jamsockettest.NewServer(t, &jamsockettest.Options{TracerProvider: tp})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "traced"})
	require.NoError(t, err)
	_, err = srv.Client.WaitReady(ctx, conn.BackendID)
	require.NoError(t, err)
	require.NoError(t, srv.Close()) // every lifecycle has ended

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans.Ended() {
		byName[s.Name()] = s
	}
	connect := byName["POST /v2/service/{account}/{service}/connect"]
	require.NotNil(t, connect, "spans: %v", byName)
	start := byName["localplane.backend.start"]
	require.NotNil(t, start, "spans: %v", byName)
	assert.Equal(t, connect.SpanContext().SpanID(), start.Parent().SpanID())
	for _, name := range []string{"localplane.runner.start", "localplane.probe"} {
		require.Contains(t, byName, name)
		assert.Equal(t, start.SpanContext().SpanID(), byName[name].Parent().SpanID(), name)
		assert.Equal(t, connect.SpanContext().TraceID(), byName[name].SpanContext().TraceID(), name)
	}
}
