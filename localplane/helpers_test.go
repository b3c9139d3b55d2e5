package localplane_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// plane is a running local plane for one test.
type plane struct {
	*localplane.Server
	t *testing.T
}

// processCommand runs the test binary as a backend (see runTestBackend).
func processCommand() []string { return []string{os.Args[0], backendArg} }

// handlerBackends serves echoHandler in-process.
func handlerBackends(b localplane.Backend) http.Handler { return echoHandler(b.Env) }

// startPlane starts a local plane on free ports, closed when the test ends.
// Without a Command or Handler it runs handler backends. setup runs before
// Start.
func startPlane(t *testing.T, cfg localplane.Config, setup ...func(*localplane.Server)) *plane {
	t.Helper()
	cfg.APIAddr, cfg.ProxyAddr = "127.0.0.1:0", "127.0.0.1:0"
	if cfg.Command == nil && cfg.Handler == nil && cfg.Container == nil {
		cfg.Handler = handlerBackends
	}
	if cfg.StartupTimeout == 0 {
		cfg.StartupTimeout = 20 * time.Second
	}
	if cfg.GracePeriod == 0 {
		cfg.GracePeriod = 5 * time.Second
	}
	srv, err := localplane.New(cfg)
	require.NoError(t, err)
	localplane.SetKeepAlive(srv, 50*time.Millisecond)
	for _, f := range setup {
		f(srv)
	}
	require.NoError(t, srv.Start())
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	return &plane{Server: srv, t: t}
}

// do sends a request to the API and returns the status and body.
func (p *plane) do(method, path string, body any, header ...string) (int, []byte, http.Header) {
	p.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(p.t, err)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, p.APIURL()+path, r)
	require.NoError(p.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(p.t, err)
	return resp.StatusCode, data, resp.Header
}

// connect calls the Jamsocket connect endpoint and decodes a 200 answer.
func (p *plane) connect(req any) types.ConnectResponse {
	p.t.Helper()
	code, body, _ := p.do("POST", "/v2/service/acct/svc/connect", req)
	require.Equal(p.t, http.StatusOK, code, string(body))
	var res types.ConnectResponse
	require.NoError(p.t, json.Unmarshal(body, &res))
	return res
}

// planeConnect calls /ctrl/connect and decodes a 200 answer.
func (p *plane) planeConnect(req any) wire.PlaneConnectResponse {
	p.t.Helper()
	code, body, _ := p.do("POST", "/ctrl/connect", req)
	require.Equal(p.t, http.StatusOK, code, string(body))
	var res wire.PlaneConnectResponse
	require.NoError(p.t, json.Unmarshal(body, &res))
	return res
}

// sseEvent is one event read from a stream.
type sseEvent struct {
	data string
	id   string
}

// sseStream reads a text/event-stream.
type sseStream struct {
	t        *testing.T
	resp     *http.Response
	r        *bufio.Reader
	comments int
}

// openStream opens an SSE stream; it is closed when the test ends, and every
// read gives up after 20 s.
func (p *plane) openStream(url string, header ...string) *sseStream {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	require.NoError(p.t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	p.t.Cleanup(func() {
		cancel()
		resp.Body.Close()
	})
	require.Equal(p.t, http.StatusOK, resp.StatusCode)
	require.Equal(p.t, "text/event-stream", resp.Header.Get("Content-Type"))
	return &sseStream{t: p.t, resp: resp, r: bufio.NewReader(resp.Body)}
}

// next returns the next event, or ok=false at the end of the stream.
// Keep-alive comments are counted and skipped.
func (s *sseStream) next() (ev sseEvent, ok bool) {
	s.t.Helper()
	var lines []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			require.ErrorIs(s.t, err, io.EOF, "reading stream")
			return sseEvent{}, false
		}
		line = strings.TrimSuffix(line, "\n")
		if line != "" {
			lines = append(lines, line)
			continue
		}
		if len(lines) == 0 {
			continue
		}
		if strings.HasPrefix(lines[0], ":") && len(lines) == 1 {
			s.comments++
			lines = nil
			continue
		}
		for _, l := range lines {
			switch {
			case strings.HasPrefix(l, "data: "):
				ev.data = strings.TrimPrefix(l, "data: ")
			case strings.HasPrefix(l, "id: "):
				ev.id = strings.TrimPrefix(l, "id: ")
			default:
				s.t.Fatalf("unexpected SSE line %q", l)
			}
		}
		return ev, true
	}
}

// state decodes the next event as a status entry; ok=false at the end.
func (s *sseStream) state() (types.BackendState, sseEvent, bool) {
	s.t.Helper()
	ev, ok := s.next()
	if !ok {
		return types.BackendState{}, ev, false
	}
	var st types.BackendState
	require.NoError(s.t, json.Unmarshal([]byte(ev.data), &st), ev.data)
	return st, ev, true
}

// until reads states up to and including one with the given status and
// returns all of them.
func (s *sseStream) until(status types.BackendStatus) []types.BackendState {
	s.t.Helper()
	var seen []types.BackendState
	for {
		st, _, ok := s.state()
		require.True(s.t, ok, "stream ended before %s; saw %v", status, statuses(seen))
		seen = append(seen, st)
		if st.Status == status {
			return seen
		}
	}
}

func statuses(states []types.BackendState) []types.BackendStatus {
	out := make([]types.BackendStatus, len(states))
	for i, st := range states {
		out[i] = st.Status
	}
	return out
}

// statusStream opens a backend's Jamsocket status stream.
func (p *plane) statusStream(id string) *sseStream {
	return p.openStream(p.APIURL() + "/v2/backend/" + id + "/status/stream")
}

// get fetches a URL (through the proxy, typically).
func get(t *testing.T, url string, header ...string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body, resp.Header
}

// errorCode decodes a Jamsocket error body.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e wire.ErrorBody
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.NotEmpty(t, e.Error.Message)
	require.NotEmpty(t, e.Error.ID)
	return e.Error.Code
}

// planeKind decodes a Plane error body.
func planeKind(t *testing.T, body []byte) string {
	t.Helper()
	var e wire.PlaneError
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.Regexp(t, `^[a-z0-9]{14}$`, e.ID)
	require.NotEmpty(t, e.Message)
	return e.Kind
}

var lifecycle = []types.BackendStatus{
	types.StatusScheduled, types.StatusLoading, types.StatusStarting, types.StatusWaiting, types.StatusReady,
}
