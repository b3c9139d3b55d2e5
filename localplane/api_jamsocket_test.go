package localplane_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestConcurrentConnectsSpawnOnce(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	const n = 100
	results := make([]types.ConnectResponse, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = p.connect(map[string]any{"key": "shared"}) })
	}
	wg.Wait()
	spawned, tokens := 0, map[string]bool{}
	for _, r := range results {
		if r.Spawned {
			spawned++
		}
		assert.Equal(t, results[0].BackendID, r.BackendID)
		tokens[r.Token] = true
	}
	assert.Equal(t, 1, spawned)
	assert.Len(t, tokens, n, "a fresh token per connect")
	assert.Len(t, p.Backends(), 1)

	// The same key under another service or environment is another backend.
	code, body, _ := p.do("POST", "/v2/service/acct/svc/staging/connect", map[string]any{"key": "shared"})
	require.Equal(t, http.StatusOK, code)
	var other types.ConnectResponse
	require.NoError(t, json.Unmarshal(body, &other))
	assert.True(t, other.Spawned)
}

func TestJamsocketBadInput(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	connect := "/v2/service/acct/svc/connect"
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		code   int
		ecode  string
	}{
		{"malformed JSON", "POST", connect, `{"key":`, 400, "InvalidJson"},
		{"wrong spawn type", "POST", connect, `{"spawn":"yes"}`, 400, "InvalidJson"},
		{"oversized body", "POST", connect, `{"key":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "PayloadTooLarge"},
		{"reserved env", "POST", connect, map[string]any{"spawn": map[string]any{"executable": map[string]any{"env": map[string]string{"SESSION_BACKEND_ID": "x"}}}}, 400, "BadRequest"},
		{"reserved PORT", "POST", connect, map[string]any{"spawn": map[string]any{"executable": map[string]any{"env": map[string]string{"PORT": "1"}}}}, 400, "BadRequest"},
		{"spawn false without key", "POST", connect, `{"spawn":false}`, 400, "BadRequest"},
		{"spawn false unheld key", "POST", connect, `{"key":"nobody","spawn":false}`, 404, "NotFound"},
		{"unknown status", "GET", "/v2/backend/nosuchbackend0/status", nil, 404, "NotFound"},
		{"unknown stream", "GET", "/v2/backend/nosuchbackend0/status/stream", nil, 404, "NotFound"},
		{"unknown info", "GET", "/v2/backend/nosuchbackend0", nil, 404, "NotFound"},
		{"unknown logs", "GET", "/v2/backend/nosuchbackend0/logs/stream", nil, 404, "NotFound"},
		{"unknown terminate", "POST", "/v2/backend/nosuchbackend0/terminate", `{}`, 404, "NotFound"},
		{"unknown route", "GET", "/v2/nothing", nil, 404, "NotFound"},
	}
	for _, c := range cases {
		code, body, hdr := p.do(c.method, c.path, c.body)
		assert.Equal(t, c.code, code, c.name)
		assert.Equal(t, "application/json", hdr.Get("Content-Type"), c.name)
		assert.Equal(t, c.ecode, errorCode(t, body), c.name)
	}
	// Still serving.
	assert.True(t, p.connect(map[string]any{"key": "fine"}).Spawned)
	// Terminate accepts an empty body (soft).
	code, _, _ := p.do("POST", "/v2/backend/"+p.connect(nil).BackendID+"/terminate", "")
	assert.Equal(t, http.StatusOK, code)
}

func TestTokenAuth(t *testing.T) {
	p := startPlane(t, localplane.Config{Token: "sekrit"})
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "sekrit"},
		{"Authorization", "Basic sekrit"}, {"Authorization", "Bearer sekrit2"}, {"Authorization", "Bearer"}} {
		code, body, h := p.do("POST", "/v2/service/a/s/connect", `{}`, hdr...)
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Equal(t, "Unauthorized", errorCode(t, body))
		assert.NotEmpty(t, h.Get("WWW-Authenticate"))
		code, body, _ = p.do("POST", "/ctrl/connect", `{}`, hdr...)
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Equal(t, "Unauthorized", planeKind(t, body))
	}
	// The scheme is case-insensitive (RFC 7235), the token is not.
	code, _, _ := p.do("POST", "/v2/service/a/s/connect", `{}`, "Authorization", "bearer sekrit")
	require.Equal(t, http.StatusOK, code)
	auth := []string{"Authorization", "Bearer sekrit"}
	code, body, _ := p.do("POST", "/v2/service/a/s/connect", `{}`, auth...)
	require.Equal(t, http.StatusOK, code)
	var res types.ConnectResponse
	require.NoError(t, json.Unmarshal(body, &res))

	// Public endpoints stay public; control ones do not.
	code, _, _ = p.do("GET", "/v2/backend/"+res.BackendID+"/status", nil)
	assert.Equal(t, http.StatusOK, code)
	code, _, _ = p.do("GET", "/pub/b/"+res.BackendID+"/status", nil)
	assert.Equal(t, http.StatusOK, code)
	code, _, _ = p.do("GET", "/pub/health", nil)
	assert.Equal(t, http.StatusOK, code)
	for _, path := range []string{"/v2/backend/" + res.BackendID, "/v2/account/a/backends", "/v2/backend/" + res.BackendID + "/logs/stream", "/ctrl/status"} {
		code, _, _ = p.do("GET", path, nil)
		assert.Equal(t, http.StatusUnauthorized, code, path)
	}
	code, _, _ = p.do("POST", "/v2/backend/"+res.BackendID+"/terminate", `{}`)
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _, _ = p.do("POST", "/v2/backend/"+res.BackendID+"/terminate", `{"hard":true}`, auth...)
	assert.Equal(t, http.StatusOK, code)
}

func TestCORS(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	code, _, hdr := p.do("OPTIONS", "/v2/backend/x/status", nil, "Origin", "http://example.com", "Access-Control-Request-Method", "GET")
	assert.Equal(t, http.StatusNoContent, code)
	assert.Equal(t, "*", hdr.Get("Access-Control-Allow-Origin"))
	assert.NotEmpty(t, hdr.Get("Access-Control-Allow-Methods"))
}

func TestInfoListAndLogs(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: processCommand()})
	res := p.connect(map[string]any{"key": "logged", "spawn": map[string]any{
		"executable": map[string]any{"resource_limits": map[string]any{"memory_limit_bytes": 8 << 30, "cpu_time_limit": 600}},
	}})
	p.statusStream(res.BackendID).until(types.StatusReady)

	code, body, _ := p.do("GET", "/v2/account/acct/backends", nil)
	require.Equal(t, http.StatusOK, code)
	var list struct {
		Running []map[string]any `json:"running_backends"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list.Running, 1)
	item := list.Running[0]
	assert.Equal(t, res.BackendID, item["id"])
	assert.Equal(t, "logged", item["key"])
	assert.Equal(t, "svc", item["service_name"])
	assert.Equal(t, "acct", item["account_name"])
	assert.Equal(t, "ready", item["status"].(map[string]any)["status"])
	code, body, _ = p.do("GET", "/v2/account/other/backends", nil)
	require.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"running_backends":[]}`, string(body))

	logs := p.openStream(p.APIURL() + "/v2/backend/" + res.BackendID + "/logs/stream")
	var lines []string
	for len(lines) < 3 {
		ev, ok := logs.next()
		require.True(t, ok)
		lines = append(lines, ev.data)
	}
	assert.ElementsMatch(t, []string{"backend starting mode=", "a line on stderr", "listening"}, lines)

	require.NoError(t, p.Terminate(res.BackendID, false))
	for {
		ev, ok := logs.next()
		if !ok {
			break // ends after terminated
		}
		lines = append(lines, ev.data)
	}
	assert.Contains(t, lines, "got SIGTERM")

	// Lines are numbered; a client resuming after line 1 gets the rest only.
	resumed := p.openStream(p.APIURL()+"/v2/backend/"+res.BackendID+"/logs/stream", "Last-Event-ID", "1")
	var rest []string
	for {
		ev, ok := resumed.next()
		if !ok {
			break
		}
		assert.NotEqual(t, "0", ev.id)
		assert.NotEqual(t, "1", ev.id)
		rest = append(rest, ev.data)
	}
	assert.Equal(t, lines[2:], rest)

	code, body, _ = p.do("GET", "/v2/backend/"+res.BackendID, nil)
	require.Equal(t, http.StatusOK, code)
	var info map[string]any
	require.NoError(t, json.Unmarshal(body, &info))
	for _, f := range []string{"id", "created_at", "service_name", "cluster_name", "account_name", "statuses", "image_digest", "key", "environment_name", "max_mem_bytes"} {
		assert.Contains(t, info, f)
	}
	assert.Equal(t, "default", info["environment_name"])
	assert.EqualValues(t, 8<<30, info["max_mem_bytes"])
	statuses := info["statuses"].([]any)
	last := statuses[len(statuses)-1].(map[string]any)
	assert.EqualValues(t, 0, last["exit_code"])
	assert.Equal(t, "ready", last["last_status"])

	code, body, _ = p.do("GET", "/v2/account/acct/backends", nil)
	require.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"running_backends":[]}`, string(body))
}

// A terminate whose body cannot be read (broken chunked encoding) is a bad
// request, not a terminate with default options.
func TestTerminateUnreadableBody(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	res := p.connect(map[string]any{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.APIURL(), "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /v2/backend/"+res.BackendID+"/terminate HTTP/1.1\r\nHost: localhost\r\n"+
		"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	body := readAll(t, resp)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	assert.Equal(t, "BadRequest", errorCode(t, []byte(body)))
	sum, ok := p.Backend(res.BackendID)
	require.True(t, ok)
	assert.False(t, sum.Status.IsEnding(), "status %s", sum.Status)
}

// Keys are namespaced per account, service and environment, whatever bytes
// those path segments hold.
func TestKeyNamespacesDoNotCollide(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	ids := map[string]bool{}
	for _, path := range []string{
		"/v2/service/a%00b/c/connect",
		"/v2/service/a/b%00c/connect",
		"/v2/service/a/b/c%00d/connect",
		"/v2/service/a/b%00c/d/connect",
	} {
		code, body, _ := p.do("POST", path, map[string]any{"key": "k"})
		require.Equal(t, http.StatusOK, code, string(body))
		var res types.ConnectResponse
		require.NoError(t, json.Unmarshal(body, &res))
		assert.True(t, res.Spawned, "%s: spawned", path)
		ids[res.BackendID] = true
	}
	assert.Len(t, ids, 4, "four backends")
}
