package jamsocket

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const planeURL = "http://plane.test:8080"

var planeCfg = PlaneConfig{
	ControllerURL: planeURL,
	Executable: PlaneExecutable{Image: "ghcr.io/acme/editor:v1", PullPolicy: PullIfNotPresent,
		Env: map[string]string{"BASE": "1", "OVER": "base"}, NetworkName: "plane"},
	Cluster:   "localhost:9090",
	Pool:      "default-pool",
	Namespace: "editor",
}

const planeConnectBody = `{"backend_id":"vt7jja037few8s","spawned":true,"status":"scheduled","token":"xBRBYzX25CRrQAiW","url":"http://localhost:9090/xBRBYzX25CRrQAiW/","subdomain":null,"secret_token":"sec43","status_url":"http://plane.test:8080/pub/b/vt7jja037few8s/status","drone":"dr-gdlt671itqx479"}`

func newPlaneClient(t *testing.T, cfg PlaneConfig, mock *httpmock.MockTransport, opts ...Option) *Client {
	t.Helper()
	all := append([]Option{WithHTTPClient(&http.Client{Transport: mock}), WithRetry(fastRetry), WithStreamPolicy(fastStream), WithInsecureHTTP()}, opts...)
	c, err := NewPlane(cfg, all...)
	require.NoError(t, err)
	return c
}

func TestPlaneConnect(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  *ConnectRequest
		want string
	}{
		{"nil request: no key, default spawn, auth {}", nil,
			`{"spawn_config":{"cluster":"localhost:9090","pool":"default-pool","executable":{"image":"ghcr.io/acme/editor:v1","pull_policy":"IfNotPresent","env":{"BASE":"1","OVER":"base"},"network_name":"plane"},"max_idle_seconds":300},"auth":{}}`},
		{"key with namespace, user and auth", &ConnectRequest{Key: "doc-42", User: "alice", Auth: map[string]any{"role": "editor"}},
			`{"key":{"name":"doc-42","namespace":"editor","tag":""},"spawn_config":{"cluster":"localhost:9090","pool":"default-pool","executable":{"image":"ghcr.io/acme/editor:v1","pull_policy":"IfNotPresent","env":{"BASE":"1","OVER":"base"},"network_name":"plane"},"max_idle_seconds":300},"user":"alice","auth":{"role":"editor"}}`},
		{"no spawn: no spawn_config", &ConnectRequest{Key: "doc-42", NoSpawn: true, Spawn: &SpawnConfig{Tag: "v9"}},
			`{"key":{"name":"doc-42","namespace":"editor","tag":"v9"},"auth":{}}`},
		{"spawn config translated; tag selects the image and the key tag", &ConnectRequest{Key: "doc-42", Spawn: &SpawnConfig{
			Tag: "v2", Cluster: "other:9090", LifetimeLimitSeconds: 3600, MaxIdleSeconds: 60,
			Executable: &Executable{Env: map[string]string{"OVER": "spawn", "NEW": "x"}, Mount: MountPath("docs"),
				ResourceLimits: &ResourceLimits{MemoryLimitBytes: 1 << 20}}}},
			`{"key":{"name":"doc-42","namespace":"editor","tag":"v2"},"spawn_config":{"cluster":"other:9090","pool":"default-pool","executable":{"image":"ghcr.io/acme/editor:v2","pull_policy":"IfNotPresent","env":{"BASE":"1","OVER":"spawn","NEW":"x"},"resource_limits":{"memory_limit_bytes":1048576},"mount":"docs","network_name":"plane"},"lifetime_limit_seconds":3600,"max_idle_seconds":60},"auth":{}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newPlaneClient(t, planeCfg, mock)
			var body string
			mock.RegisterResponder("POST", planeURL+"/ctrl/connect", func(req *http.Request) (*http.Response, error) {
				body = bodyOf(t, req)
				return jsonResponder(200, planeConnectBody)(req)
			})
			resp, err := c.Spawn(context.Background(), tc.req)
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, body)
			assert.NotContains(t, body, "null")
			assert.Equal(t, &ConnectResponse{BackendID: "vt7jja037few8s", Spawned: true, Status: StatusScheduled,
				Token: "xBRBYzX25CRrQAiW", URL: "http://localhost:9090/xBRBYzX25CRrQAiW/", SecretToken: "sec43",
				StatusURL:       "http://plane.test:8080/pub/b/vt7jja037few8s/status",
				StatusStreamURL: "http://plane.test:8080/pub/b/vt7jja037few8s/status-stream"}, resp)
		})
	}
	t.Run("the config's executable is not changed by a spawn", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		cfg := planeCfg
		cfg.Executable.Env = map[string]string{"BASE": "1"}
		c := newPlaneClient(t, cfg, mock)
		mock.RegisterResponder("POST", planeURL+"/ctrl/connect", jsonResponder(200, planeConnectBody))
		_, err := c.Spawn(context.Background(), &ConnectRequest{Spawn: &SpawnConfig{Tag: "v3", Executable: &Executable{Env: map[string]string{"X": "y"}}}})
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"BASE": "1"}, c.driver.(*planeDriver).cfg.Executable.Env)
		assert.Equal(t, "ghcr.io/acme/editor:v1", c.driver.(*planeDriver).cfg.Executable.Image)
	})
	t.Run("secret_token null", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newPlaneClient(t, planeCfg, mock)
		mock.RegisterResponder("POST", planeURL+"/ctrl/connect", jsonResponder(200,
			`{"backend_id":"b","spawned":false,"status":"ready","token":"s.t","url":"u","subdomain":null,"secret_token":null,"status_url":"su","drone":null}`))
		resp, err := c.Spawn(context.Background(), &ConnectRequest{Key: "k"})
		require.NoError(t, err)
		assert.Empty(t, resp.SecretToken)
		assert.False(t, resp.Spawned)
	})
	t.Run("malformed answer", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newPlaneClient(t, planeCfg, mock)
		mock.RegisterResponder("POST", planeURL+"/ctrl/connect", jsonResponder(200, `{"backend_id":"b"}`))
		_, err := c.Spawn(context.Background(), nil)
		require.ErrorIs(t, err, ErrInvalidResponse)
	})
}

func TestWithImageTag(t *testing.T) {
	for _, tc := range []struct{ image, tag, want string }{
		{"img", "v2", "img:v2"},
		{"img:v1", "v2", "img:v2"},
		{"ghcr.io/acme/img:v1", "v2", "ghcr.io/acme/img:v2"},
		{"registry:5000/img", "v2", "registry:5000/img:v2"},
		{"registry:5000/img:v1", "v2", "registry:5000/img:v2"},
		{"img@sha256:aaaa", "v2", "img:v2"},
		{"img:v1", "sha256:bbbb", "img@sha256:bbbb"},
		{"img:v1@sha256:aaaa", "sha256:bbbb", "img@sha256:bbbb"},
	} {
		assert.Equal(t, tc.want, withImageTag(tc.image, tc.tag), "%s + %s", tc.image, tc.tag)
	}
}

func TestPlaneAuthorization(t *testing.T) {
	for _, tc := range []struct {
		name, url, token, want string
	}{
		{"token field", planeURL, testToken, "Bearer " + testToken},
		{"token in the URL's user part", "http://" + testToken + "@plane.test:8080", "", "Bearer " + testToken},
		{"token field wins", "http://other@plane.test:8080", testToken, "Bearer " + testToken},
		{"no token", planeURL, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			cfg := planeCfg
			cfg.ControllerURL, cfg.Token = tc.url, tc.token
			c := newPlaneClient(t, cfg, mock)
			assert.Equal(t, planeURL, c.APIURL(), "the user part is never sent in the URL")
			reqs := capture(mock, func(req *http.Request) (*http.Response, error) {
				switch req.URL.Path {
				case "/ctrl/connect":
					return jsonResponder(200, planeConnectBody)(req)
				case "/pub/b/b1/status":
					return jsonResponder(200, `{"status":"ready","time":1730752941123}`)(req)
				case "/pub/b/b1/status-stream":
					return sseResponse(newLiveBody("data: {\"status\":\"terminated\",\"time\":1}\nid: terminated\n\n", true)), nil
				}
				return jsonResponder(200, `null`)(req)
			})
			ctx := context.Background()
			_, err := c.Spawn(ctx, nil)
			require.NoError(t, err)
			require.NoError(t, c.Terminate(ctx, "b1", nil))
			_, err = c.Status(ctx, "b1")
			require.NoError(t, err)
			_, err = collect(t, c.StatusStream(ctx, "b1"))
			require.NoError(t, err)
			require.Len(t, *reqs, 4)
			for _, req := range *reqs {
				assert.Nil(t, req.URL.User)
				if req.Method == http.MethodPost {
					assert.Equal(t, tc.want, req.Header.Get("Authorization"), req.URL.Path)
				} else {
					assert.Empty(t, req.Header.Get("Authorization"), "%s is public", req.URL.Path)
				}
			}
		})
	}
	t.Run("a token over plain http to a remote controller needs WithInsecureHTTP", func(t *testing.T) {
		cfg := planeCfg
		cfg.Token = testToken
		_, err := NewPlane(cfg)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), testToken)
		cfg.ControllerURL = "http://127.0.0.1:8080"
		_, err = NewPlane(cfg)
		require.NoError(t, err)
		cfg.ControllerURL, cfg.Token = planeURL, ""
		_, err = NewPlane(cfg)
		require.NoError(t, err, "no token, nothing to protect")
	})
}

func TestNewPlaneValidation(t *testing.T) {
	_, err := NewPlane(PlaneConfig{Executable: PlaneExecutable{Image: "img"}})
	require.ErrorContains(t, err, "ControllerURL")
	_, err = NewPlane(PlaneConfig{ControllerURL: planeURL})
	require.ErrorContains(t, err, "Image")
	_, err = NewPlane(PlaneConfig{ControllerURL: "plane.test", Executable: PlaneExecutable{Image: "img"}})
	require.Error(t, err)
}

func TestPlaneStatus(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newPlaneClient(t, planeCfg, mock)
	mock.RegisterResponder("GET", planeURL+"/pub/b/b1/status", jsonResponder(200,
		`{"status":"terminated","termination_reason":"external","termination_kind":"soft","exit_error":false,"time":1730752941123}`))
	state, err := c.Status(context.Background(), "b1")
	require.NoError(t, err)
	assert.Equal(t, StatusTerminated, state.Status)
	assert.Equal(t, ReasonExternal, state.TerminationReason)
	assert.Equal(t, KindSoft, state.TerminationKind)
	assert.Equal(t, time.UnixMilli(1730752941123).UTC(), state.Time)

	mock.RegisterResponder("GET", planeURL+"/pub/b/..%2Fx/status", jsonResponder(404, `{"id":"k2j4h5g6f7d8s9","kind":"NotFound","message":"Backend does not exist"}`))
	_, err = c.Status(context.Background(), "../x")
	require.ErrorIs(t, err, ErrNotFound)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "NotFound", apiErr.Code)
	assert.Equal(t, "k2j4h5g6f7d8s9", apiErr.RequestID)
}

const planeStreamURL = planeURL + "/pub/b/b1/status-stream"

func eventOnPlane(status BackendStatus, ms int, spaced bool) string {
	sep := ""
	if spaced {
		sep = " "
	}
	return "data:" + sep + `{"status":"` + string(status) + `","time":` + itoa(ms) + "}\nid:" + sep + string(status) + "\n\n"
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestPlaneStatusStream(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newPlaneClient(t, planeCfg, mock)
	var (
		mu  sync.Mutex
		ids []string
	)
	first := eventOnPlane(StatusScheduled, 1, true) + ":\n\n" + eventOnPlane(StatusLoading, 2, false) + ":\n\n"
	// Plane skips what Last-Event-ID says was seen, and keeps the stream
	// open after terminated, sending keep-alives.
	second := ":\n\n" + eventOnPlane(StatusStarting, 3, true) + eventOnPlane(StatusWaiting, 4, true) + eventOnPlane(StatusReady, 5, false) +
		":\n\n" + "data: {\"status\":\"terminating\",\"time\":6,\"termination_reason\":\"external\",\"termination_kind\":\"soft\"}\nid: terminating\n\n" +
		"data: {\"status\":\"terminated\",\"time\":7,\"termination_reason\":\"external\",\"termination_kind\":\"soft\",\"exit_error\":false}\nid: terminated\n\n" +
		":\n\n:\n\n"
	var bodies []*liveBody
	mock.RegisterResponder("GET", planeStreamURL, func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		ids = append(ids, req.Header.Get("Last-Event-ID"))
		assert.Empty(t, req.Header.Get("Authorization"))
		var b *liveBody
		if len(ids) == 1 {
			b = newLiveBody(first, false) // dropped
		} else {
			b = newLiveBody(second, true) // never closed by the server
		}
		bodies = append(bodies, b)
		return sseResponse(b), nil
	})
	var got []*BackendState
	for state, err := range c.StatusStream(context.Background(), "b1") {
		require.NoError(t, err)
		got = append(got, state)
	}
	var statuses []BackendStatus
	for _, s := range got {
		statuses = append(statuses, s.Status)
	}
	assert.Equal(t, lifecycle, statuses)
	assert.Equal(t, []string{"", "loading"}, ids)
	assert.Equal(t, time.UnixMilli(7).UTC(), got[len(got)-1].Time)
	assert.Equal(t, KindSoft, got[len(got)-1].TerminationKind)
	for _, b := range bodies {
		assert.True(t, b.isClosed())
	}
}

func TestPlaneWaitReady(t *testing.T) {
	t.Run("unknown id: 404 from status, no stream (Plane's would keep-alive forever)", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newPlaneClient(t, planeCfg, mock)
		mock.RegisterResponder("GET", planeURL+"/pub/b/b1/status", jsonResponder(404, `{"id":"x","kind":"NotFound","message":"Backend does not exist"}`))
		_, err := c.WaitReady(context.Background(), "b1")
		require.ErrorIs(t, err, ErrNotFound)
		assert.Equal(t, 0, calls(mock, "GET", planeStreamURL))
	})
	t.Run("ready through the stream", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newPlaneClient(t, planeCfg, mock)
		mock.RegisterResponder("GET", planeURL+"/pub/b/b1/status", jsonResponder(200, `{"status":"loading","time":2}`))
		mock.RegisterResponder("GET", planeStreamURL, sseResponder(eventOnPlane(StatusScheduled, 1, true)+eventOnPlane(StatusLoading, 2, true)+eventOnPlane(StatusReady, 3, true), true))
		state, err := c.WaitReady(context.Background(), "b1")
		require.NoError(t, err)
		assert.Equal(t, StatusReady, state.Status)
	})
}

func TestPlaneTerminate(t *testing.T) {
	for _, tc := range []struct {
		opts *TerminateOptions
		path string
	}{
		{nil, "/ctrl/b/b1/soft-terminate"},
		{&TerminateOptions{}, "/ctrl/b/b1/soft-terminate"},
		{&TerminateOptions{Hard: true}, "/ctrl/b/b1/hard-terminate"},
	} {
		mock := httpmock.NewMockTransport()
		c := newPlaneClient(t, planeCfg, mock)
		mock.RegisterResponder("POST", planeURL+tc.path, func(req *http.Request) (*http.Response, error) {
			assert.Equal(t, "null", bodyOf(t, req))
			assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
			return jsonResponder(200, "null")(req)
		})
		require.NoError(t, c.Terminate(context.Background(), "b1", tc.opts))
		assert.Equal(t, 1, mock.GetTotalCallCount(), tc.path)
	}
	mock := httpmock.NewMockTransport()
	c := newPlaneClient(t, planeCfg, mock)
	mock.RegisterResponder("POST", planeURL+"/ctrl/b/nope/soft-terminate", jsonResponder(404, `{"id":"x","kind":"NotFound","message":"Backend does not exist"}`))
	err := c.Terminate(context.Background(), "nope", nil)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestPlaneErrors(t *testing.T) {
	for _, tc := range []struct {
		status   int
		kind     string
		sentinel error
		calls    int
	}{
		{409, "KeyHeld", ErrConflict, 1},
		{409, "KeyUnheldNoSpawnConfig", ErrConflict, 1},
		{400, "NoClusterProvided", nil, 1},
		// A keyed connect repeats these (fastRetry: 3 repeats); the last
		// answer is the error.
		{500, "NoDroneAvailable", nil, 1 + fastRetry.MaxRetries},
		{500, "FailedToAcquireKey", nil, 1 + fastRetry.MaxRetries},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newPlaneClient(t, planeCfg, mock)
			mock.RegisterResponder("POST", planeURL+"/ctrl/connect", jsonResponder(tc.status,
				`{"id":"abcdefghijklmn","kind":"`+tc.kind+`","message":"it failed"}`))
			_, err := c.Spawn(context.Background(), &ConnectRequest{Key: "doc", Spawn: &SpawnConfig{Tag: "v2"}})
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, tc.kind, apiErr.Code)
			assert.Equal(t, "it failed", apiErr.Message)
			assert.Equal(t, "abcdefghijklmn", apiErr.RequestID)
			assert.Contains(t, err.Error(), tc.kind)
			if tc.sentinel != nil {
				assert.ErrorIs(t, err, tc.sentinel)
			}
			assert.Equal(t, tc.calls, mock.GetTotalCallCount())
		})
	}
	t.Run("axum plain-text refusals", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newPlaneClient(t, planeCfg, mock)
		mock.RegisterResponder("POST", planeURL+"/ctrl/connect", jsonResponder(422, "Failed to deserialize the JSON body"))
		_, err := c.Spawn(context.Background(), nil)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, "Failed to deserialize the JSON body", apiErr.Message)
	})
	t.Run("forward-auth 401", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newPlaneClient(t, planeCfg, mock)
		mock.RegisterResponder("POST", planeURL+"/ctrl/connect", jsonResponder(401, "Unauthorized"))
		_, err := c.Spawn(context.Background(), nil)
		require.ErrorIs(t, err, ErrUnauthorized)
	})
}

func TestPlaneSpawnRetries(t *testing.T) {
	for _, tc := range []struct {
		name  string
		key   string
		calls int
	}{
		{"keyless 503 once", "", 1},
		{"keyed 503 retried", "doc", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newPlaneClient(t, planeCfg, mock)
			mock.RegisterResponder("POST", planeURL+"/ctrl/connect", sequence(jsonResponder(503, ""), jsonResponder(200, planeConnectBody)))
			_, _ = c.Spawn(context.Background(), &ConnectRequest{Key: tc.key})
			assert.Equal(t, tc.calls, mock.GetTotalCallCount())
		})
	}
}

func TestUnsupportedOnPlaneError(t *testing.T) {
	c := newPlaneClient(t, planeCfg, httpmock.NewMockTransport())
	_, err := c.account("Backends")
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	assert.Contains(t, err.Error(), "Backends")
	assert.Contains(t, err.Error(), "Plane")
}

func TestPlaneMaxIdle(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxIdle time.Duration
		spawn   *SpawnConfig
		want    any // max_idle_seconds sent, nil for none
	}{
		{"zero config: the default 300 s", 0, nil, float64(DefaultPlaneMaxIdleSeconds)},
		{"configured", 90 * time.Second, nil, float64(90)},
		{"NoMaxIdle sends none", NoMaxIdle, nil, nil},
		{"the spawn's own wins", NoMaxIdle, &SpawnConfig{MaxIdleSeconds: 30}, float64(30)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := planeCfg
			cfg.MaxIdle = tc.maxIdle
			mock := httpmock.NewMockTransport()
			c := newPlaneClient(t, cfg, mock)
			var sent map[string]map[string]any
			mock.RegisterResponder("POST", planeURL+"/ctrl/connect", func(req *http.Request) (*http.Response, error) {
				require.NoError(t, json.Unmarshal([]byte(bodyOf(t, req)), &sent))
				return jsonResponder(200, planeConnectBody)(req)
			})
			_, err := c.Spawn(context.Background(), &ConnectRequest{Spawn: tc.spawn})
			require.NoError(t, err)
			assert.Equal(t, tc.want, sent["spawn_config"]["max_idle_seconds"])
		})
	}
	cfg := planeCfg
	cfg.MaxIdle = time.Millisecond
	_, err := NewPlane(cfg)
	require.Error(t, err, "less than a second cannot be sent")
}

// Numbers Plane's types cannot hold are refused before anything is sent,
// with a *RangeError naming the field. (Plane's drone reads cpu_period and
// cpu_time_limit as u64: sent negative, the backend ends terminated with no
// reason.)
func TestPlaneRangesCheckedBeforeSending(t *testing.T) {
	limits := func(l ResourceLimits) *SpawnConfig {
		return &SpawnConfig{Executable: &Executable{ResourceLimits: &l}}
	}
	for name, tc := range map[string]struct {
		spawn *SpawnConfig
		field string
	}{
		"cpu_period_percent over 255": {limits(ResourceLimits{CPUPeriodPercent: 256}), "ResourceLimits.CPUPeriodPercent"},
		"negative cpu_period_percent": {limits(ResourceLimits{CPUPeriodPercent: -1}), "ResourceLimits.CPUPeriodPercent"},
		"negative cpu_period":         {limits(ResourceLimits{CPUPeriod: -1}), "ResourceLimits.CPUPeriod"},
		"negative cpu_time_limit":     {limits(ResourceLimits{CPUTimeLimit: math.MinInt64}), "ResourceLimits.CPUTimeLimit"},
		"lifetime over int32":         {&SpawnConfig{LifetimeLimitSeconds: math.MaxInt32 + 1}, "LifetimeLimitSeconds"},
		"idle over int32":             {&SpawnConfig{MaxIdleSeconds: math.MaxInt32 + 1}, "MaxIdleSeconds"},
		"negative lifetime":           {&SpawnConfig{LifetimeLimitSeconds: -1}, "LifetimeLimitSeconds"},
	} {
		t.Run(name, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newPlaneClient(t, planeCfg, mock)
			_, err := c.Spawn(context.Background(), &ConnectRequest{Key: "k", Spawn: tc.spawn})
			var rangeErr *RangeError
			require.ErrorAs(t, err, &rangeErr)
			assert.Equal(t, tc.field, rangeErr.Field)
			assert.Contains(t, err.Error(), tc.field)
			assert.Contains(t, err.Error(), "Plane's range")
			assert.Equal(t, 0, mock.GetTotalCallCount(), "nothing sent")
		})
	}
	t.Run("the largest values Plane takes are sent", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newPlaneClient(t, planeCfg, mock)
		mock.RegisterResponder("POST", planeURL+"/ctrl/connect", jsonResponder(200, planeConnectBody))
		spawn := limits(ResourceLimits{CPUPeriod: math.MaxInt64, CPUPeriodPercent: 255, CPUTimeLimit: math.MaxInt64})
		spawn.LifetimeLimitSeconds, spawn.MaxIdleSeconds = math.MaxInt32, math.MaxInt32
		_, err := c.Spawn(context.Background(), &ConnectRequest{Spawn: spawn})
		require.NoError(t, err)
		assert.Equal(t, 1, mock.GetTotalCallCount())
	})
}

// A keyed connect that meets Plane's 500 NoDroneAvailable or
// FailedToAcquireKey is repeated (it returns the key's holder, so the
// repeat makes no second backend); a keyless one is not.
func TestPlaneSpawnRetriesPlaneKinds(t *testing.T) {
	for _, kind := range []string{"NoDroneAvailable", "FailedToAcquireKey"} {
		refusal := jsonResponder(500, `{"id":"e1","kind":"`+kind+`","message":"try again"}`)
		t.Run(kind+": keyed connect repeated", func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newPlaneClient(t, planeCfg, mock)
			mock.RegisterResponder("POST", planeURL+"/ctrl/connect", sequence(refusal, jsonResponder(200, planeConnectBody)))
			resp, err := c.Spawn(context.Background(), &ConnectRequest{Key: "doc-42"})
			require.NoError(t, err)
			assert.Equal(t, "vt7jja037few8s", resp.BackendID, "one backend, from the repeat")
			assert.Equal(t, 2, mock.GetTotalCallCount())
		})
		t.Run(kind+": keyless connect not repeated", func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newPlaneClient(t, planeCfg, mock)
			mock.RegisterResponder("POST", planeURL+"/ctrl/connect", sequence(refusal, jsonResponder(200, planeConnectBody)))
			_, err := c.Spawn(context.Background(), nil)
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, http.StatusInternalServerError, apiErr.StatusCode)
			assert.Equal(t, kind, apiErr.Code, "the body reaches the error whole")
			assert.Equal(t, 1, mock.GetTotalCallCount(), "never repeated: it could spawn a second backend")
		})
	}
	t.Run("other 500s are not repeated", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newPlaneClient(t, planeCfg, mock)
		mock.RegisterResponder("POST", planeURL+"/ctrl/connect", jsonResponder(500, `{"id":"e2","kind":"KeyHeldUnhealthy","message":"Lock is held but unhealthy."}`))
		_, err := c.Spawn(context.Background(), &ConnectRequest{Key: "doc-42"})
		require.Error(t, err)
		assert.Equal(t, 1, mock.GetTotalCallCount())
	})
}

// The same meaning, whichever dialect said it.
func TestSemanticErrorsFromEitherDialect(t *testing.T) {
	t.Run("plane: key not held", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newPlaneClient(t, planeCfg, mock)
		mock.RegisterResponder("POST", planeURL+"/ctrl/connect", jsonResponder(409,
			`{"id":"e1","kind":"KeyUnheldNoSpawnConfig","message":"Key is not held and no spawn config was provided"}`))
		_, err := c.Spawn(context.Background(), &ConnectRequest{Key: "k", NoSpawn: true})
		require.ErrorIs(t, err, ErrKeyNotHeld)
		assert.NotErrorIs(t, err, ErrKeyHeld)
	})
	t.Run("plane: a NoSpawn join meeting KeyHeld names the tag", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newPlaneClient(t, planeCfg, mock)
		mock.RegisterResponder("POST", planeURL+"/ctrl/connect", jsonResponder(409,
			`{"id":"e2","kind":"KeyHeld","message":"Key is held by a backend with a different tag"}`))
		_, err := c.Spawn(context.Background(), &ConnectRequest{Key: "k", NoSpawn: true})
		require.ErrorIs(t, err, ErrKeyHeld)
		require.ErrorIs(t, err, ErrConflict)
		assert.Contains(t, err.Error(), "Spawn.Tag")
	})
	for name, responder := range map[string]httpmock.Responder{
		"jamsocket: 404":                        jsonResponder(404, `{"error":{"message":"no backend holds the key","code":"NotFound"}}`),
		"dev server: Plane's 409 as plain text": jsonResponder(409, "Key is not held and no spawn config was provided"),
	} {
		t.Run(name, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			c := newTestClient(t, mock)
			mock.RegisterResponder("POST", connectURL, responder)
			_, err := c.Spawn(context.Background(), &ConnectRequest{Key: "k", NoSpawn: true})
			require.ErrorIs(t, err, ErrKeyNotHeld)
		})
	}
	t.Run("jamsocket: a 404 of a connect that may spawn is not about the key", func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		c := newTestClient(t, mock)
		mock.RegisterResponder("POST", connectURL, jsonResponder(404, `{"error":{"message":"no such service","code":"NotFound"}}`))
		_, err := c.Spawn(context.Background(), &ConnectRequest{Key: "k"})
		require.ErrorIs(t, err, ErrNotFound)
		assert.NotErrorIs(t, err, ErrKeyNotHeld)
	})
}
