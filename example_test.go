package jamsocket_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/jamsockettest"
)

// The examples run against a real local plane started in-process by
// jamsockettest; against Jamsocket, make the client with jamsocket.New or
// jamsocket.FromEnv instead.
func ExampleClient_Spawn() {
	srv, err := jamsockettest.Start(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client := srv.Client
	ctx := context.Background()

	// A key makes Spawn get-or-create: the second call joins the first
	// backend instead of spawning another.
	first, err := client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-42", User: "alice"})
	if err != nil {
		panic(err)
	}
	second, err := client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-42", User: "bob"})
	if err != nil {
		panic(err)
	}
	fmt.Println("first spawned:", first.Spawned, "status:", first.Status)
	fmt.Println("second spawned:", second.Spawned, "same backend:", second.BackendID == first.BackendID)
	fmt.Println("each gets its own token:", second.Token != first.Token)
	// Output:
	// first spawned: true status: scheduled
	// second spawned: false same backend: true
	// each gets its own token: true
}

func ExampleClient_WaitReady() {
	srv, err := jamsockettest.Start(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client := srv.Client
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	conn, err := client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-42", User: "alice"})
	if err != nil {
		panic(err)
	}
	state, err := client.WaitReady(ctx, conn.BackendID)
	if err != nil {
		panic(err)
	}
	fmt.Println("status:", state.Status)

	// The connection URL reaches the backend through the proxy, which tells
	// it who is calling.
	resp, err := http.Get(conn.URL + "hello")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var seen jamsockettest.EchoResponse
	if err := json.NewDecoder(resp.Body).Decode(&seen); err != nil {
		panic(err)
	}
	fmt.Println("backend saw path:", seen.Path, "user:", seen.Verified["x-verified-username"])
	// Output:
	// status: ready
	// backend saw path: /hello user: alice
}

func ExampleClient_StatusStream() {
	srv, err := jamsockettest.Start(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client := srv.Client
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	conn, err := client.Spawn(ctx, nil)
	if err != nil {
		panic(err)
	}
	// The stream replays the history, then follows each change; it ends by
	// itself after terminated.
	for state, err := range client.StatusStream(ctx, conn.BackendID) {
		if err != nil {
			panic(err)
		}
		fmt.Println(state.Status)
		if state.Status == jamsocket.StatusReady {
			if err := client.Terminate(ctx, conn.BackendID, &jamsocket.TerminateOptions{Hard: true}); err != nil {
				panic(err)
			}
		}
	}
	// Output:
	// scheduled
	// loading
	// starting
	// waiting
	// ready
	// hard-terminating
	// terminated
}

// A backend handler answers the browser with ForBrowser: the shape the
// official browser libraries take, without the secret token.
func ExampleConnectResponse_ForBrowser() {
	srv, err := jamsockettest.Start(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	conn, err := srv.Client.Spawn(context.Background(), &jamsocket.ConnectRequest{Key: "doc-42", User: "alice"})
	if err != nil {
		panic(err)
	}
	answer, err := json.Marshal(conn.ForBrowser()) // in a handler: json.NewEncoder(w).Encode(conn.ForBrowser())
	if err != nil {
		panic(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(answer, &fields); err != nil {
		panic(err)
	}
	_, hasSecret := fields["secret_token"]
	fmt.Println("fields:", len(fields), "spawned:", fields["spawned"], "secret token:", hasSecret)
	// Output:
	// fields: 6 spawned: true secret token: false
}

// WithTracerProvider and WithMeterProvider send the Client's spans and
// metrics to providers of your own; without them it uses the global ones
// (otel.SetTracerProvider), and with none installed it records nothing.
// Here the OpenTelemetry SDK's in-memory recorder shows the spans of a
// spawn and its wait.
func ExampleWithTracerProvider() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	srv, err := jamsockettest.Start(&jamsockettest.Options{
		ClientOptions: []jamsocket.Option{jamsocket.WithTracerProvider(tp)},
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The Client's spans are children of the caller's span, and its
	// requests carry the trace context (with a propagator installed:
	// otel.SetTextMapPropagator(propagation.TraceContext{})).
	ctx, handler := tp.Tracer("example").Start(ctx, "POST /session")
	conn, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-42", User: "alice"})
	if err != nil {
		panic(err)
	}
	if _, err := srv.Client.WaitReady(ctx, conn.BackendID); err != nil {
		panic(err)
	}
	handler.End()

	for _, s := range spans.Ended() {
		if s.Name() == "jamsocket.StatusStream" {
			continue // there when WaitReady followed the status stream
		}
		fmt.Println(s.Name(), "in the handler's trace:", s.SpanContext().TraceID() == handler.SpanContext().TraceID())
		if s.Name() == "jamsocket.Spawn" {
			attrs := attribute.NewSet(s.Attributes()...)
			for _, key := range []attribute.Key{"jamsocket.target", "jamsocket.key", "jamsocket.spawned"} {
				v, _ := attrs.Value(key)
				fmt.Printf("  %s = %s\n", key, v.String())
			}
		}
	}
	// Output:
	// jamsocket.Spawn in the handler's trace: true
	//   jamsocket.target = jamsocket
	//   jamsocket.key = doc-42
	//   jamsocket.spawned = true
	// jamsocket.WaitReady in the handler's trace: true
	// POST /session in the handler's trace: true
}
