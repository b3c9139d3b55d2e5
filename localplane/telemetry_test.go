package localplane_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// A caller's trace context as a W3C traceparent header.
const (
	callerTraceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpanID      = "00f067aa0ba902b7"
	callerTraceparent = "00-" + callerTraceID + "-" + callerSpanID + "-01"
)

// tracedPlane starts a plane whose spans go to a recorder, reading trace
// context with the W3C propagator.
func tracedPlane(t *testing.T, cfg localplane.Config) (*plane, *tracetest.SpanRecorder) {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { require.NoError(t, tp.Shutdown(context.Background())) })
	cfg.TracerProvider, cfg.Propagator = tp, propagation.TraceContext{}
	return startPlane(t, cfg), spans
}

// endedSpans closes the plane, which waits for every lifecycle, and returns
// the recorded spans by name (the last of each name).
func endedSpans(t *testing.T, p *plane, spans *tracetest.SpanRecorder) map[string]sdktrace.ReadOnlySpan {
	t.Helper()
	require.NoError(t, p.Close())
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans.Ended() {
		byName[s.Name()] = s
	}
	return byName
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// eventStatuses are the jamsocket.status events of a span, in order.
func eventStatuses(s sdktrace.ReadOnlySpan) (statuses []types.BackendStatus, times []time.Time) {
	for _, e := range s.Events() {
		if e.Name != "jamsocket.status" {
			continue
		}
		for _, kv := range e.Attributes {
			if kv.Key == "jamsocket.status" {
				statuses = append(statuses, types.BackendStatus(kv.Value.AsString()))
				times = append(times, e.Time)
			}
		}
	}
	return statuses, times
}

// A connect on either surface is a server span that continues the caller's
// trace; the backend it spawns is a start span under it, with an event per
// status, the runner's start and the probe under that. Nothing in any span
// holds the key, a token, the connection URL, the secret, the user, the
// auth, an env value or the API token.
func TestSpansContinueTheCallersTrace(t *testing.T) {
	const apiToken, user, authValue, envValue, key = "api-5ecr3t-token", "user-5ecr3t", "auth-5ecr3t", "env-5ecr3t", "key-5ecr3t@example.com"
	for _, surface := range []string{"jamsocket", "plane"} {
		t.Run(surface, func(t *testing.T) {
			p, spans := tracedPlane(t, localplane.Config{Token: apiToken})
			auth := []string{"Authorization", "Bearer " + apiToken, "traceparent", callerTraceparent}
			var secrets map[string]string
			var id, route string
			if surface == "jamsocket" {
				route = "POST /v2/service/{account}/{service}/connect"
				code, body, _ := p.do("POST", "/v2/service/acct/svc/connect", map[string]any{
					"key": key, "user": user, "auth": map[string]any{"role": authValue},
					"spawn": map[string]any{"executable": map[string]any{"env": map[string]string{"FOO": envValue}}},
				}, auth...)
				require.Equal(t, http.StatusOK, code, string(body))
				var res types.ConnectResponse
				require.NoError(t, json.Unmarshal(body, &res))
				id = res.BackendID
				secrets = map[string]string{"token": res.Token, "URL": res.URL, "secret": res.SecretToken}
			} else {
				route = "POST /ctrl/connect"
				code, body, _ := p.do("POST", "/ctrl/connect", map[string]any{
					"key": map[string]any{"name": key}, "user": user, "auth": map[string]any{"role": authValue},
					"spawn_config": map[string]any{"executable": map[string]any{"image": "ignored:latest", "env": map[string]string{"FOO": envValue}}},
				}, auth...)
				require.Equal(t, http.StatusOK, code, string(body))
				var res wire.PlaneConnectResponse
				require.NoError(t, json.Unmarshal(body, &res))
				id = res.BackendID
				require.NotNil(t, res.SecretToken)
				secrets = map[string]string{"token": res.Token, "URL": res.URL, "secret": *res.SecretToken}
			}
			p.statusStream(id).until(types.StatusReady)
			byName := endedSpans(t, p, spans)

			connect := byName[route]
			require.NotNil(t, connect, "no connect span in %v", byName)
			assert.Equal(t, trace.SpanKindServer, connect.SpanKind())
			assert.Equal(t, callerTraceID, connect.SpanContext().TraceID().String())
			assert.Equal(t, callerSpanID, connect.Parent().SpanID().String())
			ca := attrs(connect)
			assert.Equal(t, id, ca["jamsocket.backend.id"].AsString())
			assert.True(t, ca["jamsocket.spawned"].AsBool())
			assert.Equal(t, "ok", ca["jamsocket.outcome"].AsString())
			assert.EqualValues(t, http.StatusOK, ca["http.response.status_code"].AsInt64())

			start := byName["localplane.backend.start"]
			require.NotNil(t, start)
			assert.Equal(t, connect.SpanContext().SpanID(), start.Parent().SpanID())
			assert.Equal(t, callerTraceID, start.SpanContext().TraceID().String())
			sa := attrs(start)
			assert.Equal(t, id, sa["jamsocket.backend.id"].AsString())
			assert.Equal(t, "handler", sa["jamsocket.runner"].AsString())
			assert.Equal(t, "ready", sa["jamsocket.status"].AsString())
			assert.Equal(t, "ok", sa["jamsocket.outcome"].AsString())
			statuses, _ := eventStatuses(start)
			assert.Equal(t, []types.BackendStatus{types.StatusScheduled, types.StatusLoading, types.StatusStarting,
				types.StatusWaiting, types.StatusReady}, statuses)
			for _, name := range []string{"localplane.runner.start", "localplane.probe"} {
				child := byName[name]
				require.NotNil(t, child, name)
				assert.Equal(t, start.SpanContext().SpanID(), child.Parent().SpanID(), name)
				assert.Equal(t, "ok", attrs(child)["jamsocket.outcome"].AsString(), name)
			}
			assert.GreaterOrEqual(t, attrs(byName["localplane.probe"])["jamsocket.probe.attempts"].AsInt64(), int64(1))

			secrets["API token"], secrets["user"], secrets["auth"], secrets["env"], secrets["key"] = apiToken, user, authValue, envValue, key
			assertNoSecrets(t, spans.Ended(), secrets)
		})
	}
}

// assertNoSecrets checks every attribute, event attribute and status
// description of spans against the actual secret values.
func assertNoSecrets(t *testing.T, spans []sdktrace.ReadOnlySpan, secrets map[string]string) {
	t.Helper()
	for name, secret := range secrets {
		require.NotEmpty(t, secret, name)
	}
	checked := 0
	check := func(where string, kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			checked++
			for name, secret := range secrets {
				assert.NotContains(t, kv.Value.String(), secret, "%s: attribute %s holds the %s", where, kv.Key, name)
			}
		}
	}
	for _, s := range spans {
		check(s.Name(), s.Attributes())
		check(s.Name()+" status", []attribute.KeyValue{attribute.String("description", s.Status().Description)})
		for _, e := range s.Events() {
			check(s.Name()+" event "+e.Name, e.Attributes)
		}
	}
	assert.Greater(t, checked, 20, "attributes checked")
}

// slowFirstAnswer makes handler backends that answer their first request
// (the readiness probe's) after d: a backend slow to start.
func slowFirstAnswer(d time.Duration) func(localplane.Backend) http.Handler {
	return func(localplane.Backend) http.Handler {
		first := make(chan struct{}, 1)
		first <- struct{}{}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-first:
				time.Sleep(d) // the backend's slow start, not a wait for the test
			default:
			}
		})
	}
}

// A backend slow to answer its first request: the probe is the long span,
// and waiting→ready the long step of the start span.
func TestSpansShowTheSlowStep(t *testing.T) {
	const slow = 400 * time.Millisecond
	p, spans := tracedPlane(t, localplane.Config{Handler: slowFirstAnswer(slow)})
	res := p.connect(map[string]any{})
	p.statusStream(res.BackendID).until(types.StatusReady)
	byName := endedSpans(t, p, spans)

	probe, runnerStart := byName["localplane.probe"], byName["localplane.runner.start"]
	require.NotNil(t, probe)
	require.NotNil(t, runnerStart)
	probeTook := probe.EndTime().Sub(probe.StartTime())
	assert.GreaterOrEqual(t, probeTook, slow)
	assert.Less(t, runnerStart.EndTime().Sub(runnerStart.StartTime()), probeTook)

	statuses, times := eventStatuses(byName["localplane.backend.start"])
	require.Len(t, times, 5, "%v", statuses)
	longest, took := 0, time.Duration(0)
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d > took {
			longest, took = i, d
		}
	}
	assert.Equal(t, types.StatusReady, statuses[longest], "the longest step ends at ready: waiting→ready")
	// The history's times are to the millisecond and strictly increasing:
	// a step may look up to 2 ms shorter than it was.
	assert.GreaterOrEqual(t, took, slow-2*time.Millisecond)
}

// A backend that cannot start ends its start span with an error that names
// the step it failed in; a refused connect is an error on its span with
// the refusal's code.
func TestSpansOfFailures(t *testing.T) {
	p, spans := tracedPlane(t, localplane.Config{})
	res := p.connect(map[string]any{"spawn": map[string]any{"executable": map[string]any{
		"resource_limits": map[string]any{"cpu_period": -1},
	}}})
	p.statusStream(res.BackendID).until(types.StatusTerminated)
	code, _, _ := p.do("POST", "/v2/service/acct/svc/connect", map[string]any{"key": "absent", "spawn": false},
		"traceparent", callerTraceparent)
	require.Equal(t, http.StatusNotFound, code)
	byName := endedSpans(t, p, spans)

	start := byName["localplane.backend.start"]
	require.NotNil(t, start)
	assert.Equal(t, codes.Error, start.Status().Code)
	sa := attrs(start)
	assert.Equal(t, "error", sa["jamsocket.outcome"].AsString())
	assert.Equal(t, "loading", sa["error.type"].AsString())
	assert.Equal(t, "terminated", sa["jamsocket.status"].AsString())
	assert.NotContains(t, byName, "localplane.runner.start")

	var refused sdktrace.ReadOnlySpan
	for _, s := range spans.Ended() {
		if s.SpanContext().TraceID().String() == callerTraceID {
			refused = s
		}
	}
	require.NotNil(t, refused)
	ra := attrs(refused)
	assert.Equal(t, "error", ra["jamsocket.outcome"].AsString())
	assert.Equal(t, "NotFound", ra["error.type"].AsString())
	assert.NotContains(t, ra, attribute.Key("jamsocket.backend.id"))
}
