package localplane_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/dockertest"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// mountConnect connects key with executable.mount true.
func mountConnect(p *plane, key string) types.ConnectResponse {
	return p.connect(map[string]any{"key": key, "spawn": map[string]any{"executable": map[string]any{"mount": true}}})
}

// listMount answers the names the backend sees in /plane-data.
func listMount(t *testing.T, res types.ConnectResponse) []string {
	t.Helper()
	code, body, _ := get(t, res.URL+"list")
	require.Equal(t, http.StatusOK, code, string(body))
	return strings.Fields(string(body))
}

// TestContainerMountCannotFollowALinkOutOfItsPlace is issue 17's attack: the
// backend of key a plants /plane-data/b -> / in its mount; a connect for key
// a/b then bound the host's root at /plane-data. Each mount is now one
// directory directly under the base, named by the escaped key, so a key
// never reaches into another's directory.
func TestContainerMountCannotFollowALinkOutOfItsPlace(t *testing.T) {
	base := t.TempDir()
	p, cli := startContainerPlane(t, localplane.Config{Container: &localplane.ContainerConfig{MountBase: base}})

	a := mountConnect(p, "a")
	p.statusStream(a.BackendID).until(types.StatusReady)
	code, body, _ := get(t, a.URL+"symlink?name=b&target=/")
	require.Equal(t, http.StatusOK, code, string(body))
	planted, err := os.Readlink(filepath.Join(base, "a", "b"))
	require.NoError(t, err, "the backend planted its link in its own directory")
	require.Equal(t, "/", planted)

	ab := mountConnect(p, "a/b")
	p.statusStream(ab.BackendID).until(types.StatusReady)
	require.Empty(t, listMount(t, ab), "key a/b sees a fresh directory of its own, not the host's root")
	code, body, _ = get(t, ab.URL+"write?name=mine.txt&data=kept")
	require.Equal(t, http.StatusOK, code, string(body))
	data, err := os.ReadFile(filepath.Join(base, "a%2Fb", "mine.txt"))
	require.NoError(t, err)
	assert.Equal(t, "kept", string(data))

	c := containerOf(t, cli, ab.BackendID)
	assert.Empty(t, c.HostConfig.Binds)
	assert.Equal(t, []mount.Mount{{Type: mount.TypeBind, Source: filepath.Join(base, "a%2Fb"), Target: "/plane-data"}},
		c.HostConfig.Mounts, "a bind mount of the escaped key's directory")
}

// failedStart waits for the end of a backend that must fail to start: no
// container ran, and its log's line says why.
func failedStart(t *testing.T, p *plane, cli *client.Client, id string) string {
	t.Helper()
	states := p.statusStream(id).until(types.StatusTerminated)
	assert.NotContains(t, statuses(states), types.StatusWaiting, "the backend never ran")
	assert.Empty(t, ownContainers(t, cli, id), "no container was created")
	ev, ok := p.openStream(p.APIURL() + "/v2/backend/" + id + "/logs/stream").next()
	require.True(t, ok, "the failed start is in the backend's log")
	return ev.data
}

// nobody is a uid not the test's (Debian's nobody).
const nobody = 65534

// giveAway makes path another user's, or skips the test when this process
// may not (it needs root).
func giveAway(t *testing.T, path string) {
	t.Helper()
	if err := os.Lchown(path, nobody, nobody); err != nil {
		t.Skipf("giving %s to another user needs root: %v", path, err)
	}
}

// TestContainerMountBaseAndDirectoryMustBeYours: another user on the machine
// who creates the mount base, or a directory in it, or a link in their
// place, would point backends at a directory of their choosing (/root) and
// read every backend's data. A mount refuses such a base or directory: the
// backend fails to start, and nothing is bound.
func TestContainerMountBaseAndDirectoryMustBeYours(t *testing.T) {
	cli := dockertest.Client(t)
	victim := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(victim, "secret"), []byte("x"), 0o600))
	refused := func(t *testing.T, base, key, reason string) {
		t.Helper()
		p, _ := startContainerPlane(t, localplane.Config{Container: &localplane.ContainerConfig{MountBase: base}})
		line := failedStart(t, p, cli, mountConnect(p, key).BackendID)
		assert.Contains(t, line, reason)
		entries, err := os.ReadDir(victim)
		require.NoError(t, err)
		assert.Len(t, entries, 1, "nothing was created where the link points")
	}

	t.Run("a base that is a link", func(t *testing.T) {
		base := filepath.Join(t.TempDir(), "mounts")
		require.NoError(t, os.Symlink(victim, base))
		refused(t, base, "k", "refusing the mount base (ContainerConfig.MountBase): "+base+" is a symbolic link")
	})
	t.Run("a base of another user", func(t *testing.T) {
		base := t.TempDir()
		giveAway(t, base)
		refused(t, base, "k", "refusing the mount base (ContainerConfig.MountBase): "+base+" belongs to another user (uid 65534")
	})
	t.Run("a base others may write to", func(t *testing.T) {
		base := t.TempDir()
		require.NoError(t, os.Chmod(base, 0o1777))
		refused(t, base, "k", "refusing the mount base (ContainerConfig.MountBase): "+base+" is writable by its group or by others")
	})
	t.Run("a mount directory that is a link", func(t *testing.T) {
		base := t.TempDir()
		require.NoError(t, os.Symlink(victim, filepath.Join(base, "k")))
		refused(t, base, "k", "refusing the mount's directory: "+filepath.Join(base, "k")+" is a symbolic link")
	})
	t.Run("a mount directory of another user", func(t *testing.T) {
		base := t.TempDir()
		require.NoError(t, os.Mkdir(filepath.Join(base, "k%2Fl"), 0o755))
		giveAway(t, filepath.Join(base, "k%2Fl"))
		refused(t, base, "k/l", "refusing the mount's directory: "+filepath.Join(base, "k%2Fl")+" belongs to another user (uid 65534")
	})
}

// TestContainerMountBaseDefaultIsPrivate: without ContainerConfig.MountBase,
// mounts live in the user's cache directory, in a base created 0700.
func TestContainerMountBaseDefaultIsPrivate(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	p, cli := startContainerPlane(t, localplane.Config{})
	res := mountConnect(p, "doc 1")
	p.statusStream(res.BackendID).until(types.StatusReady)

	base := filepath.Join(cache, "jamsocket-go", "mounts")
	info, err := os.Lstat(base)
	require.NoError(t, err)
	assert.True(t, info.IsDir())
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "the base is the developer's only")
	c := containerOf(t, cli, res.BackendID)
	require.Len(t, c.HostConfig.Mounts, 1)
	assert.Equal(t, filepath.Join(base, "doc%201"), c.HostConfig.Mounts[0].Source)
}
