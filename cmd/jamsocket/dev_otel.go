package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// devServiceName is the service.name of the dev server's spans, unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES says otherwise.
const devServiceName = "jamsocket-dev"

// flushTimeout bounds the export of the spans still buffered when the dev
// server stops.
const flushTimeout = 5 * time.Second

// devTracing sets cfg up to export the plane's spans over OTLP/HTTP (what
// --otel asks), to the collector the standard OTEL_EXPORTER_OTLP_*
// variables name (default http://localhost:4318), and to continue callers'
// W3C traceparent. Export errors go to log. The returned flush exports
// what is still buffered; call it once the plane has closed.
func devTracing(ctx context.Context, cfg *localplane.Config, log *slog.Logger) (flush func() error, err error) {
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("--otel: %w", err)
	}
	res, err := resource.New(ctx, resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(devServiceName)), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("--otel: %w", err)
	}
	// The SDK reports export errors here; the process is the dev server's.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("exporting spans", "err", err) }))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	cfg.TracerProvider, cfg.Propagator = tp, propagation.TraceContext{}
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		defer cancel()
		return tp.Shutdown(ctx)
	}, nil
}
