package localplane_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// The connect handlers of both surfaces and the proxy's request handling,
// fuzzed. CI runs each for a short while (.ci/run); the seeds run with
// every go test. Invariants: no panic (a dropped connection), no 5xx but
// the documented ones, and no secret echoed: the API token, and any string
// value of the request holding secretMark (auth, user, env values; names
// and keys may be named in an error).

const (
	fuzzAPIToken = "fuzz-api-token-s3cr3t/"
	// secretMark marks a request's string values the answer must never
	// hold. "/" keeps it out of backend ids, which are echoed.
	secretMark = "s3cr3t/"
)

// fuzzServer starts a local plane of handler backends for a fuzz target,
// with fuzzAPIToken as its token. setup runs before Start.
func fuzzServer(f *testing.F, handler func(localplane.Backend) http.Handler, setup ...func(*localplane.Server)) *localplane.Server {
	srv, err := localplane.New(localplane.Config{
		APIAddr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0", Handler: handler, Token: fuzzAPIToken,
		StartupTimeout: 20 * time.Second, GracePeriod: time.Second,
	})
	require.NoError(f, err)
	for _, s := range setup {
		s(srv)
	}
	require.NoError(f, srv.Start())
	f.Cleanup(func() { require.NoError(f, srv.Close()) })
	return srv
}

// fuzzClient gives up on an answer that takes longer than any should.
var fuzzClient = &http.Client{Timeout: 10 * time.Second}

// fuzzPost posts body to the API with the token, and returns the status,
// the body and the Content-Type.
func fuzzPost(t *testing.T, srv *localplane.Server, path string, body []byte) (int, []byte, string) {
	req, err := http.NewRequest("POST", srv.APIURL()+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+fuzzAPIToken)
	resp, err := fuzzClient.Do(req)
	require.NoError(t, err, "the handler dropped the connection (a panic?) or hung on %q", body)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out, resp.Header.Get("Content-Type")
}

// secretValues are the string values of a JSON body that hold secretMark
// (object keys excluded).
func secretValues(body []byte) []string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if strings.Contains(v, secretMark) {
				out = append(out, v)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// requireNoSecret fails if answer holds the API token or a secret value of
// request, as it is or JSON-encoded.
func requireNoSecret(t *testing.T, request, answer []byte) {
	t.Helper()
	require.NotContains(t, string(answer), fuzzAPIToken)
	for _, s := range secretValues(request) {
		require.NotContains(t, string(answer), s)
		encoded, _ := json.Marshal(s)
		require.NotContains(t, string(answer), string(encoded[1:len(encoded)-1]))
	}
}

// endSpawned hard-terminates a backend a 200 answer spawned, so that a long
// run stays below the live-backend bound.
func endSpawned(t *testing.T, srv *localplane.Server, answer []byte) {
	var res struct {
		BackendID string `json:"backend_id"`
		Spawned   bool   `json:"spawned"`
	}
	require.NoError(t, json.Unmarshal(answer, &res), "a 200 answer is a connect response: %s", answer)
	if res.Spawned {
		srv.Terminate(res.BackendID, true) // it may have ended already
	}
}

var connectSeeds = []string{
	`{}`,
	`{"key":"room","user":"u","auth":{"a":"s3cr3t/auth"}}`,
	`{"key":"room","spawn":false}`,
	`{"spawn":{"executable":{"env":{"FOO":"s3cr3t/env","LD_PRELOAD":"s3cr3t/lib"}}}}`,
	`{"spawn":{"executable":{"env":{"NODE_OPTIONS":"--require s3cr3t/x.js"},"resource_limits":{"memory_limit_bytes":-1}}}}`,
	`{"spawn":{"max_idle_seconds":18446744074,"lifetime_limit_seconds":-1}}`,
	`{"key":"` + strings.Repeat("k", 129) + `"}`,
	`{"user":5}`,
	`{"auth":"s3cr3t/"}`,
	`[]`,
	`null`,
	`{"key":`,
}

func FuzzJamsocketConnect(f *testing.F) {
	for _, s := range connectSeeds {
		f.Add("svc", []byte(s))
	}
	f.Add("s/v c%", []byte(`{"KEY":"x","SPAWN":{"EXECUTABLE":{"ENV":{"bash_env":"s3cr3t/"}}}}`))
	srv := fuzzServer(f, handlerBackends)
	f.Fuzz(func(t *testing.T, service string, body []byte) {
		if service == "" || service == "." || service == ".." {
			service = "svc" // a path segment the mux would clean away
		}
		code, answer, _ := fuzzPost(t, srv, "/v2/service/acct/"+url.PathEscape(service)+"/connect", body)
		switch code {
		case http.StatusOK:
			endSpawned(t, srv, answer)
		case http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
			var e wire.ErrorBody
			require.NoError(t, json.Unmarshal(answer, &e), "a Jamsocket error body: %s", answer)
			require.EqualValues(t, code, e.Error.Status)
		default:
			t.Fatalf("status %d for %q: %s", code, body, answer)
		}
		requireNoSecret(t, body, answer)
	})
}

func FuzzPlaneConnect(f *testing.F) {
	for _, s := range []string{
		`{"key":{"name":"room","namespace":"n","tag":"t"},"spawn_config":{"executable":{"image":"x"}},"user":"s3cr3t/u","auth":{"a":"s3cr3t/a"}}`,
		`{"key":{"name":"room"}}`,
		`{"SPAWN_CONFIG":{}}`,
		`{"KEY":{"namespace":"n"}}`,
		`{"spawn_config":{"id":"s3cr3t/","executable":{"image":"x","env":{"PORT":"1"}}}}`,
		`{"spawn_config":{"executable":{"image":"x","env":{"LD_PRELOAD":"s3cr3t/"},"resource_limits":{"cpu_period_percent":300}},"max_idle_seconds":2147483648}}`,
		`{"auth":null}`,
		`{"auth":[1]}`,
		`{"spawn_config":{"executable":{"image":"x"},"use_static_token":true}}`,
		`{"key":{"name":"a"},"Key":{"NAME":null}}`,
		`null`,
		`{`,
	} {
		f.Add([]byte(s))
	}
	srv := fuzzServer(f, handlerBackends)
	f.Fuzz(func(t *testing.T, body []byte) {
		code, answer, ct := fuzzPost(t, srv, "/ctrl/connect", body)
		switch {
		case code == http.StatusOK:
			endSpawned(t, srv, answer)
		case strings.HasPrefix(ct, "text/plain") && (code == http.StatusBadRequest || code == http.StatusUnprocessableEntity || code == http.StatusRequestEntityTooLarge):
			// axum's body errors
		case code == http.StatusBadRequest || code == http.StatusConflict || code == http.StatusUnprocessableEntity ||
			code == http.StatusServiceUnavailable || code == http.StatusInternalServerError:
			var e wire.PlaneError
			require.NoError(t, json.Unmarshal(answer, &e), "a Plane error body: %s", answer)
			if code == http.StatusInternalServerError {
				// The one documented 500: Plane's "no drone available".
				require.Equal(t, wire.PlaneKindNoDroneAvailable, e.Kind, "%s", answer)
			}
		default:
			t.Fatalf("status %d for %q: %s", code, body, answer)
		}
		requireNoSecret(t, body, answer)
	})
}

// fuzzIdentity is what the proxy fuzz target's backend expects to see.
type fuzzIdentity struct {
	mu                     sync.Mutex
	user, userData, secret string
}

// verdict says what is wrong with the verified headers of r, or "ok": each
// must be there exactly once with the connect's value, and no other
// spelling of an x-verified-* name may reach the backend.
func (id *fuzzIdentity) verdict(r *http.Request) string {
	id.mu.Lock()
	defer id.mu.Unlock()
	want := map[string]string{
		"X-Verified-Username":  id.user,
		"X-Verified-User-Data": id.userData,
		"X-Verified-Secret":    id.secret,
	}
	for name, values := range r.Header {
		l := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if !strings.HasPrefix(l, "x-verified-") {
			continue
		}
		if _, ours := map[string]bool{
			"X-Verified-Username": true, "X-Verified-User-Data": true, "X-Verified-Secret": true,
			"X-Verified-Backend": true, "X-Verified-Path": true,
		}[name]; !ours || len(values) != 1 {
			return "forged " + name
		}
		if v, ok := want[name]; ok && values[0] != v {
			return "wrong " + name
		}
	}
	for name := range want {
		if len(r.Header[name]) != 1 {
			return "missing " + name
		}
	}
	return "ok"
}

func FuzzProxyRequest(f *testing.F) {
	for _, seed := range []struct{ path, name, value string }{
		{"/$TOKEN/", "X-Test", "1"},
		{"/$TOKEN/a%2Fb?x=1", "X-Verified-Username", "forged"},
		{"/$TOKEN/x", "x_verified_secret", "forged"},
		{"/$TOKEN/x", "Connection", "X-Verified-User-Data, X-Verified-Secret"},
		{"/$TOKEN/ws", "Upgrade", "websocket"},
		{"/$TOKEN", "X-VERIFIED-PATH", "/"},
		{"/$TOKEN/../../x", "Transfer-Encoding", "chunked"},
		{"//", "Host", "x"},
		{"/unknown-token/x", "Cookie", "a=b"},
		{"/%24TOKEN/", "Content-Length", "5"},
		{"*", "X", "y"},
	} {
		f.Add(seed.path, seed.name, seed.value)
	}
	id := &fuzzIdentity{user: "fuzz-user"}
	srv := fuzzServer(f, func(localplane.Backend) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Fuzz-Verdict", id.verdict(r))
			io.Copy(io.Discard, r.Body)
		})
	}, func(s *localplane.Server) {
		// A request announcing a body it never sends fails in 100 ms.
		localplane.SetTimeouts(s, 2*time.Second, 2*time.Second, 2*time.Second, 100*time.Millisecond)
	})
	res := connectForFuzz(f, srv, `{"key":"fuzz","user":"fuzz-user","auth":{"a":"s3cr3t/auth"}}`)
	id.mu.Lock()
	id.userData, id.secret = `{"a":"s3cr3t/auth"}`, res.SecretToken
	id.mu.Unlock()
	secrets := []string{res.Token, res.SecretToken, fuzzAPIToken}
	proxy := strings.TrimPrefix(srv.ProxyURL(), "http://")

	f.Fuzz(func(t *testing.T, path, name, value string) {
		path = strings.ReplaceAll(path, "$TOKEN", res.Token)
		c, err := net.DialTimeout("tcp", proxy, 5*time.Second)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n%s: %s\r\nConnection: close\r\n\r\n", path, proxy, name, value)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			// The server may close a request it cannot parse without an
			// answer; that is no panic of ours (a panic is logged, and
			// the next request would find the plane gone).
			return
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if v := resp.Header.Get("X-Fuzz-Verdict"); v != "" {
			require.Equal(t, "ok", v, "%q %q: %q", path, name, value)
		}
		switch {
		case resp.StatusCode < 500:
		case resp.StatusCode == http.StatusNotImplemented:
			// net/http's own answer to a Transfer-Encoding it does not
			// know, before any handler runs.
		case resp.StatusCode == http.StatusBadGateway && resp.Header.Get("X-Fuzz-Verdict") == "":
			// The request could not be sent on (a body announced and
			// never sent, a protocol switch the backend refuses).
		default:
			t.Fatalf("status %d for %q %q: %q", resp.StatusCode, path, name, value)
		}
		var dump bytes.Buffer
		resp.Header.Write(&dump)
		dump.Write(raw)
		for _, s := range secrets {
			require.NotContains(t, dump.String(), s, "%q %q: %q", path, name, value)
		}
	})
}

// connectForFuzz connects a backend and waits until it is ready.
func connectForFuzz(f *testing.F, srv *localplane.Server, body string) types.ConnectResponse {
	req, err := http.NewRequest("POST", srv.APIURL()+"/v2/service/acct/svc/connect", strings.NewReader(body))
	require.NoError(f, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+fuzzAPIToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(f, err)
	defer resp.Body.Close()
	var res types.ConnectResponse
	require.NoError(f, json.NewDecoder(resp.Body).Decode(&res))
	require.NotEmpty(f, res.Token)
	ready, err := http.Get(res.URL) // the proxy waits for ready
	require.NoError(f, err)
	ready.Body.Close()
	require.Equal(f, http.StatusOK, ready.StatusCode)
	return res
}
