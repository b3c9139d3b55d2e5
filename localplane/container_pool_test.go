package localplane_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/dockertest"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// The warm pool's rules against the container runner, on the real engine.

const (
	warmBackendPkg    = "github.com/jamsocket-go/jamsocket/internal/dockertest/warmbackend"
	exampleBackendPkg = "github.com/jamsocket-go/jamsocket/examples/backend"
)

// startWarmContainerPlane starts a container plane of the warmbackend
// image (written with sessionbackend) with a pool of size.
func startWarmContainerPlane(t *testing.T, cfg localplane.Config) (*plane, *client.Client) {
	t.Helper()
	cli := dockertest.Client(t)
	if cfg.Container == nil {
		cfg.Container = &localplane.ContainerConfig{Image: dockertest.GoImage(t, cli, warmBackendPkg)}
	}
	return startContainerPlane(t, cfg)
}

// warmAnswer is what warmbackend answers.
type warmAnswer struct {
	BackendID string `json:"backend_id"`
	Key       string `json:"key"`
	Foo       string `json:"foo"`
	Service   string `json:"service"`
	Port      string `json:"port"`
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	code, body, _ := get(t, url)
	require.Equal(t, http.StatusOK, code, string(body))
	require.NoError(t, json.Unmarshal(body, v), string(body))
}

// examples/backend, written with sessionbackend, runs the same in a
// container with a pool and without one.
func TestContainerWarmPoolExampleBackendWithAndWithoutPool(t *testing.T) {
	cli := dockertest.Client(t)
	image := dockertest.GoImage(t, cli, exampleBackendPkg)
	for _, size := range []int{0, 1} {
		t.Run(fmt.Sprintf("pool=%d", size), func(t *testing.T) {
			p, _ := startContainerPlane(t, localplane.Config{Container: &localplane.ContainerConfig{Image: image}, WarmPool: size})
			var warm []int
			if size > 0 {
				warm = p.full()
			}
			res := p.connect(map[string]any{"key": "doc-1", "user": "ann"})
			assert.Equal(t, lifecycle, statuses(p.statusStream(res.BackendID).until(types.StatusReady)))
			var got struct {
				BackendID string `json:"backend_id"`
				Key       string `json:"key"`
				User      string `json:"user"`
			}
			getJSON(t, res.URL+"hello", &got)
			assert.Equal(t, res.BackendID, got.BackendID)
			assert.Equal(t, "doc-1", got.Key)
			assert.Equal(t, "ann", got.User)
			if size > 0 {
				view, _ := p.Backend(res.BackendID)
				assert.Contains(t, warm, view.PID, "the connect took the warm container")
			}
		})
	}
}

// Concurrent connects get distinct containers; a spawn with limits starts
// cold; the assignment carries the connect's env and the service.
func TestContainerWarmPoolConnects(t *testing.T) {
	p, _ := startWarmContainerPlane(t, localplane.Config{WarmPool: 2})
	warm := p.full()

	const n = 4
	results := make([]types.ConnectResponse, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i] = p.connect(map[string]any{"key": fmt.Sprint("k", i), "spawn": map[string]any{
				"executable": map[string]any{"env": map[string]string{"FOO": fmt.Sprint("foo", i)}},
			}})
		})
	}
	wg.Wait()
	pids := map[int]bool{}
	fromPool := 0
	for i, res := range results {
		assert.Equal(t, lifecycle, statuses(p.statusStream(res.BackendID).until(types.StatusReady)))
		var got warmAnswer
		getJSON(t, res.URL, &got)
		assert.Equal(t, warmAnswer{BackendID: res.BackendID, Key: fmt.Sprint("k", i), Foo: fmt.Sprint("foo", i), Service: "svc", Port: "8080"}, got)
		view, _ := p.Backend(res.BackendID)
		require.False(t, pids[view.PID], "a container serves one backend")
		pids[view.PID] = true
		if contains(warm, view.PID) {
			fromPool++
		}
	}
	assert.Equal(t, len(warm), fromPool, "each warm container served one connect, the rest started cold")

	warm = p.full()
	res := p.connect(map[string]any{"key": "limited", "spawn": map[string]any{
		"executable": map[string]any{"resource_limits": map[string]any{"memory_limit_bytes": 256 << 20}},
	}})
	p.statusStream(res.BackendID).until(types.StatusReady)
	view, _ := p.Backend(res.BackendID)
	assert.NotContains(t, warm, view.PID, "a spawn with resource limits starts cold")
	ready, _ := localplane.WarmPIDs(p.Server)
	assert.ElementsMatch(t, warm, ready)
}

// A container that never says Warmed is never counted warm: connects
// start cold, and the pool stops warming with one line in the log.
func TestContainerWarmPoolBackendThatNeverSaysWarmed(t *testing.T) {
	var log logBuffer
	p, cli := startContainerPlane(t, localplane.Config{WarmPool: 1, StartupTimeout: 2 * time.Second, Logger: log.logger()})
	res := p.connect(map[string]any{"key": "a"})
	p.statusStream(res.BackendID).until(types.StatusReady)
	p.waitPool("off", func(v localplane.WarmPoolView) bool { return v.Off != "" && v.Warming == 0 })
	assert.Equal(t, 1, strings.Count(log.String(), "warm pool off"), log.String())
	require.Eventually(t, func() bool { return len(warmContainers(t, cli)) == 0 }, 30*time.Second, 20*time.Millisecond,
		"the warm containers are removed")
}

// warmContainers lists the warm containers of this process's planes on
// the engine (named jamsocket-local-warm-; other test binaries share the
// engine).
func warmContainers(t *testing.T, cli *client.Client) []string {
	t.Helper()
	res, err := cli.ContainerList(context.Background(), client.ContainerListOptions{
		All: true, Filters: client.Filters{}.Add("label", localplane.LabelOwnerPID+"="+strconv.Itoa(os.Getpid())).
			Add("name", "jamsocket-local-warm-"),
	})
	require.NoError(t, err)
	var ids []string
	for _, c := range res.Items {
		ids = append(ids, c.ID)
	}
	return ids
}

// A warm container that is killed is replaced; a warm backend that does
// not say Ready in time ends terminated (startuptimeout).
func TestContainerWarmPoolReplacesAndTimesOut(t *testing.T) {
	p, cli := startWarmContainerPlane(t, localplane.Config{WarmPool: 1, StartupTimeout: 5 * time.Second})
	warm := p.full()
	ids := warmContainers(t, cli)
	require.Len(t, ids, 1)
	_, err := cli.ContainerKill(context.Background(), ids[0], client.ContainerKillOptions{Signal: "SIGKILL"})
	require.NoError(t, err)
	p.waitPool("replaced", func(localplane.WarmPoolView) bool {
		ready, _ := localplane.WarmPIDs(p.Server)
		return len(ready) == 1 && ready[0] != warm[0]
	})
	assert.Empty(t, p.Backends())

	warm = p.full()
	res := p.connect(map[string]any{"key": "slow", "spawn": map[string]any{
		"executable": map[string]any{"env": map[string]string{"TESTBACKEND_MODE": "noready"}},
	}})
	seen := p.statusStream(res.BackendID).until(types.StatusTerminated)
	assert.Equal(t, types.ReasonStartupTimeout, seen[len(seen)-1].TerminationReason)
	view, _ := p.Backend(res.BackendID)
	assert.Equal(t, warm[0], view.PID)
}

// A new build drains the pool and warms the new image (the old warm
// backends stay while the build runs: spawns are held anyway); Close leaves
// no container.
func TestContainerWarmPoolRebuildAndClose(t *testing.T) {
	cli := dockertest.Client(t)
	image := dockertest.GoImage(t, cli, warmBackendPkg)
	rebuilt := strings.Split(image, ":")[0] + ":rebuilt-" + strings.ToLower(t.Name())
	_, err := cli.ImageTag(context.Background(), client.ImageTagOptions{Source: image, Target: rebuilt})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), rebuilt, client.ImageRemoveOptions{}) })

	build := newTestBuilder(image)
	srv, err := localplane.New(localplane.Config{
		APIAddr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0", WarmPool: 2, Builder: build,
		Container: &localplane.ContainerConfig{Client: cli},
	})
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(func() { srv.Close() })
	p := &plane{Server: srv, t: t}
	p.full()
	before := warmContainers(t, cli)
	require.Len(t, before, 2)

	build.started()
	build.output("#1 building")
	assert.ElementsMatch(t, before, warmContainers(t, cli), "a build under way keeps the warm backends")
	build.built(rebuilt)
	p.waitPool("rewarmed", func(v localplane.WarmPoolView) bool {
		images := localplane.WarmImages(srv)
		return v.Ready == 2 && len(images) == 2 && images[0] == rebuilt && images[1] == rebuilt
	})
	after := warmContainers(t, cli)
	for _, id := range before {
		assert.NotContains(t, after, id, "the old image's warm containers are gone")
	}
	res := p.connect(map[string]any{"key": "a"})
	p.statusStream(res.BackendID).until(types.StatusReady)
	view, _ := p.Backend(res.BackendID)
	assert.Equal(t, rebuilt, view.Image)

	require.NoError(t, srv.Close())
	assert.Empty(t, warmContainers(t, cli), "Close removes the warm containers")
	assert.Empty(t, ownContainers(t, cli, res.BackendID))
}
