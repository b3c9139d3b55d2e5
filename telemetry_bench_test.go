package jamsocket

import (
	"context"
	"net/http"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// BenchTelemetryOptions returns the options of a benchmark's Client for
// provider: "off" (none given), "noop" (OpenTelemetry's no-op providers) or
// "recording" (the SDK's: every span sampled and handed to a batching
// processor whose exporter discards it; metrics aggregated for a manual
// reader). Exported for the benchmarks of package jamsocket_test.
func BenchTelemetryOptions(b *testing.B, provider string) []Option {
	switch provider {
	case "noop":
		return []Option{WithTracerProvider(tracenoop.NewTracerProvider()), WithMeterProvider(metricnoop.NewMeterProvider())}
	case "recording":
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
			sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() {
			_ = tp.Shutdown(context.Background())
			_ = mp.Shutdown(context.Background())
		})
		return []Option{WithTracerProvider(tp), WithMeterProvider(mp)}
	}
	return nil
}

// BenchmarkSpawnHooks is what the telemetry adds to a Spawn, alone: the
// span and duration of the operation, its attributes and the trace context
// on the request's headers, without the HTTP exchange (which is what
// BenchmarkSpawn times, with far more noise than these nanoseconds).
// "off" is a Client with no provider given and none installed globally
// (run it with -run '^$': TestTelemetryGlobalProviders installs one).
func BenchmarkSpawnHooks(b *testing.B) {
	resp := &ConnectResponse{BackendID: "bench1234567890", Spawned: true, Status: StatusScheduled}
	for _, provider := range []string{"off", "noop", "recording"} {
		b.Run("provider="+provider, func(b *testing.B) {
			c, err := New(Config{Account: "acct", Service: "svc", Token: "secret-token", APIURL: "http://127.0.0.1:1"},
				BenchTelemetryOptions(b, provider)...)
			if err != nil {
				b.Fatal(err)
			}
			h := http.Header{}
			b.ReportAllocs()
			for b.Loop() {
				ctx, op := c.begin(context.Background(), "jamsocket.Spawn", trace.SpanKindClient)
				op.setKey("doc-1")
				injectTraceContext(ctx, h)
				op.endSpawn(ctx, resp, nil)
			}
		})
	}
}
