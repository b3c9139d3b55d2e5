package localplane_test

import (
	"errors"
	"fmt"
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

// gone reports whether pid no longer runs (a zombie waiting for init to
// reap it counts as gone).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

func TestCloseLeavesNoProcess(t *testing.T) {
	var mu sync.Mutex
	var output []string
	srv, err := localplane.New(localplane.Config{
		APIAddr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0", Command: processCommand(),
		BackendOutput: func(id, stream, line string) {
			mu.Lock()
			defer mu.Unlock()
			output = append(output, line)
		},
	})
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(func() { srv.Close() })
	p := &plane{Server: srv, t: t}

	for i, mode := range []string{"serve", "ignoreterm", "grandchild", "nolisten"} {
		res := p.connect(map[string]any{"key": fmt.Sprint(i), "spawn": map[string]any{
			"executable": map[string]any{"env": map[string]string{"LOCALPLANE_TEST_BACKEND": mode}},
		}})
		if mode != "nolisten" {
			p.statusStream(res.BackendID).until(types.StatusReady)
		}
	}
	var grandchild int
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range output {
			if _, err := fmt.Sscanf(l, "grandchild pid=%d", &grandchild); err == nil {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond)

	var pids []int
	require.Eventually(t, func() bool {
		pids = pids[:0]
		for _, b := range srv.Backends() {
			if b.PID > 0 {
				pids = append(pids, b.PID)
			}
		}
		return len(pids) == 4
	}, 10*time.Second, 5*time.Millisecond, "every backend has a process")
	pids = append(pids, grandchild)
	for _, pid := range pids {
		require.False(t, gone(pid), "pid %d runs before Close", pid)
	}

	start := time.Now()
	require.NoError(t, srv.Close())
	assert.Less(t, time.Since(start), 5*time.Second, "Close does not wait for grace periods")
	for _, pid := range pids {
		assert.True(t, gone(pid), "pid %d is gone after Close", pid)
	}
	for _, b := range srv.Backends() {
		assert.True(t, b.Terminated)
	}
	require.NoError(t, srv.Close(), "Close is idempotent")
	_, err = http.Get(srv.APIURL() + "/pub/health")
	assert.Error(t, err, "nothing listens after Close")
}

func TestRetentionAndOnChange(t *testing.T) {
	var mu sync.Mutex
	seen := map[string][]types.BackendStatus{}
	forgotten := map[string]bool{}
	p := startPlane(t, localplane.Config{
		RetainTerminated: 100 * time.Millisecond,
		OnChange: func(s localplane.BackendView) {
			mu.Lock()
			defer mu.Unlock()
			if s.Forgotten {
				forgotten[s.ID] = true
				return
			}
			seen[s.ID] = append(seen[s.ID], s.Status)
		},
	})
	res := p.connect(nil)
	p.statusStream(res.BackendID).until(types.StatusReady)
	require.NoError(t, p.Terminate(res.BackendID, true))
	require.Eventually(t, func() bool {
		code, _, _ := p.do("GET", "/v2/backend/"+res.BackendID+"/status", nil)
		return code == http.StatusNotFound
	}, 10*time.Second, 10*time.Millisecond, "forgotten after RetainTerminated")
	assert.Empty(t, p.Backends())
	code, _, _ := get(t, res.URL)
	assert.Equal(t, http.StatusGone, code)

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, append(append([]types.BackendStatus{}, lifecycle...),
		types.StatusHardTerminating, types.StatusTerminated), seen[res.BackendID])
	assert.True(t, forgotten[res.BackendID])
}

func TestHandlerBackendDescription(t *testing.T) {
	got := make(chan localplane.Backend, 1)
	p := startPlane(t, localplane.Config{Handler: func(b localplane.Backend) http.Handler {
		got <- b
		fmt.Fprintln(b.Output, "hello from the handler")
		return echoHandler(b.Env)
	}})
	res := p.connect(map[string]any{"key": "k", "user": "ann", "auth": map[string]any{"a": 1.0}})
	b := <-got
	assert.Equal(t, res.BackendID, b.ID)
	assert.Equal(t, "k", b.Key)
	assert.Equal(t, "ann", b.User)
	assert.Equal(t, map[string]any{"a": 1.0}, b.Auth)
	assert.Equal(t, fmt.Sprint(b.Port), b.Env["PORT"])
	logs := p.openStream(p.APIURL() + "/v2/backend/" + res.BackendID + "/logs/stream")
	ev, ok := logs.next()
	require.True(t, ok)
	assert.Equal(t, "hello from the handler", ev.data)

	unkeyed := p.connect(nil)
	sum, ok := p.Backend(unkeyed.BackendID)
	require.True(t, ok)
	assert.Regexp(t, `^lk-[a-z0-9]{14}$`, sum.Key)
	assert.Zero(t, sum.PID)
}

func TestHandlerOutputWithoutNewlineIsKeptAtExit(t *testing.T) {
	p := startPlane(t, localplane.Config{Handler: func(b localplane.Backend) http.Handler {
		fmt.Fprint(b.Output, "no newline at the end")
		return echoHandler(b.Env)
	}})
	res := p.connect(nil)
	p.statusStream(res.BackendID).until(types.StatusReady)
	require.NoError(t, p.Terminate(res.BackendID, true))
	logs := p.openStream(p.APIURL() + "/v2/backend/" + res.BackendID + "/logs/stream")
	ev, ok := logs.next()
	require.True(t, ok, "the last line is in the log")
	assert.Equal(t, "no newline at the end", ev.data)
}
