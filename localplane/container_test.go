package localplane_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/dockertest"
	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

const testBackendPkg = "github.com/jamsocket-go/jamsocket/internal/dockertest/testbackend"

// startContainerPlane starts a plane whose backends are containers of the
// test backend image (built once per test binary).
func startContainerPlane(t *testing.T, cfg localplane.Config) (*plane, *client.Client) {
	t.Helper()
	cli := dockertest.Client(t)
	if cfg.Container == nil {
		cfg.Container = &localplane.ContainerConfig{}
	}
	if cfg.Container.Image == "" && cfg.Builder == nil {
		cfg.Container.Image = dockertest.GoImage(t, cli, testBackendPkg)
	}
	cfg.Container.Client = cli
	p := startPlane(t, cfg)
	return p, cli
}

// containerOf returns the inspect of the container serving a backend.
func containerOf(t *testing.T, cli *client.Client, backendID string) container.InspectResponse {
	t.Helper()
	res, err := cli.ContainerInspect(context.Background(), "jamsocket-local-"+backendID, client.ContainerInspectOptions{})
	require.NoError(t, err)
	return res.Container
}

// ownContainers lists the containers whose owner label is set.
func ownContainers(t *testing.T, cli *client.Client, backendID string) []container.Summary {
	t.Helper()
	res, err := cli.ContainerList(context.Background(), client.ContainerListOptions{
		All: true, Filters: client.Filters{}.Add("label", localplane.LabelBackend+"="+backendID),
	})
	require.NoError(t, err)
	return res.Items
}

type testBackendAnswer struct {
	Headers map[string]string `json:"headers"`
	Env     map[string]string `json:"env"`
}

func TestContainerServesHTTPAndWebSocketAsOnPlane(t *testing.T) {
	p, cli := startContainerPlane(t, localplane.Config{})
	res := p.connect(map[string]any{"key": "doc-1", "user": "ann", "spawn": map[string]any{
		"executable": map[string]any{"env": map[string]string{"FOO": "bar"}},
	}})
	p.statusStream(res.BackendID).until(types.StatusReady)

	code, body, _ := get(t, res.URL+"hello")
	require.Equal(t, http.StatusOK, code, string(body))
	var got testBackendAnswer
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, "8080", got.Env["PORT"], "the container listens on 8080, as on Plane")
	assert.Equal(t, res.BackendID, got.Env["SESSION_BACKEND_ID"])
	assert.Equal(t, "doc-1", got.Env["SESSION_BACKEND_KEY"])
	assert.NotEmpty(t, got.Env["SESSION_BACKEND_FENCING_TOKEN"])
	assert.Equal(t, "svc", got.Env["JAMSOCKET_SERVICE"])
	assert.Equal(t, "bar", got.Env["FOO"])
	assert.Equal(t, "ann", got.Headers["x-verified-username"])

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(res.URL, "http", "ws", 1)+"ws", nil)
	require.NoError(t, err)
	defer ws.CloseNow()
	require.NoError(t, ws.Write(ctx, websocket.MessageText, []byte("hi")))
	_, msg, err := ws.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, "echo: hi", string(msg))
	ws.Close(websocket.StatusNormalClosure, "")

	c := containerOf(t, cli, res.BackendID)
	assert.Equal(t, res.BackendID, c.Config.Labels[localplane.LabelBackend])
	assert.Equal(t, strconv.Itoa(os.Getpid()), c.Config.Labels[localplane.LabelOwnerPID])
	bindings := c.HostConfig.PortBindings
	require.Len(t, bindings, 1)
	for _, b := range bindings {
		require.Len(t, b, 1)
		assert.Equal(t, "127.0.0.1", b[0].HostIP.String(), "published on loopback only")
	}
	sum, ok := p.Backend(res.BackendID)
	require.True(t, ok)
	assert.NotEmpty(t, sum.Image)
	assert.Equal(t, c.State.Pid, sum.PID)

	// Logs: the container's stdout and stderr, from its first line.
	logs := p.openStream(p.APIURL() + "/v2/backend/" + res.BackendID + "/logs/stream")
	var lines []string
	for len(lines) < 2 {
		ev, ok := logs.next()
		require.True(t, ok, "logs ended after %q", lines)
		lines = append(lines, ev.data)
	}
	assert.Contains(t, lines, "testbackend starting mode=")
	assert.Contains(t, lines, "a line on stderr")

	// Metrics: from the engine's stats.
	metrics := p.openStream(p.APIURL() + "/v2/backend/" + res.BackendID + "/metrics/stream")
	ev, ok := metrics.next()
	require.True(t, ok)
	var m types.Metrics
	require.NoError(t, json.Unmarshal([]byte(ev.data), &m))
	assert.Positive(t, m.MemUsed)
	assert.Positive(t, m.SysCPU)

	code, _, _ = p.do("POST", "/v2/backend/"+res.BackendID+"/terminate", wire.TerminateRequest{})
	require.Equal(t, http.StatusOK, code)
	rest := p.statusStream(res.BackendID).until(types.StatusTerminated)
	last := rest[len(rest)-1]
	require.NotNil(t, last.ExitError)
	assert.False(t, *last.ExitError, "drained on SIGTERM, exit 0")
	waitGone(t, cli, res.BackendID)
}

// waitGone waits until no container of the backend is left: the plane
// removes it right after it ended, before the backend's done.
func waitGone(t *testing.T, cli *client.Client, backendID string) {
	t.Helper()
	require.Eventually(t, func() bool { return len(ownContainers(t, cli, backendID)) == 0 },
		10*time.Second, 20*time.Millisecond, "container of %s removed", backendID)
}

func TestContainerTerminations(t *testing.T) {
	p, cli := startContainerPlane(t, localplane.Config{GracePeriod: time.Second, StartupTimeout: 3 * time.Second})
	spawn := func(key string, env map[string]string) types.ConnectResponse {
		res := p.connect(map[string]any{"key": key, "spawn": map[string]any{"executable": map[string]any{"env": env}}})
		return res
	}
	t.Run("soft terminate of a container ignoring SIGTERM kills it after the grace period", func(t *testing.T) {
		t.Parallel()
		res := spawn("ignore", map[string]string{"TESTBACKEND_MODE": "ignoreterm"})
		stream := p.statusStream(res.BackendID)
		stream.until(types.StatusReady)
		require.NoError(t, p.Terminate(res.BackendID, false))
		rest := stream.until(types.StatusTerminated)
		assert.Equal(t, []types.BackendStatus{types.StatusTerminating, types.StatusHardTerminating, types.StatusTerminated}, statuses(rest))
		require.NotNil(t, rest[2].ExitError)
		assert.True(t, *rest[2].ExitError, "killed: exit 137")
	})
	t.Run("hard terminate kills", func(t *testing.T) {
		t.Parallel()
		res := spawn("hard", nil)
		stream := p.statusStream(res.BackendID)
		stream.until(types.StatusReady)
		require.NoError(t, p.Terminate(res.BackendID, true))
		rest := stream.until(types.StatusTerminated)
		assert.Equal(t, types.KindHard, rest[len(rest)-1].TerminationKind)
		assert.True(t, *rest[len(rest)-1].ExitError)
	})
	t.Run("a crash's exit code", func(t *testing.T) {
		t.Parallel()
		res := spawn("crash", nil)
		stream := p.statusStream(res.BackendID)
		stream.until(types.StatusReady)
		_, _, _ = get(t, res.URL+"exit?code=3")
		rest := stream.until(types.StatusTerminated)
		assert.True(t, *rest[len(rest)-1].ExitError)
		code, body, _ := p.do("GET", "/v2/backend/"+res.BackendID+"/status", nil)
		require.Equal(t, http.StatusOK, code)
		assert.Contains(t, string(body), `"exit_error":true`)
		waitGone(t, cli, res.BackendID)
	})
	t.Run("startup timeout", func(t *testing.T) {
		t.Parallel()
		res := spawn("slow", map[string]string{"TESTBACKEND_MODE": "nolisten"})
		rest := p.statusStream(res.BackendID).until(types.StatusTerminated)
		assert.Equal(t, types.ReasonStartupTimeout, rest[len(rest)-1].TerminationReason)
		waitGone(t, cli, res.BackendID)
	})
}

func TestContainerLimitsAndMount(t *testing.T) {
	base := t.TempDir()
	p, cli := startContainerPlane(t, localplane.Config{Container: &localplane.ContainerConfig{MountBase: base}})
	res := p.connect(map[string]any{"key": "room-7", "spawn": map[string]any{"executable": map[string]any{
		"mount": true,
		"resource_limits": map[string]any{
			"memory_limit_bytes": 256 << 20, "cpu_period": 50000, "cpu_period_percent": 50,
			"cpu_time_limit": 600, "disk_limit_bytes": 1 << 30,
		},
	}}})
	p.statusStream(res.BackendID).until(types.StatusReady)

	c := containerOf(t, cli, res.BackendID)
	assert.EqualValues(t, 256<<20, c.HostConfig.Memory)
	assert.EqualValues(t, 50000, c.HostConfig.CPUPeriod)
	assert.EqualValues(t, 25000, c.HostConfig.CPUQuota, "cpu_period_percent of the period, as Plane computes it")
	require.Len(t, c.HostConfig.Ulimits, 1)
	assert.Equal(t, "cpu", c.HostConfig.Ulimits[0].Name)
	assert.EqualValues(t, 600, c.HostConfig.Ulimits[0].Hard)
	require.Len(t, c.HostConfig.Mounts, 1)
	assert.Equal(t, filepath.Join(base, "room-7"), c.HostConfig.Mounts[0].Source)

	code, body, _ := get(t, res.URL+"write?name=hello.txt&data=kept")
	require.Equal(t, http.StatusOK, code, string(body))
	data, err := os.ReadFile(filepath.Join(base, "room-7", "hello.txt"))
	require.NoError(t, err)
	assert.Equal(t, "kept", string(data), "the container wrote into the per-key directory")

	code, body, _ = p.do("POST", "/v2/service/acct/svc/connect", map[string]any{"key": "bad", "spawn": map[string]any{
		"executable": map[string]any{"mount": "../escape"},
	}})
	require.Equal(t, http.StatusOK, code, string(body))
	var bad types.ConnectResponse
	require.NoError(t, json.Unmarshal(body, &bad))
	rest := p.statusStream(bad.BackendID).until(types.StatusTerminated)
	assert.Empty(t, rest[len(rest)-1].TerminationReason, "a mount outside the base never starts: a failed start, as on Plane")
}

func TestContainerSameKeyConnectsMakeOneContainer(t *testing.T) {
	p, cli := startContainerPlane(t, localplane.Config{})
	const n = 50
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, body, _ := p.do("POST", "/v2/service/acct/svc/connect", map[string]any{"key": "shared"})
			var res types.ConnectResponse
			if json.Unmarshal(body, &res) == nil {
				ids[i] = res.BackendID
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id)
	}
	p.statusStream(ids[0]).until(types.StatusReady)
	list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{
		All: true, Filters: client.Filters{}.Add("label", localplane.LabelOwnerPID+"="+strconv.Itoa(os.Getpid())),
	})
	require.NoError(t, err)
	var mine int
	for _, c := range list.Items {
		if c.Labels[localplane.LabelBackend] == ids[0] {
			mine++
		}
	}
	assert.Equal(t, 1, mine)
}

// TestContainerRunsTheBuildersImage: a container plane with a Builder holds
// spawns while it builds and runs the image it names once built.
func TestContainerRunsTheBuildersImage(t *testing.T) {
	b := newTestBuilder("")
	p, cli := startContainerPlane(t, localplane.Config{Builder: b})
	code, body, _ := p.do("POST", "/v2/service/acct/svc/connect", map[string]any{"key": "k"})
	require.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, string(body), "no image to run yet", "a builder without an image holds spawns")

	b.holdSpawns("the image is building")
	code, body, _ = p.do("POST", "/v2/service/acct/svc/connect", map[string]any{"key": "k"})
	require.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "NotReadyToSpawn", errorCode(t, body))
	assert.Contains(t, string(body), "the image is building")
	code, body, _ = p.do("POST", "/ctrl/connect", map[string]any{"key": map[string]any{"name": "k"}, "spawn_config": map[string]any{
		"executable": map[string]any{"image": "x"},
	}})
	require.Equal(t, http.StatusInternalServerError, code, string(body))
	assert.Equal(t, string(wire.PlaneKindNoDroneAvailable), planeKind(t, body))

	image := dockertest.GoImage(t, cli, testBackendPkg)
	b.built(image)
	res := p.connect(map[string]any{"key": "k"})
	p.statusStream(res.BackendID).until(types.StatusReady)
	assert.Equal(t, image, containerOf(t, cli, res.BackendID).Config.Image, "the backend runs the builder's image")
}

func TestContainerCloseRemovesEverything(t *testing.T) {
	p, cli := startContainerPlane(t, localplane.Config{})
	var ids []string
	for _, key := range []string{"a", "b", "c"} {
		res := p.connect(map[string]any{"key": key, "spawn": map[string]any{"executable": map[string]any{
			"env": map[string]string{"TESTBACKEND_MODE": "ignoreterm"},
		}}})
		ids = append(ids, res.BackendID)
	}
	for _, id := range ids {
		p.statusStream(id).until(types.StatusReady)
	}
	require.NoError(t, p.Close())
	for _, id := range ids {
		assert.Empty(t, ownContainers(t, cli, id), "Close removed %s's container", id)
	}
}
