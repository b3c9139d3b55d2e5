package jamsocket

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// officialDevServer answers as the official CLI's dev server does
// (jamsocket/jamsocket cli/src/dev-server/index.ts): status and terminate
// from what it knows (devBackends), a bodiless 404 for a backend it does
// not know (one that ended, one whose first status it has not heard yet,
// one it never had); the status stream passed through from Plane, which
// replays every backend Plane has, ended or not, and stays open and silent
// for an id Plane never had.
type officialDevServer struct {
	*httptest.Server
	mu sync.Mutex
	// plane holds Plane's record of every backend: its statuses so far.
	plane map[string]*planeRecord
	// known is the dev server's devBackends: the backends it has heard a
	// status of and that have not terminated.
	known     map[string]bool
	terminate []string // the terminate requests, answered or not
	spawned   int
	// endOnStream, if set, is a backend whose first status stream request
	// ends it and is refused (503), as a dev server that drops the stream
	// while the backend ends.
	endOnStream string
}

type planeRecord struct {
	history []BackendStatus
	changed chan struct{} // closed and replaced on each status
}

func newOfficialDevServer(t *testing.T) *officialDevServer {
	t.Helper()
	f := &officialDevServer{plane: map[string]*planeRecord{}, known: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/service/{account}/{service}/connect", f.connect)
	mux.HandleFunc("GET /v2/backend/{id}/status", f.status)
	mux.HandleFunc("GET /v2/backend/{id}/status/stream", f.stream)
	mux.HandleFunc("POST /v2/backend/{id}/terminate", f.terminateBackend)
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

// spawn makes a backend Plane has (scheduled) and, if known, the dev
// server has heard of.
func (f *officialDevServer) spawn(known bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spawned++
	id := fmt.Sprintf("dev%d", f.spawned)
	f.plane[id] = &planeRecord{history: []BackendStatus{StatusScheduled}, changed: make(chan struct{})}
	f.known[id] = known
	return id
}

// advance adds statuses to a backend's record; the dev server hears of
// them, and forgets the backend at terminated.
func (f *officialDevServer) advance(id string, statuses ...BackendStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.plane[id]
	r.history = append(r.history, statuses...)
	close(r.changed)
	r.changed = make(chan struct{})
	f.known[id] = true
	if statuses[len(statuses)-1] == StatusTerminated {
		delete(f.known, id)
	}
}

// hear is the dev server's own status stream from Plane delivering
// statuses, at the moment this one does: a backend it did not know yet
// becomes known, unless it has ended.
func (f *officialDevServer) hear(id string, statuses []BackendStatus) {
	if len(statuses) == 0 || statuses[len(statuses)-1] == StatusTerminated {
		return
	}
	f.mu.Lock()
	f.known[id] = true
	f.mu.Unlock()
}

func (f *officialDevServer) terminateRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.terminate...)
}

func (f *officialDevServer) connect(w http.ResponseWriter, _ *http.Request) {
	id := f.spawn(true)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"backend_id": id, "status_url": f.URL + "/v2/backend/" + id + "/status", "status": "scheduled",
		"spawned": true, "ready_url": "", "url": "http://localhost:9090/tok/", "secret_token": nil, "token": "tok",
	})
}

func (f *officialDevServer) status(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	id := r.PathValue("id")
	known, rec := f.known[id], f.plane[id]
	f.mu.Unlock()
	if !known {
		w.WriteHeader(http.StatusNotFound) // no body, no content type
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"status":%q,"time":"2024-11-04T20:42:21.123Z"}`, rec.history[len(rec.history)-1])
}

func (f *officialDevServer) terminateBackend(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	id := r.PathValue("id")
	f.terminate = append(f.terminate, id)
	known := f.known[id]
	f.mu.Unlock()
	if !known {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	f.advance(id, StatusTerminating, StatusTerminated)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}`))
}

func (f *officialDevServer) stream(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	refuse := f.endOnStream != "" && f.endOnStream == r.PathValue("id")
	if refuse {
		f.endOnStream = ""
	}
	f.mu.Unlock()
	if refuse {
		f.advance(r.PathValue("id"), StatusTerminated)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	sent := 0
	for {
		f.mu.Lock()
		rec := f.plane[r.PathValue("id")]
		var fresh []BackendStatus
		var changed chan struct{}
		if rec != nil {
			fresh, changed = rec.history[sent:], rec.changed
		}
		f.mu.Unlock()
		for _, s := range fresh {
			_, _ = fmt.Fprintf(w, "data:{\"status\":%q,\"time\":\"2024-11-04T20:42:21.123Z\"}\n\n", s)
			sent++
		}
		f.hear(r.PathValue("id"), fresh)
		w.(http.Flusher).Flush()
		select {
		case <-changed: // nil for an id Plane never had: silent until the client leaves
		case <-r.Context().Done():
			return
		}
	}
}

// newDevClient is a Dev client of the fake dev server.
func newDevClient(t *testing.T, f *officialDevServer, opts ...Option) *Client {
	t.Helper()
	c, err := New(Config{Dev: true, APIURL: f.URL}, append([]Option{WithRetry(fastRetry), WithStreamPolicy(fastStream)}, opts...)...)
	require.NoError(t, err)
	return c
}

// A backend that ended is forgotten by the official dev server: its
// status and terminate answer a bodiless 404. Terminate succeeds, and
// WaitReady follows the stream's replay to ErrBackendTerminated.
func TestOfficialDevServerForgetsEndedBackends(t *testing.T) {
	f := newOfficialDevServer(t)
	c := newDevClient(t, f)
	ctx := t.Context()

	conn, err := c.Spawn(ctx, nil)
	require.NoError(t, err)
	f.advance(conn.BackendID, StatusLoading, StatusStarting, StatusWaiting, StatusReady)
	require.NoError(t, c.Terminate(ctx, conn.BackendID, nil))

	_, err = c.Status(ctx, conn.BackendID)
	require.ErrorIs(t, err, ErrNotFound, "the dev server forgot it: its status is a bare 404")

	require.NoError(t, c.Terminate(ctx, conn.BackendID, &TerminateOptions{Hard: true}), "a forgotten backend ended: success")
	var seen []BackendStatus
	_, err = c.WaitReady(ctx, conn.BackendID, &WaitOptions{OnStatus: func(s *BackendState) { seen = append(seen, s.Status) }})
	require.ErrorIs(t, err, ErrBackendTerminated, "the replay's ready is not taken for the present")
	assert.NotErrorIs(t, err, ErrNotFound)
	assert.Equal(t, []BackendStatus{StatusScheduled, StatusLoading, StatusStarting, StatusWaiting, StatusReady, StatusTerminating}, seen)

	t.Run("seen alive, then forgotten while the stream is refused", func(t *testing.T) {
		id := f.spawn(true)
		f.mu.Lock()
		f.endOnStream = id
		f.mu.Unlock()
		oneTry := newDevClient(t, f, WithStreamPolicy(StreamPolicy{MaxReconnects: -1, MinWait: -1}))
		_, err := oneTry.WaitReady(ctx, id)
		var ended *BackendTerminatedError
		require.ErrorAs(t, err, &ended, "polling finds it forgotten after it was seen: it ended")
		assert.Nil(t, ended.State)
	})
}

// Terminate right after a spawn, before the dev server has heard the
// backend's first status: its 404 is not the end of the backend, which
// the stream shows alive; the terminate is asked again and the backend
// ends.
func TestOfficialDevServerTerminateJustSpawned(t *testing.T) {
	f := newOfficialDevServer(t)
	c := newDevClient(t, f)
	id := f.spawn(false)

	require.NoError(t, c.Terminate(t.Context(), id, nil))
	assert.Equal(t, []string{id, id}, f.terminateRequests(), "refused once (not known yet), then done")
	f.mu.Lock()
	history := f.plane[id].history
	f.mu.Unlock()
	assert.Equal(t, StatusTerminated, history[len(history)-1], "the backend really ended")
}

// WaitReady right after a spawn, before the dev server knows the backend:
// its status is a bare 404, and the stream brings the backend to ready.
func TestOfficialDevServerWaitReadySlowStart(t *testing.T) {
	f := newOfficialDevServer(t)
	c := newDevClient(t, f)
	id := f.spawn(false)

	ready, err := c.WaitReady(t.Context(), id, &WaitOptions{OnStatus: func(s *BackendState) {
		if s.Status == StatusScheduled {
			go f.advance(id, StatusLoading, StatusReady) // the backend starts while WaitReady follows
		}
	}})
	require.NoError(t, err)
	assert.Equal(t, StatusReady, ready.Status)
}

// An id that neither the dev server nor Plane ever had: a bare 404 and a
// silent stream. WaitReady and Terminate answer ErrNotFound once the
// replay wait (here the stream policy's short idle timeout) runs out.
func TestOfficialDevServerUnknownID(t *testing.T) {
	f := newOfficialDevServer(t)
	const idle = 200 * time.Millisecond
	c := newDevClient(t, f, WithStreamPolicy(StreamPolicy{IdleTimeout: idle, MinWait: -1}))

	_, err := c.WaitReady(t.Context(), "nosuchbackend")
	require.ErrorIs(t, err, ErrNotFound)
	var waitErr *WaitError
	require.ErrorAs(t, err, &waitErr)
	assert.Nil(t, waitErr.LastState)

	err = c.Terminate(t.Context(), "nosuchbackend", nil)
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, []string{"nosuchbackend"}, f.terminateRequests(), "asked once: nothing replayed")
}

// Off Dev, a bare 404 is an unknown id, as the hosted API and Plane mean
// it: ErrNotFound at once, and the stream is never read.
func TestBare404IsNotFoundOffDev(t *testing.T) {
	api := newRecorder(t, false, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })
	hosted, err := New(Config{Account: "acme", Service: "editor", Token: testToken, APIURL: api.URL}, WithRetry(fastRetry))
	require.NoError(t, err)
	plane, err := NewPlane(PlaneConfig{ControllerURL: api.URL, Executable: PlaneExecutable{Image: "img"}}, WithRetry(fastRetry))
	require.NoError(t, err)
	for name, c := range map[string]*Client{"hosted": hosted, "plane": plane} {
		t.Run(name, func(t *testing.T) {
			_, err := c.WaitReady(t.Context(), "b1")
			require.ErrorIs(t, err, ErrNotFound)
			require.ErrorIs(t, c.Terminate(t.Context(), "b1", nil), ErrNotFound)
		})
	}
	assert.ElementsMatch(t, []string{
		"GET /v2/backend/b1/status", "POST /v2/backend/b1/terminate",
		"GET /pub/b/b1/status", "POST /ctrl/b/b1/soft-terminate",
	}, api.requests(), "one request each, no stream")
}
