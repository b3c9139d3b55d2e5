package localplane_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/dockertest"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// ownerOf is what a server of this process writes in its containers' owner
// labels: its boot and its PID namespace.
func ownerOf(t testing.TB) (boot, pidNS string) {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Skipf("owner labels are Linux's: %v", err)
	}
	pidNS, err = os.Readlink("/proc/self/ns/pid")
	require.NoError(t, err)
	return strings.TrimSpace(string(b)), pidNS
}

// labelledContainer starts a container of image with labels as a server
// would, and when stopped is true waits for its end; it is removed when the
// test ends, if still there.
func labelledContainer(t testing.TB, cli *client.Client, image, name string, labels map[string]string, stopped bool) string {
	t.Helper()
	ctx := context.Background()
	labels[localplane.LabelOwner] = "other"
	labels[localplane.LabelBackend] = name
	env := []string{"PORT=8080"}
	if stopped {
		env = []string{"PORT=no-such-port"} // the test backend cannot listen: it exits 1
	}
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: &container.Config{
		Image: image, Env: env, Labels: labels,
	}})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true})
	})
	if !stopped {
		_, err = cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{})
		require.NoError(t, err)
		return res.ID
	}
	wait := cli.ContainerWait(ctx, res.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	_, err = cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{})
	require.NoError(t, err)
	select {
	case <-wait.Result:
	case err := <-wait.Error:
		require.NoError(t, err)
	}
	return res.ID
}

// goneProcess is the pid of a process that has ended.
func goneProcess(t testing.TB) string {
	t.Helper()
	gone := exec.Command("sleep", "60")
	require.NoError(t, gone.Start())
	require.NoError(t, gone.Process.Kill())
	_ = gone.Wait()
	return strconv.Itoa(gone.Process.Pid)
}

// TestContainerLeftoversOnlyOfProvablyGoneServersAreRemoved: a server killed
// with -9 leaves its containers; the next server removes those whose owner
// it can prove gone, and keeps every other.
func TestContainerLeftoversOnlyOfProvablyGoneServersAreRemoved(t *testing.T) {
	cli := dockertest.Client(t)
	image := dockertest.GoImage(t, cli, testBackendPkg)
	boot, pidNS := ownerOf(t)
	self := strconv.Itoa(os.Getpid())
	gone := goneProcess(t)
	start, err := os.ReadFile("/proc/self/stat")
	require.NoError(t, err)
	fields := strings.Fields(string(start[strings.LastIndexByte(string(start), ')')+1:]))
	selfStart := fields[19]

	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	cases := []struct {
		name    string
		labels  map[string]string
		stopped bool
		removed bool
	}{
		{"gone-pid", map[string]string{
			localplane.LabelOwnerPID: gone, localplane.LabelOwnerBoot: boot, localplane.LabelOwnerPIDNamespace: pidNS,
		}, false, true},
		{"reused-pid", map[string]string{
			localplane.LabelOwnerPID: self, localplane.LabelOwnerStart: "1", localplane.LabelOwnerBoot: boot, localplane.LabelOwnerPIDNamespace: pidNS,
		}, false, true},
		{"live", map[string]string{
			localplane.LabelOwnerPID: self, localplane.LabelOwnerStart: selfStart, localplane.LabelOwnerBoot: boot, localplane.LabelOwnerPIDNamespace: pidNS,
		}, false, false},
		{"other-namespace", map[string]string{
			localplane.LabelOwnerPID: gone, localplane.LabelOwnerBoot: boot, localplane.LabelOwnerPIDNamespace: "pid:[1]",
		}, false, false},
		{"other-boot-stopped", map[string]string{
			localplane.LabelOwnerPID: self, localplane.LabelOwnerBoot: "an-earlier-boot", localplane.LabelOwnerPIDNamespace: pidNS,
		}, true, true},
		{"other-boot-running", map[string]string{
			localplane.LabelOwnerPID: gone, localplane.LabelOwnerBoot: "another-kernel", localplane.LabelOwnerPIDNamespace: pidNS,
		}, false, false},
		{"earlier-version", map[string]string{localplane.LabelOwnerPID: gone}, true, false},
		{"no-pid", map[string]string{
			localplane.LabelOwnerPID: "x", localplane.LabelOwnerBoot: boot, localplane.LabelOwnerPIDNamespace: pidNS,
		}, true, false},
	}
	ids := make([]string, len(cases))
	for i, tc := range cases {
		ids[i] = labelledContainer(t, cli, image, tc.name+"-"+suffix, tc.labels, tc.stopped)
	}

	startContainerPlane(t, localplane.Config{}) // it sweeps as it starts
	for i, tc := range cases {
		_, err := cli.ContainerInspect(context.Background(), ids[i], client.ContainerInspectOptions{})
		if tc.removed {
			assert.Error(t, err, "%s: the container of a server provably gone is removed", tc.name)
		} else {
			assert.NoError(t, err, "%s: the container of a server not provably gone is kept", tc.name)
		}
	}
}

// sweepArg, as the first argument, makes the test binary a dev server
// starting elsewhere (run in a PID namespace of its own): it creates a
// leftover of a gone server of its own namespace (named by
// $SWEEP_LEFTOVER, of the image $SWEEP_IMAGE), starts a container plane,
// which sweeps, closes it and prints its PID namespace.
const sweepArg = "localplane-test-sweep"

func runSweep() int {
	ctx := context.Background()
	cli, err := dockertest.Connect(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cli.Close()
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pidNS, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	name := os.Getenv("SWEEP_LEFTOVER")
	_, err = cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: &container.Config{
		Image: os.Getenv("SWEEP_IMAGE"), Labels: map[string]string{
			localplane.LabelOwner: "gone", localplane.LabelBackend: name, localplane.LabelOwnerPID: "999999",
			localplane.LabelOwnerBoot: strings.TrimSpace(string(boot)), localplane.LabelOwnerPIDNamespace: pidNS,
		},
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv, err := localplane.New(localplane.Config{
		Container: &localplane.ContainerConfig{Client: cli}, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err == nil {
		err = srv.Start()
	}
	if err == nil {
		err = srv.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(pidNS)
	return 0
}

// TestContainerSweepInAnotherPIDNamespaceKeepsLiveContainers: a dev server in
// a container, a devcontainer or a second WSL distribution shares the engine
// but not the PID namespace; starting, it used to take a live server's pid
// for a dead one and remove that server's containers.
func TestContainerSweepInAnotherPIDNamespaceKeepsLiveContainers(t *testing.T) {
	p, cli := startContainerPlane(t, localplane.Config{})
	_, pidNS := ownerOf(t)
	unshare := []string{"unshare", "--pid", "--fork", "--mount-proc"}
	if out, err := exec.Command(unshare[0], append(unshare[1:], "true")...).CombinedOutput(); err != nil {
		dockertest.Unavailable(t, fmt.Errorf("%s is not permitted here (it needs root or a user namespace): %v %s", strings.Join(unshare, " "), err, out))
	}
	res := p.connect(map[string]any{"key": "live"})
	p.statusStream(res.BackendID).until(types.StatusReady)

	leftover := "leftover-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	t.Cleanup(func() {
		_, _ = cli.ContainerRemove(context.Background(), leftover, client.ContainerRemoveOptions{Force: true})
	})
	sweep := exec.Command(unshare[0], append(unshare[1:], os.Args[0], sweepArg)...)
	sweep.Env = append(os.Environ(), "SWEEP_LEFTOVER="+leftover, "SWEEP_IMAGE="+dockertest.GoImage(t, cli, testBackendPkg))
	var stderr strings.Builder
	sweep.Stderr = &stderr
	out, err := sweep.Output()
	require.NoError(t, err, stderr.String())
	require.NotEqual(t, pidNS, strings.TrimSpace(string(out)), "the second server ran in a PID namespace of its own")
	assert.Contains(t, stderr.String(), "removed a container left behind", "the second server swept")
	_, err = cli.ContainerInspect(context.Background(), leftover, client.ContainerInspectOptions{})
	assert.Error(t, err, "it removed a leftover of its own namespace")

	c := containerOf(t, cli, res.BackendID)
	assert.True(t, c.State.Running, "the live server's container is kept")
	code, _, _ := get(t, res.URL)
	assert.Equal(t, http.StatusOK, code)
}
