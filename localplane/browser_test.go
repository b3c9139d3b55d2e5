package localplane_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// browserReq is a request as a page in the developer's browser would send it.
type browserReq struct {
	method, path, host, origin, contentType, body, token string
}

func (p *plane) send(r browserReq) (int, http.Header, string) {
	p.t.Helper()
	req, err := http.NewRequest(r.method, p.APIURL()+r.path, strings.NewReader(r.body))
	require.NoError(p.t, err)
	if r.host != "" {
		req.Host = r.host
	}
	if r.origin != "" {
		req.Header.Set("Origin", r.origin)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header, readAll(p.t, resp)
}

const connectPath = "/v2/service/acct/svc/connect"

func TestHostCheckStopsDNSRebinding(t *testing.T) {
	p := startPlane(t, localplane.Config{AllowHosts: []string{"devbox.lan"}})
	res := p.connect(map[string]any{"key": "k"})
	for host, want := range map[string]int{
		"attacker.example":       http.StatusMisdirectedRequest,
		"attacker.example:8080":  http.StatusMisdirectedRequest,
		"localhost.attacker.com": http.StatusMisdirectedRequest,
		"localhost":              http.StatusOK,
		"LOCALHOST:8080":         http.StatusOK,
		"app.localhost":          http.StatusOK,
		"127.0.0.1:1":            http.StatusOK,
		"[::1]:8080":             http.StatusOK,
		"192.168.1.20":           http.StatusOK, // an address cannot be rebound
		"devbox.lan:8080":        http.StatusOK,
	} {
		code, _, body := p.send(browserReq{method: "GET", path: "/v2/backend/" + res.BackendID + "/status", host: host})
		assert.Equal(t, want, code, "%s: %s", host, body)
		if want != http.StatusOK {
			assert.Equal(t, "HostNotAllowed", errorCode(t, []byte(body)))
		}
	}
	code, _, _ := p.send(browserReq{method: "POST", path: connectPath, host: "attacker.example", contentType: "application/json", body: "{}"})
	assert.Equal(t, http.StatusMisdirectedRequest, code)
	assert.Len(t, p.Backends(), 1, "nothing spawned")
}

func TestCrossOriginStateChangesAreRefused(t *testing.T) {
	p := startPlane(t, localplane.Config{AllowOrigins: []string{"http://app.example:3000"}})
	for _, tc := range []struct {
		name string
		req  browserReq
		want int
	}{
		{"form post from a page", browserReq{method: "POST", path: connectPath, origin: "http://evil.example", contentType: "application/x-www-form-urlencoded", body: "a=1"}, http.StatusForbidden},
		{"json from another site", browserReq{method: "POST", path: connectPath, origin: "http://evil.example", contentType: "application/json", body: "{}"}, http.StatusForbidden},
		{"bodiless post from another site", browserReq{method: "POST", path: "/service/acct/svc/terminate-backends", origin: "https://evil.example"}, http.StatusForbidden},
		{"plane ctrl from another site", browserReq{method: "POST", path: "/ctrl/connect", origin: "http://evil.example", contentType: "application/json", body: "{}"}, http.StatusForbidden},
		{"opaque origin", browserReq{method: "POST", path: connectPath, origin: "null", contentType: "application/json", body: "{}"}, http.StatusForbidden},
		{"text/plain without origin", browserReq{method: "POST", path: connectPath, contentType: "text/plain", body: "{}"}, http.StatusUnsupportedMediaType},
		{"body without a type", browserReq{method: "POST", path: "/service/acct/svc/terminate-backends", body: `{"hard":true}`}, http.StatusUnsupportedMediaType},
		{"loopback page", browserReq{method: "POST", path: connectPath, origin: "http://localhost:5173", contentType: "application/json", body: "{}"}, http.StatusOK},
		{"listed origin", browserReq{method: "POST", path: connectPath, origin: "http://app.example:3000", contentType: "application/json", body: "{}"}, http.StatusOK},
		{"no origin (SDK, CLI)", browserReq{method: "POST", path: connectPath, contentType: "application/json", body: "{}"}, http.StatusOK},
		{"no body (SDK)", browserReq{method: "POST", path: "/service/acct/svc/terminate-backends"}, http.StatusOK},
	} {
		code, hdr, body := p.send(tc.req)
		assert.Equal(t, tc.want, code, "%s: %s", tc.name, body)
		if tc.req.origin == "http://app.example:3000" {
			assert.Equal(t, tc.req.origin, hdr.Get("Access-Control-Allow-Origin"), tc.name)
		} else if tc.want == http.StatusOK {
			assert.Empty(t, hdr.Get("Access-Control-Allow-Origin"), "%s: no CORS on control routes", tc.name)
		}
	}
	live := 0
	for _, b := range p.Backends() {
		if !b.Terminated {
			live++
		}
	}
	assert.LessOrEqual(t, live, 3, "only the allowed connects spawned")

	// The API's own origin is not cross-origin, whatever its name.
	pl := startPlane(t, localplane.Config{AllowHosts: []string{"devbox.lan"}})
	code, _, body := pl.send(browserReq{method: "POST", path: connectPath, host: "devbox.lan:8080", origin: "http://devbox.lan:8080", contentType: "application/json", body: "{}"})
	assert.Equal(t, http.StatusOK, code, body)
	code, _, _ = pl.send(browserReq{method: "POST", path: connectPath, host: "devbox.lan:8080", origin: "http://devbox.lan:9999", contentType: "application/json", body: "{}"})
	assert.Equal(t, http.StatusForbidden, code, "another port is another origin")

	// With a token, the token decides.
	pt := startPlane(t, localplane.Config{Token: "tok"})
	code, _, body = pt.send(browserReq{method: "POST", path: connectPath, origin: "http://evil.example", contentType: "application/json", body: "{}", token: "tok"})
	assert.Equal(t, http.StatusOK, code, body)
	code, _, _ = pt.send(browserReq{method: "POST", path: connectPath, origin: "http://evil.example", contentType: "application/json", body: "{}"})
	assert.Equal(t, http.StatusUnauthorized, code)
}

func TestCORSOnlyOnPublicRoutes(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	res := p.connect(map[string]any{"key": "k"})
	for _, path := range []string{"/v2/backend/" + res.BackendID + "/status", "/v2/backend/" + res.BackendID + "/status/stream", "/pub/b/" + res.BackendID + "/status", "/pub/health"} {
		code, hdr, _ := p.send(browserReq{method: "OPTIONS", path: path, origin: "http://elsewhere.example"})
		assert.Equal(t, http.StatusNoContent, code, path)
		assert.Equal(t, "*", hdr.Get("Access-Control-Allow-Origin"), path)
		if !strings.HasSuffix(path, "stream") {
			code, hdr, _ = p.send(browserReq{method: "GET", path: path, origin: "http://elsewhere.example"})
			assert.Equal(t, http.StatusOK, code, path)
			assert.Equal(t, "*", hdr.Get("Access-Control-Allow-Origin"), path)
		}
	}
	for _, path := range []string{connectPath, "/v2/backend/" + res.BackendID + "/terminate", "/v2/backend/" + res.BackendID, "/ctrl/connect", "/service/acct/svc/terminate-backends"} {
		code, hdr, _ := p.send(browserReq{method: "OPTIONS", path: path, origin: "http://elsewhere.example"})
		assert.Equal(t, http.StatusNoContent, code, path)
		assert.Empty(t, hdr.Get("Access-Control-Allow-Origin"), "%s: the preflight fails", path)
	}
}

func TestWrongMethodIs405(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	for _, tc := range []struct{ method, path, allow string }{
		{"GET", connectPath, "POST"},
		{"PUT", connectPath, "POST"},
		{"POST", "/v2/backend/abc/status", "GET, HEAD"},
		{"DELETE", "/v2/backend/abc", "GET, HEAD"},
		{"GET", "/ctrl/connect", "POST"},
		{"POST", "/pub/health", "GET, HEAD"},
		{"GET", "/service/acct/svc/terminate-backends", "POST"},
	} {
		code, hdr, body := p.send(browserReq{method: tc.method, path: tc.path, contentType: "application/json"})
		assert.Equal(t, http.StatusMethodNotAllowed, code, "%s %s: %s", tc.method, tc.path, body)
		assert.Equal(t, tc.allow, hdr.Get("Allow"), "%s %s", tc.method, tc.path)
	}
	code, _, _ := p.send(browserReq{method: "GET", path: "/v2/nothing/here"})
	assert.Equal(t, http.StatusNotFound, code)
}
