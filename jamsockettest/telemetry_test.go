package jamsockettest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/jamsockettest"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// A spawn, wait, status, stream and terminate through the real local plane,
// with a recording tracer and meter: no attribute of any span (the
// Client's and the plane's), span event or metric data point holds the API token, the connection token or URL,
// the secret token, the user or the auth data.
func TestTelemetryHoldsNoSecrets(t *testing.T) {
	for _, plane := range []bool{false, true} {
		t.Run(map[bool]string{false: "jamsocket", true: "plane"}[plane], func(t *testing.T) {
			spans := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			const apiToken = "api-token-5ecr3t-77a1"
			srv := jamsockettest.NewServer(t, &jamsockettest.Options{
				Plane: plane, Token: apiToken,
				TracerProvider: tp, ClientOptions: []jamsocket.Option{jamsocket.WithMeterProvider(mp)},
			})
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			const user, authValue = "user-alice-5ecr3t", "auth-value-5ecr3t"
			conn, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{
				Key: "doc-telemetry", User: user, Auth: map[string]any{"role": authValue},
			})
			require.NoError(t, err)
			_, err = srv.Client.WaitReady(ctx, conn.BackendID)
			require.NoError(t, err)
			_, err = srv.Client.Status(ctx, conn.BackendID)
			require.NoError(t, err)
			require.NoError(t, srv.Client.Terminate(ctx, conn.BackendID, nil))
			for _, err := range srv.Client.StatusStream(ctx, conn.BackendID) {
				require.NoError(t, err)
			}
			// A refused call too: its error must not leak either.
			_, err = srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "absent", NoSpawn: true, User: user})
			require.Error(t, err)

			secrets := map[string]string{
				"API token": apiToken, "connection token": conn.Token, "connection URL": conn.URL,
				"secret token": conn.SecretToken, "user": user, "auth": authValue,
			}
			for name, secret := range secrets {
				require.NotEmpty(t, secret, name)
			}
			checked := 0
			check := func(where string, kvs []attribute.KeyValue) {
				for _, kv := range kvs {
					checked++
					value := kv.Value.String()
					for name, secret := range secrets {
						assert.NotContains(t, value, secret, "%s: attribute %s holds the %s", where, kv.Key, name)
					}
				}
			}
			ended := spans.Ended()
			names := map[string]bool{}
			for _, s := range ended {
				names[s.Name()] = true
				check(s.Name(), s.Attributes())
				check(s.Name()+" status", []attribute.KeyValue{attribute.String("description", s.Status().Description)})
				for _, e := range s.Events() {
					check(s.Name()+" event "+e.Name, e.Attributes)
				}
			}
			for _, want := range []string{"jamsocket.Spawn", "jamsocket.WaitReady", "jamsocket.Status", "jamsocket.Terminate", "jamsocket.StatusStream",
				"localplane.backend.start", "localplane.runner.start", "localplane.probe"} {
				assert.True(t, names[want], "no %s span in %v", want, names)
			}
			var rm metricdata.ResourceMetrics
			require.NoError(t, reader.Collect(ctx, &rm))
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					switch data := m.Data.(type) {
					case metricdata.Histogram[float64]:
						for _, p := range data.DataPoints {
							check(m.Name, p.Attributes.ToSlice())
						}
					case metricdata.Sum[int64]:
						for _, p := range data.DataPoints {
							check(m.Name, p.Attributes.ToSlice())
						}
					default:
						t.Errorf("metric %s of an unexpected type %T", m.Name, data)
					}
				}
			}
			assert.Greater(t, checked, 20, "attributes checked")
			require.NoError(t, tp.Shutdown(context.Background()))
			require.NoError(t, mp.Shutdown(context.Background()))
		})
	}
}

// The proxy passes a request's W3C trace context (traceparent, tracestate)
// to the backend unchanged, so that the backend's spans join the caller's
// trace.
func TestProxyPassesTraceContext(t *testing.T) {
	srv := jamsockettest.NewServer(t, &jamsockettest.Options{
		Handler: func(localplane.Backend) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string][]string{
					"traceparent": r.Header.Values("traceparent"), "tracestate": r.Header.Values("tracestate"),
				})
			})
		},
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn := spawnReady(ctx, t, srv, &jamsocket.ConnectRequest{Key: "traced"})

	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	const tracestate = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, conn.URL+"work", nil)
	require.NoError(t, err)
	req.Header.Set("traceparent", traceparent)
	req.Header.Set("tracestate", tracestate)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var got map[string][]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	assert.Equal(t, map[string][]string{"traceparent": {traceparent}, "tracestate": {tracestate}}, got)
}
