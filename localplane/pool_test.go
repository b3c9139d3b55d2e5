package localplane_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// The warm pool's rules, against real processes (container_pool_test.go
// has the container runner's).

// sessionBackendCommand runs the test binary as a backend written with
// package sessionbackend.
func sessionBackendCommand(mode ...string) []string {
	if len(mode) == 0 {
		mode = []string{"sessionbackend"}
	}
	return []string{os.Args[0], backendArg, mode[0]}
}

// waitPool waits until the pool's counts satisfy ok.
func (p *plane) waitPool(what string, ok func(localplane.WarmPoolView) bool) localplane.WarmPoolView {
	p.t.Helper()
	var v localplane.WarmPoolView
	require.Eventually(p.t, func() bool {
		v = p.WarmPool()
		return ok(v)
	}, 30*time.Second, 2*time.Millisecond, "the warm pool: %s; last %+v", what, v)
	return v
}

// full waits until every backend of the pool has said Warmed, and returns
// their process ids.
func (p *plane) full() []int {
	p.t.Helper()
	p.waitPool("full", func(v localplane.WarmPoolView) bool { return v.Ready == v.Size })
	ready, _ := localplane.WarmPIDs(p.Server)
	return ready
}

// echo GETs the backend's echo through the proxy.
func echo(t *testing.T, url string) echoed {
	t.Helper()
	code, body, _ := get(t, url)
	require.Equal(t, http.StatusOK, code, string(body))
	var e echoed
	require.NoError(t, json.Unmarshal(body, &e))
	return e
}

// logBuffer is a Config.Logger whose text the test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// A backend written with sessionbackend runs the same with a pool and
// without: it learns its id, key and env from the assignment or from its
// environment, and a client sees the same statuses in order.
func TestWarmPoolSessionBackendWithAndWithoutPool(t *testing.T) {
	for _, size := range []int{0, 2} {
		t.Run(fmt.Sprintf("pool=%d", size), func(t *testing.T) {
			var out outputs
			p := startPlane(t, localplane.Config{Command: sessionBackendCommand(), WarmPool: size, BackendOutput: out.add})
			var warm []int
			if size > 0 {
				warm = p.full()
				assert.Empty(t, p.Backends(), "a warm backend is in no list")
			}
			res := p.connect(map[string]any{"key": "doc-1", "spawn": map[string]any{
				"executable": map[string]any{"env": map[string]string{"FOO": "bar"}},
			}})
			assert.Equal(t, lifecycle, statuses(p.statusStream(res.BackendID).until(types.StatusReady)))

			got := echo(t, res.URL+"hello")
			assert.Equal(t, res.BackendID, got.Env["SESSION_BACKEND_ID"], "the connect's backend_id is the assignment's")
			assert.Equal(t, "doc-1", got.Env["SESSION_BACKEND_KEY"])
			assert.Equal(t, "bar", got.Env["FOO"])
			assert.NotEmpty(t, got.Env["SESSION_BACKEND_FENCING_TOKEN"])
			view, ok := p.Backend(res.BackendID)
			require.True(t, ok)
			assert.Equal(t, got.PID, view.PID)
			if size == 0 {
				return
			}
			assert.Contains(t, warm, got.PID, "the connect took a warm backend")
			assert.Len(t, p.Backends(), 1)
			refilled := p.full()
			assert.NotContains(t, refilled, got.PID, "the pool refills with a new backend")
			assert.Subset(t, out.of(res.BackendID), []string{"listening", "assigned " + res.BackendID},
				"what it wrote while warm is in its log")
		})
	}
}

// outputs keeps the lines of every backend (Config.BackendOutput).
type outputs struct {
	mu    sync.Mutex
	lines map[string][]string
}

func (o *outputs) add(id, _, line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lines == nil {
		o.lines = map[string][]string{}
	}
	o.lines[id] = append(o.lines[id], line)
}

func (o *outputs) of(id string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.lines[id]...)
}

// Concurrent connects each get a backend of their own: none is assigned
// twice, and those the pool cannot serve start cold.
func TestWarmPoolConcurrentConnectsGetDistinctBackends(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: sessionBackendCommand(), WarmPool: 3})
	warm := p.full()
	const n = 8
	results := make([]types.ConnectResponse, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = p.connect(map[string]any{"key": fmt.Sprint("k", i)}) })
	}
	wg.Wait()
	pids := map[int]string{}
	fromPool := 0
	for _, res := range results {
		p.statusStream(res.BackendID).until(types.StatusReady)
		got := echo(t, res.URL)
		assert.Equal(t, res.BackendID, got.Env["SESSION_BACKEND_ID"], "each backend has its own assignment")
		require.NotContains(t, pids, got.PID, "a process serves one backend")
		pids[got.PID] = res.BackendID
		if contains(warm, got.PID) {
			fromPool++
		}
	}
	assert.Equal(t, len(warm), fromPool, "every warm backend served one connect; the rest started cold")
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// A spawn with resource limits or a mount starts cold; the warm backend
// stays in the pool.
func TestWarmPoolIneligibleSpawnsStartCold(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: sessionBackendCommand(), WarmPool: 1})
	warm := p.full()
	for name, exec := range map[string]map[string]any{
		"limits": {"resource_limits": map[string]any{"cpu_time_limit": 100}},
		"mount":  {"mount": true},
	} {
		res := p.connect(map[string]any{"key": name, "spawn": map[string]any{"executable": exec}})
		p.statusStream(res.BackendID).until(types.StatusReady)
		assert.NotContains(t, warm, echo(t, res.URL).PID, name)
	}
	ready, _ := localplane.WarmPIDs(p.Server)
	assert.Equal(t, warm, ready)
}

// A backend that never says Warmed is never counted warm: connects start
// cold, and the pool stops warming with one line in the log.
func TestWarmPoolBackendThatNeverSaysWarmed(t *testing.T) {
	var log logBuffer
	p := startPlane(t, localplane.Config{
		Command: processCommand(), WarmPool: 2, StartupTimeout: time.Second, Logger: log.logger(),
	})
	res := p.connect(map[string]any{"key": "a"})
	p.statusStream(res.BackendID).until(types.StatusReady)
	view := p.waitPool("off", func(v localplane.WarmPoolView) bool { return v.Off != "" && v.Warming == 0 })
	assert.Zero(t, view.Ready)
	assert.Contains(t, view.Off, "never said Warmed")
	assert.Equal(t, 1, strings.Count(log.String(), "warm pool off"), log.String())

	res = p.connect(map[string]any{"key": "b"})
	p.statusStream(res.BackendID).until(types.StatusReady)
	assert.Equal(t, 1, strings.Count(log.String(), "warm pool off"), "one line, not one per connect")
}

// A warm backend that dies or is killed is replaced.
func TestWarmPoolReplacesADeadBackend(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: sessionBackendCommand(), WarmPool: 1})
	warm := p.full()
	require.NoError(t, syscall.Kill(warm[0], syscall.SIGKILL))
	p.waitPool("replaced", func(localplane.WarmPoolView) bool {
		ready, _ := localplane.WarmPIDs(p.Server)
		return len(ready) == 1 && ready[0] != warm[0]
	})
	assert.Empty(t, p.Backends())
}

// A warm backend whose control connection closed (it gave up waiting) and
// that does not say Warmed again within the startup timeout is killed and
// replaced, instead of keeping its place in the pool for ever; it does not
// count as one that never said Warmed.
func TestWarmPoolReplacesABackendThatGaveUp(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: sessionBackendCommand("gaveup"), WarmPool: 1, StartupTimeout: time.Second})
	warm := p.full()
	view := p.waitPool("replaced", func(v localplane.WarmPoolView) bool {
		ready, _ := localplane.WarmPIDs(p.Server)
		return len(ready) == 1 && ready[0] != warm[0]
	})
	assert.Empty(t, view.Off)
}

// A warm backend that does not say Ready within the startup timeout ends
// terminated, reason startuptimeout.
func TestWarmPoolBackendNotReadyInTime(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: sessionBackendCommand("noready"), WarmPool: 1, StartupTimeout: time.Second})
	warm := p.full()
	res := p.connect(map[string]any{"key": "a"})
	seen := p.statusStream(res.BackendID).until(types.StatusTerminated)
	last := seen[len(seen)-1]
	assert.Equal(t, types.ReasonStartupTimeout, last.TerminationReason)
	assert.NotContains(t, statuses(seen), types.StatusReady)
	view, _ := p.Backend(res.BackendID)
	assert.Equal(t, warm[0], view.PID)
}

// Close ends the warm backends with the others: no process is left.
func TestWarmPoolCloseLeavesNoProcess(t *testing.T) {
	srv, err := localplane.New(localplane.Config{
		APIAddr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0", Command: sessionBackendCommand(), WarmPool: 2,
	})
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	p := &plane{Server: srv, t: t}
	t.Cleanup(func() { srv.Close() })
	warm := p.full()
	res := p.connect(map[string]any{"key": "a"})
	p.statusStream(res.BackendID).until(types.StatusReady)
	_, warming := localplane.WarmPIDs(srv)
	require.NoError(t, srv.Close())
	for _, pid := range append(warm, warming...) {
		assert.True(t, gone(pid), "pid %d", pid)
	}
}

// JAMSOCKET_CONTROL_SOCKET is reserved: a connect cannot point a backend at
// a socket.
func TestWarmPoolControlSocketIsReserved(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: sessionBackendCommand()})
	code, body, _ := p.do("POST", "/v2/service/acct/svc/connect", map[string]any{"spawn": map[string]any{
		"executable": map[string]any{"env": map[string]string{"JAMSOCKET_CONTROL_SOCKET": "/tmp/x.sock"}},
	}})
	assert.Equal(t, http.StatusBadRequest, code, string(body))
	assert.Contains(t, string(body), "JAMSOCKET_CONTROL_SOCKET")
}

// The console's event stream counts the pool: in the reset, then in a pool
// event per change; no warm backend is a row.
func TestWarmPoolInTheConsoleEvents(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: sessionBackendCommand(), WarmPool: 1})
	p.full()
	s := p.openStream(p.APIURL() + "/console/events")
	ev, _ := nextConsoleEvent(t, s)
	require.Equal(t, "reset", ev.Type)
	assert.Empty(t, ev.Backends, "a warm backend is no row")
	require.NotNil(t, ev.Pool)
	assert.Equal(t, 1, ev.Pool.Ready)

	res := p.connect(map[string]any{"key": "a"})
	sawTaken := false
	for {
		ev, _ = nextConsoleEvent(t, s)
		if ev.Type == "pool" && ev.Pool.Ready == 0 {
			sawTaken = true
		}
		if ev.Type == "pool" && ev.Pool.Ready == 1 && sawTaken {
			break
		}
		if ev.Type == "backend" {
			assert.Equal(t, res.BackendID, ev.Backend.ID)
		}
	}
}
