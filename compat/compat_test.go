// Package compat_test runs official Jamsocket client code, unchanged, against
// the local plane: the `jamsocket` npm CLI and the @jamsocket/types
// validators (see check.mjs). It needs Node.js and `npm ci` in this
// directory, which .ci/run does; elsewhere the test is skipped.
package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/internal/dockertest"
	"github.com/jamsocket-go/jamsocket/jamsockettest"
	"github.com/jamsocket-go/jamsocket/localplane"
)

const backendGreeting = "compat backend up"

func TestMain(m *testing.M) {
	// The local plane runs this test binary again as the session backend.
	jamsockettest.BackendMain(func(b localplane.Backend) http.Handler {
		fmt.Fprintln(b.Output, backendGreeting)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	})
	goleak.VerifyTestMain(m)
}

type checkResult struct {
	OK     bool     `json:"ok"`
	Checks []string `json:"checks"`
	Error  string   `json:"error"`
}

// skipOrFail skips the test on a developer's machine that lacks what it
// needs, and fails it under CI=true, where a skip would hide that the
// official clients were never run.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatal(why + " (CI=true: failing instead of skipping)")
	}
	t.Skip(why)
}

func TestOfficialClientsAgainstLocalPlane(t *testing.T) {
	node := nodeAndModules(t)
	const token = "compat-token"
	plane, err := localplane.New(localplane.Config{
		APIAddr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0", Token: token,
		Command: jamsockettest.SelfCommand(),
		Logger:  slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	require.NoError(t, plane.Start())
	t.Cleanup(func() { require.NoError(t, plane.Close()) })

	runCheck(t, node, plane.APIURL(), token, backendGreeting)
}

// runCheck runs check.mjs against the API at apiURL.
func runCheck(t *testing.T, node, apiURL, token, greeting string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "check.mjs", apiURL, "compat-account", "compat-service", token, greeting)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()

	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var result checkResult
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &result), "check.mjs output:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	require.True(t, result.OK, "official client failed: %s\npassed before: %v\nstderr:\n%s", result.Error, result.Checks, stderr.String())
	require.NoError(t, runErr)
	require.GreaterOrEqual(t, len(result.Checks), 20, "checks run: %v", result.Checks)
	t.Logf("official clients passed %d checks", len(result.Checks))
}

// TestOfficialClientsAgainstDevDockerfile runs the same official clients
// against `jamsocket dev -f examples/backend/Dockerfile`, the README's
// command: backends are containers of the example backend's image.
func TestOfficialClientsAgainstDevDockerfile(t *testing.T) {
	node := nodeAndModules(t)
	dockertest.CLI(t)
	dir := t.TempDir()
	ex := filepath.Join(dir, "examples", "backend")
	require.NoError(t, os.MkdirAll(ex, 0o755))
	df, err := os.ReadFile(filepath.Join("..", "examples", "backend", "Dockerfile"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(ex, "Dockerfile"), df, 0o644))
	dockertest.GoBinary(t, "github.com/jamsocket-go/jamsocket/examples/backend", filepath.Join(ex, "backend"))
	bin := filepath.Join(dir, "jamsocket")
	build := exec.Command("go", "build", "-o", bin, "../cmd/jamsocket")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	const token = "compat-token"
	dev := exec.Command(bin, "dev", "--json", "--no-interactive", "--token", token, "-f", "examples/backend/Dockerfile",
		"--api-addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0")
	dev.Dir = dir
	stdout, err := dev.StdoutPipe()
	require.NoError(t, err)
	dev.Stderr = os.Stderr // shown with -v
	require.NoError(t, dev.Start())
	t.Cleanup(func() {
		_ = dev.Process.Signal(os.Interrupt)
		_ = dev.Wait()
	})
	events := bufio.NewScanner(stdout)
	var apiURL string
	for events.Scan() {
		var e struct {
			Type   string `json:"type"`
			APIURL string `json:"api_url"`
			Status string `json:"status"`
		}
		require.NoError(t, json.Unmarshal(events.Bytes(), &e), events.Text())
		if e.Type == "listening" {
			apiURL = e.APIURL
		}
		if e.Type == "image" && e.Status == "failed" {
			t.Fatalf("the build failed: %s", events.Text())
		}
		if e.Type == "image" && e.Status == "ready" {
			break
		}
	}
	require.NotEmpty(t, apiURL, "the dev server's output ended")
	go func() { // keep the pipe drained
		for events.Scan() {
		}
	}()
	runCheck(t, node, apiURL, token, "session backend listening")
}

// TestForBrowserPassesOfficialValidator spawns through the SDK against the
// local plane and hands ConnectResponse.ForBrowser to the official
// isConnectResponse: it passes, without a secret token. The answer
// examples/handler gave before (no spawned, no token) is refused, so the
// validator is seen to refuse.
func TestForBrowserPassesOfficialValidator(t *testing.T) {
	node := nodeAndModules(t)
	srv := jamsockettest.NewServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-42", User: "alice"})
	require.NoError(t, err)
	require.NotEmpty(t, conn.SecretToken, "the local plane gives a secret token, which must not reach the browser")
	browser := conn.ForBrowser()

	old := map[string]any{"backend_id": conn.BackendID, "url": conn.URL, "status_url": conn.StatusURL,
		"status_stream_url": conn.StatusStreamURL, "status": conn.Status}
	values, err := json.Marshal([]any{browser, conn, old})
	require.NoError(t, err)
	browserJSON, err := json.Marshal(browser)
	require.NoError(t, err)
	assert.NotContains(t, string(browserJSON), conn.SecretToken)

	cmd := exec.CommandContext(ctx, node, "validate.mjs")
	cmd.Stdin = bytes.NewReader(values)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	var valid []bool
	require.NoError(t, json.Unmarshal(out, &valid), string(out))
	assert.Equal(t, []bool{true, true, false}, valid, "ForBrowser, the whole response, the old handler's answer")
}

// nodeAndModules returns node's path, or skips the test when node or
// compat/node_modules is missing.
func nodeAndModules(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not installed; .ci/run installs it")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "jamsocket", "bin", "run")); err != nil {
		skipOrFail(t, "compat/node_modules is missing: run `npm ci` in compat/ (.ci/run does)")
	}
	return node
}
