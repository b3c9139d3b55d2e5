package localplane_test

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// portThief stands in for another program on the machine: handed the port
// the plane picked for a backend, it binds it first. Connections to it
// are accepted and closed at once, so that a probe of it fails fast.
type portThief struct {
	t     *testing.T
	mu    sync.Mutex
	lns   []net.Listener
	wg    sync.WaitGroup
	ports []int
}

func newPortThief(t *testing.T) *portThief {
	th := &portThief{t: t}
	t.Cleanup(func() {
		th.mu.Lock()
		for _, ln := range th.lns {
			ln.Close()
		}
		th.mu.Unlock()
		th.wg.Wait()
	})
	return th
}

// steal binds port on loopback.
func (th *portThief) steal(port int) {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	require.NoError(th.t, err)
	th.mu.Lock()
	th.lns = append(th.lns, ln)
	th.ports = append(th.ports, port)
	th.mu.Unlock()
	th.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	})
}

func (th *portThief) stolen() []int {
	th.mu.Lock()
	defer th.mu.Unlock()
	return append([]int(nil), th.ports...)
}

// portLog is the port source of a test: it records each port the plane
// asked for, and lets the test decide what the OS answers.
type portLog struct {
	mu     sync.Mutex
	picked []int
	next   func() (int, error) // nil: the OS's free port
}

func (l *portLog) source() (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := l.next
	if next == nil {
		next = localplane.FreePort
	}
	port, err := next()
	if err == nil {
		l.picked = append(l.picked, port)
	}
	return port, err
}

func (l *portLog) set(next func() (int, error)) {
	l.mu.Lock()
	l.next = next
	l.mu.Unlock()
}

func (l *portLog) ports() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.picked...)
}

// backendPort asks a ready process backend which PORT it was given.
func backendPort(t *testing.T, url string) int {
	t.Helper()
	code, body, _ := get(t, url)
	require.Equal(t, http.StatusOK, code)
	var e echoed
	require.NoError(t, json.Unmarshal(body, &e))
	port, err := strconv.Atoi(e.Env["PORT"])
	require.NoError(t, err)
	return port
}

// portPlane is a plane of process backends whose ports a test controls: a
// thief can take a port between the plane picking it and the backend
// binding it.
type portPlane struct {
	*plane
	ports *portLog
	thief *portThief
	out   *outputLog
}

// startPortPlane starts a portPlane whose thief takes the i-th port picked
// (from 0) when steal(i) says so.
func startPortPlane(t *testing.T, steal func(i int) bool) *portPlane {
	pp := &portPlane{ports: &portLog{}, thief: newPortThief(t), out: &outputLog{}}
	pp.ports.set(func() (int, error) {
		port, err := localplane.FreePort()
		if err == nil && steal(len(pp.ports.picked)) { // under the portLog's lock
			pp.thief.steal(port)
		}
		return port, err
	})
	pp.plane = startPlane(t, localplane.Config{Command: processCommand(), BackendOutput: pp.out.add}, func(s *localplane.Server) {
		localplane.SetPortSource(s, pp.ports.source)
	})
	return pp
}

// A port another program takes between the plane picking it and the
// backend binding it (once 13 of 9,107 spawns under load) no longer ends
// the backend: it dies with EADDRINUSE, and is started again on another
// port, the same backend to the client.
func TestPortTakenBeforeTheBackendBindsIsRetried(t *testing.T) {
	p := startPortPlane(t, func(i int) bool { return i == 0 })
	res := p.connect(map[string]any{"key": "k"})
	seen := p.statusStream(res.BackendID).until(types.StatusReady)
	assert.Equal(t, lifecycle, statuses(seen), "the client sees one start")

	picked := p.ports.ports()
	require.Len(t, picked, 2, "one port taken, then another")
	assert.Equal(t, picked[1], backendPort(t, res.URL))
	assert.NotEqual(t, p.thief.stolen()[0], picked[1])
	logs := p.out.lines()
	assert.True(t, containsLine(logs, "address already in use"), "the first start's error is in the log: %q", logs)
	assert.True(t, containsLine(logs, "localplane: port "+strconv.Itoa(picked[0])+" was taken before the backend bound it; starting it again on another port"), "%q", logs)
}

// A backend whose port is taken every time is started at most 3 times,
// then ends as a backend that failed does.
func TestPortRetriesAreBounded(t *testing.T) {
	p := startPortPlane(t, func(int) bool { return true })
	res := p.connect(map[string]any{"key": "k"})
	p.statusStream(res.BackendID).until(types.StatusTerminated)
	assert.Len(t, p.ports.ports(), 3, "three starts in all")
	view, ok := p.Backend(res.BackendID)
	require.True(t, ok)
	require.NotNil(t, view.ExitCode)
	assert.Equal(t, 1, *view.ExitCode, "the last start's exit code")
	assert.Equal(t, 2, strings.Count(strings.Join(p.out.lines(), "\n"), "was taken before the backend bound it"))
}

// A port handed to a live backend is never handed to another, even while
// the first has not bound it yet (the OS calls it free until then).
func TestPortOfALiveBackendIsNotHandedAgain(t *testing.T) {
	p := startPortPlane(t, func(int) bool { return false })
	ports := p.ports
	// A backend that never binds its port: the OS sees it free.
	slow := p.connect(map[string]any{"key": "slow", "spawn": map[string]any{"executable": map[string]any{"env": map[string]any{"LOCALPLANE_TEST_BACKEND": "nolisten"}}}})
	p.statusStream(slow.BackendID).until(types.StatusWaiting)
	held := ports.ports()[0]

	// The OS names the same port first.
	answered := false
	ports.set(func() (int, error) {
		if !answered {
			answered = true
			return held, nil
		}
		return localplane.FreePort()
	})
	res := p.connect(map[string]any{"key": "k"})
	p.statusStream(res.BackendID).until(types.StatusReady)
	got := backendPort(t, res.URL)
	assert.NotEqual(t, held, got, "the second backend got a port of its own")
	assert.Equal(t, []int{held, held, got}, ports.ports())
	assert.False(t, containsLine(p.out.lines(), "address already in use"))
}

// outputLog collects the output lines of every backend of a plane
// (Config.BackendOutput).
type outputLog struct {
	mu  sync.Mutex
	all []string
}

func (o *outputLog) add(_, _, text string) {
	o.mu.Lock()
	o.all = append(o.all, text)
	o.mu.Unlock()
}

func (o *outputLog) lines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.all...)
}

func containsLine(lines []string, part string) bool {
	for _, l := range lines {
		if strings.Contains(l, part) {
			return true
		}
	}
	return false
}
