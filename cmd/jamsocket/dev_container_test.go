package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/dockertest"
	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

func TestDevProjectConfigValidation(t *testing.T) {
	for _, bad := range []string{
		`[]`, `null`, `{"dockerfile": 3}`, `{"watch": 3}`, `{"watch": ["a", 3]}`, `{"port": "8080"}`,
		`{"interactive": "yes"}`, `{"useStaticToken": 1}`, `{"styleLogOutput": "no"}`,
		`{"dockerOptions": "x"}`, `{"dockerOptions": {"path": 1}}`, `{"dockerOptions": {"network": true}}`, `{`,
	} {
		_, err := parseDevProjectConfig([]byte(bad))
		assert.ErrorIs(t, err, errDevConfigInvalid, bad)
	}
	// Falsy values pass, as in the official CLI.
	c, err := parseDevProjectConfig([]byte(`{"dockerfile": "", "port": 0, "interactive": false, "watch": "src",
		"dockerOptions": {"path": "ctx", "network": "dev"}, "useStaticToken": true, "styleLogOutput": false}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"src"}, c.Watch)
	assert.False(t, *c.Interactive)
	assert.False(t, *c.StyleLogOutput)
	assert.True(t, c.UseStaticToken)
	assert.Equal(t, "ctx", c.ContextPath)
	assert.Equal(t, "dev", c.Network)

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, devConfigJSON), []byte(`{}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, devConfigJS), []byte(`module.exports = {}`), 0o644))
	_, err = loadDevProjectConfig(dir)
	assert.ErrorIs(t, err, errDevConfigBoth)
}

func TestResolveDev(t *testing.T) {
	dir := t.TempDir()
	changedOf := func(names ...string) func(string) bool {
		return func(n string) bool { return strings.Contains(" "+strings.Join(names, " ")+" ", " "+n+" ") }
	}
	// No runner: says how to start.
	_, err := resolveDev(&devOptions{}, changedOf(), nil, dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "jamsocket dev -f examples/backend/Dockerfile")
	// Two runners.
	_, err = resolveDev(&devOptions{image: "x", dockerfile: "Dockerfile"}, changedOf("image", "dockerfile"), nil, dir)
	assert.ErrorContains(t, err, "only one of")
	_, err = resolveDev(&devOptions{image: "x"}, changedOf("image"), []string{"./b"}, dir)
	assert.ErrorContains(t, err, "only one of")

	// The config file, and flags winning over it.
	require.NoError(t, os.WriteFile(filepath.Join(dir, devConfigJSON), []byte(`{"dockerfile": "be/Dockerfile",
		"watch": ["src"], "port": 8181, "interactive": false, "useStaticToken": true,
		"dockerOptions": {"path": "be"}}`), 0o644))
	plan, err := resolveDev(&devOptions{apiAddr: localplane.DefaultAPIAddr}, changedOf(), nil, dir)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "be/Dockerfile"), plan.dockerfile)
	assert.Equal(t, filepath.Join(dir, "be"), plan.context)
	assert.Equal(t, []string{filepath.Join(dir, "src")}, plan.watch)
	assert.Equal(t, "127.0.0.1:8181", plan.apiAddr)
	assert.False(t, plan.interactive)
	assert.True(t, plan.staticToken)
	assert.True(t, plan.styleLog)

	plan, err = resolveDev(&devOptions{dockerfile: "other/Dockerfile", watch: []string{"lib"}, port: 9000, interactive: true},
		changedOf("dockerfile", "watch", "port", "interactive"), nil, dir)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "other/Dockerfile"), plan.dockerfile)
	assert.Equal(t, []string{filepath.Join(dir, "lib")}, plan.watch)
	assert.Equal(t, "127.0.0.1:9000", plan.apiAddr)
	assert.True(t, plan.interactive)

	// A flag runner wins over the file's dockerfile.
	plan, err = resolveDev(&devOptions{image: "img"}, changedOf("image"), nil, dir)
	require.NoError(t, err)
	assert.Equal(t, "img", plan.image)
	assert.Empty(t, plan.dockerfile)
}

// exampleBackendProject lays out, in a temporary directory, what the README's
// `jamsocket dev -f examples/backend/Dockerfile` needs: the example's
// Dockerfile, and its binary built as version.
func exampleBackendProject(t *testing.T) (dir string, rebuild func(version string)) {
	t.Helper()
	dir = t.TempDir()
	ex := filepath.Join(dir, "examples", "backend")
	require.NoError(t, os.MkdirAll(ex, 0o755))
	df, err := os.ReadFile(filepath.Join("..", "..", "examples", "backend", "Dockerfile"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(ex, "Dockerfile"), df, 0o644))
	rebuild = func(version string) {
		t.Helper()
		tmp := filepath.Join(dir, "backend.tmp")
		dockertest.GoBinary(t, "github.com/jamsocket-go/jamsocket/examples/backend", tmp, "-X main.version="+version)
		require.NoError(t, os.Rename(tmp, filepath.Join(ex, "backend"))) // one change event
	}
	rebuild("v1")
	return dir, rebuild
}

// devConnect connects through the dev server's API and returns the answer
// (status and body).
func devConnect(t *testing.T, apiURL, key string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(apiURL+"/v2/service/acct/svc/connect", "application/json", strings.NewReader(`{"key":"`+key+`","user":"ann"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

// readyAnswer connects, waits for ready and returns the example backend's
// answer.
func readyAnswer(t *testing.T, apiURL, key string) (types.ConnectResponse, map[string]any) {
	t.Helper()
	code, body := devConnect(t, apiURL, key)
	require.Equal(t, http.StatusOK, code, string(body))
	var res types.ConnectResponse
	require.NoError(t, json.Unmarshal(body, &res))
	// The proxy waits for ready.
	resp, err := http.Get(res.URL + "hello")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var answer map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
	return res, answer
}

// TestDevDockerfileBuildsWatchesAndRebuilds runs the README's command on the
// example backend: the image is built, backends answer with the verified
// headers; a change of a watched file rebuilds, terminates the old backends,
// and new spawns answer with the new build; a failed build leaves the server
// up, not ready to spawn.
func TestDevDockerfileBuildsWatchesAndRebuilds(t *testing.T) {
	dockertest.CLI(t)
	dir, rebuild := exampleBackendProject(t)
	ex := filepath.Join(dir, "examples", "backend")
	d := startDev(t, "--no-interactive", "-f", filepath.Join(ex, "Dockerfile"), "-c", dir,
		"-w", filepath.Join(ex, "backend"), "-w", filepath.Join(ex, "Dockerfile"))
	apiURL := d.wait(`^  API:   (http://127\.0\.0\.1:\d+)$`)[1]
	d.wait(`^\[build\] `)
	d.wait(`^jamsocket dev: image [0-9a-f]{12} ready to spawn$`)

	first, answer := readyAnswer(t, apiURL, "doc-1")
	assert.Equal(t, "v1", answer["version"])
	assert.Equal(t, "ann", answer["user"])
	assert.Equal(t, first.BackendID, answer["backend_id"])
	d.wait(`^\[` + first.BackendID + `\] .*session backend listening`)

	mark := len(d.seen)
	rebuild("v2")
	d.waitFrom(mark, `^jamsocket dev: building the session backend image`)
	d.waitFrom(mark, first.BackendID+` terminated doc-1`)
	d.waitFrom(mark, `^jamsocket dev: image [0-9a-f]{12} ready to spawn$`)
	second, answer := readyAnswer(t, apiURL, "doc-1")
	assert.NotEqual(t, first.BackendID, second.BackendID)
	assert.Equal(t, "v2", answer["version"], "a new spawn runs the new build")

	mark = len(d.seen)
	require.NoError(t, os.WriteFile(filepath.Join(ex, "Dockerfile"), []byte("FROM scratch\nCOPY no-such-file /x\n"), 0o644))
	d.waitFrom(mark, `^jamsocket dev: the build failed`)
	code, body := devConnect(t, apiURL, "doc-2")
	require.Equal(t, http.StatusServiceUnavailable, code)
	var e wire.ErrorBody
	require.NoError(t, json.Unmarshal(body, &e))
	assert.Equal(t, "NotReadyToSpawn", e.Error.Code)
	assert.Contains(t, e.Error.Message, "failed")

	// The web console shows the failed build's output, and its rebuild
	// button builds again.
	build := consoleBuild(t, apiURL)
	assert.Contains(t, build.Hold, "failed")
	assert.Contains(t, strings.Join(build.Lines, "\n"), "no-such-file")
	mark = len(d.seen)
	req, err := http.NewRequest("POST", apiURL+"/console/build/rebuild", strings.NewReader("{}"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	d.waitFrom(mark, `^jamsocket dev: building the session backend image`)
	require.Equal(t, 0, d.stop())
}

// consoleBuild reads the first event of the console's build stream: the
// state and the last build's output.
func consoleBuild(t *testing.T, apiURL string) (ev struct {
	Hold  string
	Lines []string
}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", apiURL+"/console/build", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			require.NoError(t, json.Unmarshal([]byte(data), &ev))
			return ev
		}
	}
	t.Fatalf("no event on the console's build stream: %v", sc.Err())
	return ev
}

// TestDevKilledLeavesNoContainerAfterRestart: `jamsocket dev --image`
// killed with SIGKILL leaves its container; the next dev server removes it.
func TestDevKilledLeavesNoContainerAfterRestart(t *testing.T) {
	cli := dockertest.Client(t)
	image := dockertest.GoImage(t, cli, "github.com/jamsocket-go/jamsocket/internal/dockertest/testbackend")
	start := func() (*exec.Cmd, func(func(devEvent) bool) devEvent) {
		cmd := exec.Command(os.Args[0], mainArg, "dev", "--json", "--no-interactive", "--image", image,
			"--api-addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0")
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = &bytes.Buffer{}
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		return cmd, devEvents(t, stdout, nil)
	}
	first, nextEvent := start()
	listening := nextEvent(func(e devEvent) bool { return e.Type == "listening" })
	code, body := devConnect(t, listening.APIURL, "k")
	require.Equal(t, http.StatusOK, code, string(body))
	ready := nextEvent(func(e devEvent) bool { return e.Type == "status" && e.Status == "ready" })
	filter := client.Filters{}.Add("label", localplane.LabelBackend+"="+ready.BackendID)
	list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: filter})
	require.NoError(t, err)
	require.Len(t, list.Items, 1)

	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	_ = first.Wait()
	list, err = cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: filter})
	require.NoError(t, err)
	require.Len(t, list.Items, 1, "a killed server cannot remove its container")

	_, nextEvent = start()
	nextEvent(func(e devEvent) bool { return e.Type == "listening" })
	list, err = cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: filter})
	require.NoError(t, err)
	assert.Empty(t, list.Items, "the next server removed the container of the killed one")
}

func TestDevWithoutEngineSaysSo(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	d := startDev(t, "--image", "x")
	for range d.lines { // run ends by itself
	}
	d.code, d.exited = <-d.done, true
	assert.NotEqual(t, 0, d.code)
	assert.Contains(t, d.stderr.String(), "no Docker engine answers")
}

// waitFrom is wait for a line after the first mark lines seen.
func (d *devRun) waitFrom(mark int, pattern string) []string {
	d.t.Helper()
	seen := d.seen
	d.seen = seen[mark:]
	defer func() { d.seen = append(seen[:mark:mark], d.seen...) }()
	return d.wait(pattern)
}

// TestTableViewFooterAndImages: the terminal view of container backends
// says, as the official dev server's footer does, whether spawns are ready,
// shows the keys, and gives each backend's image id.
func TestTableViewFooterAndImages(t *testing.T) {
	var buf bytes.Buffer
	v := newTableView(&buf, func() int { return 120 }, func() int { return 40 })
	v.containers, v.building, v.keys = true, true, true
	footer := func() string {
		v.mu.Lock()
		defer v.mu.Unlock()
		return strings.Join(v.footerLocked(), "\n")
	}
	v.imageChanged(imageState{Building: true})
	assert.Contains(t, buf.String(), "building the session backend image")
	assert.Equal(t, " Rebuilding session backend image... Not ready to spawn\n [b] Build [t] Terminate backends [ctrl-c] Stop", footer())
	v.imageChanged(imageState{Err: "docker build: exit status 1"})
	assert.Contains(t, footer(), "Not ready to spawn - the session backend is still building or has failed to build")
	v.imageChanged(imageState{Image: "sha256:0123456789abcdef0123"})
	assert.Contains(t, buf.String(), "image 0123456789ab ready to spawn")
	assert.Contains(t, footer(), "No running backends. Ready to spawn!")

	rows := []localplane.BackendView{{ID: "abc", Key: "k", Status: types.StatusReady, Image: "sha256:0123456789abcdef0123"}}
	table := renderTable(rows, time.Now(), 120, 10)
	assert.Contains(t, table[1], "IMAGE ID")
	assert.Contains(t, table[2], "0123456789ab")
	v.mu.Lock()
	v.rows = rows
	v.mu.Unlock()
	assert.NotContains(t, footer(), "Ready to spawn", "a running backend: no ready line")

	v.style = true
	styled := v.styledLine("abc", "stdout", "hi")
	assert.Regexp(t, `^\x1b\[3[1-6]m\[abc\]\x1b\[0m hi$`, styled, "a coloured prefix")
}
