package localplane_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

var epochTime = regexp.MustCompile(`"time":\d{13}[,}]`)

func planeSpawn(extra map[string]any) map[string]any {
	sc := map[string]any{"executable": map[string]any{"image": "ignored:latest"}}
	for k, v := range extra {
		sc[k] = v
	}
	return sc
}

func TestPlaneSurface(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	key := map[string]any{"name": "room", "namespace": "games", "tag": "v1"}
	res := p.planeConnect(map[string]any{"key": key, "spawn_config": planeSpawn(nil), "user": "u1", "auth": map[string]any{}})
	assert.True(t, res.Spawned)
	assert.Equal(t, p.APIURL()+"/pub/b/"+res.BackendID+"/status", res.StatusURL)
	assert.Equal(t, p.ProxyURL()+"/"+res.Token+"/", res.URL)
	require.NotNil(t, res.Drone)
	require.NotNil(t, res.SecretToken)
	assert.Nil(t, res.Subdomain)

	stream := p.openStream(p.APIURL() + "/pub/b/" + res.BackendID + "/status-stream")
	for _, want := range lifecycle {
		st, ev, ok := stream.state()
		require.True(t, ok)
		assert.Equal(t, want, st.Status)
		assert.Equal(t, string(want), ev.id)
		assert.Regexp(t, epochTime, ev.data)
	}

	code, body, hdr := p.do("GET", "/pub/b/"+res.BackendID+"/status", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Regexp(t, epochTime, string(body))
	assert.Equal(t, "*", hdr.Get("Access-Control-Allow-Origin"))

	// Same key and tag: joined. Other tag: KeyHeld. Same name in another
	// namespace: a different key.
	again := p.planeConnect(map[string]any{"key": key})
	assert.False(t, again.Spawned)
	assert.Equal(t, res.BackendID, again.BackendID)
	assert.Nil(t, again.Drone)
	code, body, _ = p.do("POST", "/ctrl/connect", map[string]any{"key": map[string]any{"name": "room", "namespace": "games", "tag": "v2"}})
	assert.Equal(t, http.StatusConflict, code)
	assert.Equal(t, "KeyHeld", planeKind(t, body))
	code, body, _ = p.do("POST", "/ctrl/connect", map[string]any{"key": map[string]any{"name": "room", "namespace": "other"}})
	assert.Equal(t, http.StatusConflict, code)
	assert.Equal(t, "KeyUnheldNoSpawnConfig", planeKind(t, body))

	code, body, _ = p.do("POST", "/ctrl/b/"+res.BackendID+"/soft-terminate", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "null", string(trimNL(body)))
	st, ev, ok := stream.state()
	require.True(t, ok)
	assert.Equal(t, types.StatusTerminating, st.Status)
	assert.Equal(t, types.KindSoft, st.TerminationKind, "Plane keeps the kind on terminating")
	assert.Equal(t, "terminating", ev.id)
	st, _, _ = stream.state()
	assert.Equal(t, types.StatusTerminated, st.Status)

	// The stream stays open after terminated, with keep-alives.
	line, err := stream.r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, ":\n", line)

	// Terminating a terminated backend is fine on Plane.
	code, _, _ = p.do("POST", "/ctrl/b/"+res.BackendID+"/hard-terminate", nil)
	assert.Equal(t, http.StatusOK, code)

	// Last-Event-ID skips what the client has seen.
	resumed := p.openStream(p.APIURL()+"/pub/b/"+res.BackendID+"/status-stream", "Last-Event-ID", "ready")
	st, ev, ok = resumed.state()
	require.True(t, ok)
	assert.Equal(t, types.StatusTerminating, st.Status)
	assert.Equal(t, "terminating", ev.id)
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
	}
	return b
}

func TestPlaneUnknownBackend(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	code, body, _ := p.do("GET", "/pub/b/nosuchbackend0/status", nil)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "NotFound", planeKind(t, body))
	for _, op := range []string{"soft-terminate", "hard-terminate"} {
		code, body, _ = p.do("POST", "/ctrl/b/nosuchbackend0/"+op, nil)
		assert.Equal(t, http.StatusNotFound, code)
		assert.Equal(t, "NotFound", planeKind(t, body))
	}
	// The stream of an unknown backend is 200 with keep-alives only.
	stream := p.openStream(p.APIURL() + "/pub/b/nosuchbackend0/status-stream")
	line, err := stream.r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, ":\n", line)

	code, body, _ = p.do("GET", "/pub/health", nil)
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"status":"ok"}`, string(body))
	code, _, _ = p.do("GET", "/ctrl/status", nil)
	assert.Equal(t, http.StatusOK, code)
}

func TestPlaneBodyErrors(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	post := func(ct, body string) (int, string, string) {
		req, err := http.NewRequest("POST", p.APIURL()+"/ctrl/connect", stringsReader(body))
		require.NoError(t, err)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b := readAll(t, resp)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}
	code, ct, _ := post("", `{}`)
	assert.Equal(t, http.StatusUnsupportedMediaType, code)
	assert.Contains(t, ct, "text/plain")
	code, _, _ = post("application/json", `{"key":`)
	assert.Equal(t, http.StatusBadRequest, code)
	for _, body := range []string{`[]`, `{"auth":null}`, `{"key":{}}`, `{"spawn_config":{}}`, `{"user":5}`} {
		code, _, text := post("application/json", body)
		assert.Equal(t, http.StatusUnprocessableEntity, code, body+": "+text)
	}
	code, ct, body := post("application/json", `{"spawn_config":{"executable":{"image":"x","env":{"PORT":"1"}}}}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, "application/json", ct)
	assert.Equal(t, "Other", planeKind(t, []byte(body)))

	// Static tokens: one per backend, no secret, path forwarded unchanged.
	res := p.planeConnect(map[string]any{"spawn_config": planeSpawn(map[string]any{"use_static_token": true})})
	assert.Regexp(t, `^s\.`, res.Token)
	assert.Nil(t, res.SecretToken)
	code, raw, _ := get(t, res.URL+"x")
	require.Equal(t, http.StatusOK, code)
	var e echoed
	require.NoError(t, json.Unmarshal(raw, &e))
	assert.Equal(t, "/"+res.Token+"/x", e.Path)
	assert.Equal(t, res.Token, e.Env["SESSION_BACKEND_STATIC_TOKEN"])
	assert.NotContains(t, e.Env, "JAMSOCKET_SERVICE")
}

// /ctrl/connect checks the fields its decoder filled, not the raw JSON in
// exact case: encoding/json matches field names case-insensitively, so
// "SPAWN_CONFIG" is spawn_config and "KEY" is key, and both get the checks
// (a spawn config without an executable once crashed the handler; a key
// without a name once spawned).
func TestPlaneConnectChecksDecodedFields(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	for _, body := range []string{
		`{"SPAWN_CONFIG":{}}`,
		`{"Spawn_Config":{"EXECUTABLE":{}}}`,
		`{"spawn_config":{"executable":{"IMAGE":null}}}`,
		`{"spawn_config":{"executable":null}}`,
		`{"KEY":{"namespace":"n"}}`,
		`{"Key":{"NAME":null}}`,
		`{"AUTH":null}`,
		`{"Auth":[1]}`,
		`null`,
	} {
		code, body2, _ := p.do("POST", "/ctrl/connect", body)
		assert.Equal(t, http.StatusUnprocessableEntity, code, "%s: %s", body, body2)
	}
	assert.Empty(t, p.Backends(), "nothing spawned")

	// Fields in another case still work when they are complete.
	res := p.planeConnect(`{"KEY":{"NAME":"room"},"SPAWN_CONFIG":{"EXECUTABLE":{"IMAGE":"x"}}}`)
	assert.True(t, res.Spawned)
	view, ok := p.Backend(res.BackendID)
	require.True(t, ok)
	assert.Equal(t, "room", view.Key)
}
