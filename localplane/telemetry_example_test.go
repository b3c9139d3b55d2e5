package localplane_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// Config.TracerProvider receives the plane's spans: here a recorder, after
// one spawn. Closing the plane ends every backend's spans.
func ExampleConfig_tracerProvider() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	srv, err := localplane.New(localplane.Config{
		APIAddr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0",
		Handler:        func(localplane.Backend) http.Handler { return http.NotFoundHandler() },
		TracerProvider: tp, Propagator: propagation.TraceContext{},
	})
	if err != nil {
		panic(err)
	}
	if err := srv.Start(); err != nil {
		panic(err)
	}
	client, err := jamsocket.New(jamsocket.Config{Account: "acct", Service: "svc", Token: "t", APIURL: srv.APIURL()})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	conn, err := client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-1"})
	if err != nil {
		panic(err)
	}
	if _, err := client.WaitReady(ctx, conn.BackendID); err != nil {
		panic(err)
	}
	srv.Close()

	var names []string
	for _, s := range spans.Ended() {
		names = append(names, s.Name())
	}
	slices.Sort(names)
	fmt.Println(strings.Join(names, "\n"))
	// Output:
	// POST /v2/service/{account}/{service}/connect
	// localplane.backend.start
	// localplane.probe
	// localplane.runner.start
}
