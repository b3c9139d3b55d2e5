package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/jamsocket-go/jamsocket/internal/dockertest"
	"github.com/jamsocket-go/jamsocket/types"
)

// TestDevKeys types on the dev server's terminal, as the official dev
// server's keys: b rebuilds (and terminates the running backends), t
// terminates every backend.
func TestDevKeys(t *testing.T) {
	dockertest.CLI(t)
	dir, _ := exampleBackendProject(t)
	master, terminal := openPTY(t)
	cmd := exec.CommandContext(t.Context(), os.Args[0], mainArg, "dev", "--json", "-f", filepath.Join(dir, "examples", "backend", "Dockerfile"),
		"-c", dir, "--api-addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0")
	cmd.Stdin = terminal
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	next := devEvents(t, stdout, &stderr)
	apiURL := next(func(e devEvent) bool { return e.Type == "listening" }).APIURL
	next(func(e devEvent) bool { return e.Type == "image" && e.Status == "ready" })

	// The keys are read once the terminal is in cbreak mode: that condition,
	// read from the terminal, is what the test waits for.
	deadline := time.Now().Add(30 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(int(terminal.Fd()), unix.TCGETS)
		require.NoError(t, err)
		if tio.Lflag&unix.ICANON == 0 {
			require.NotZero(t, tio.Lflag&unix.ISIG, "ctrl-c still signals")
			break
		}
		require.True(t, time.Now().Before(deadline), "the dev server never read keys")
		time.Sleep(time.Millisecond)
	}
	spawnReady := func() string {
		t.Helper()
		code, body := devConnect(t, apiURL, "doc")
		require.Equal(t, http.StatusOK, code, string(body))
		var res types.ConnectResponse
		require.NoError(t, json.Unmarshal(body, &res))
		next(func(e devEvent) bool { return e.BackendID == res.BackendID && e.Status == "ready" })
		return res.BackendID
	}

	id := spawnReady()
	_, err = master.WriteString("b")
	require.NoError(t, err)
	next(func(e devEvent) bool { return e.Type == "image" && e.Status == "building" })
	// The old backend ends and the new image is ready, in either order (a
	// cached build can be quicker than a container's removal).
	var terminated, ready bool
	next(func(e devEvent) bool {
		terminated = terminated || (e.BackendID == id && e.Status == "terminated")
		ready = ready || (e.Type == "image" && e.Status == "ready")
		return terminated && ready
	})

	id = spawnReady()
	_, err = master.WriteString("t")
	require.NoError(t, err)
	next(func(e devEvent) bool { return e.BackendID == id && e.Status == "terminated" })
}
