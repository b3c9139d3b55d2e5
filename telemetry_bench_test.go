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

// BenchmarkSpawnHooks is what the telemetry adds to a Spawn, alone: the
// span and duration of the operation, its attributes and the trace context
// on the request's headers, without the HTTP exchange (which is what
// BenchmarkSpawn times, with far more noise than these nanoseconds).
// "off" is a Client with no provider given and none installed globally
// (run it with -run '^$': TestTelemetryGlobalProviders installs one).
func BenchmarkSpawnHooks(b *testing.B) {
	resp := &ConnectResponse{BackendID: "bench1234567890", Spawned: true, Status: StatusScheduled}
	cases := []struct {
		name string
		opts func(b *testing.B) []Option
	}{
		{"provider=off", func(*testing.B) []Option { return nil }},
		{"provider=noop", func(*testing.B) []Option {
			return []Option{WithTracerProvider(tracenoop.NewTracerProvider()), WithMeterProvider(metricnoop.NewMeterProvider())}
		}},
		{"provider=recording", func(b *testing.B) []Option {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
				sdktrace.WithBatcher(tracetest.NewNoopExporter()))
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			b.Cleanup(func() {
				_ = tp.Shutdown(context.Background())
				_ = mp.Shutdown(context.Background())
			})
			return []Option{WithTracerProvider(tp), WithMeterProvider(mp)}
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			c, err := New(Config{Account: "acct", Service: "svc", Token: "secret-token", APIURL: "http://127.0.0.1:1"}, tc.opts(b)...)
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
