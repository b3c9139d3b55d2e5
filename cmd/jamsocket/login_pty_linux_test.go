package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// openPTY opens a pseudo-terminal: the master side the test types on, and
// the terminal the command reads.
func openPTY(t *testing.T) (master *os.File, terminal *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("skipping: no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	require.NoError(t, unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return m, s
}

// On a terminal, login reads the token with echo off: what is typed never
// shows on the terminal.
func TestLoginFromTerminalWithoutEcho(t *testing.T) {
	srv := startLocalPlaneWith(t, localplane.Config{Token: loginToken, Accounts: []string{"acct"}})
	master, terminal := openPTY(t)
	home := t.TempDir()

	cmd := exec.CommandContext(t.Context(), os.Args[0], mainArg, "login", "--api-url", srv.APIURL())
	cmd.Env = append(childEnv(), "HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = terminal, &stdout, &stderr
	require.NoError(t, cmd.Start())

	// Type only once the command has turned echo off: the condition
	// itself, read from the terminal, is what the test waits for.
	deadline := time.Now().Add(30 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(int(terminal.Fd()), unix.TCGETS)
		require.NoError(t, err)
		if tio.Lflag&unix.ECHO == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "login never turned echo off")
		time.Sleep(time.Millisecond)
	}
	_, err := master.WriteString(loginToken + "\r")
	require.NoError(t, err)
	require.NoError(t, cmd.Wait(), stderr.String())

	assert.Contains(t, stderr.String(), "API token (input is not shown): ")
	assert.Contains(t, stdout.String(), `Logged in using API token as "acct"`)
	// What the terminal shows is read without blocking (os.File.Fd would
	// make the descriptor blocking again: take it once).
	fd := int(master.Fd())
	require.NoError(t, unix.SetNonblock(fd, true))
	buf := make([]byte, 4096)
	n, err := unix.Read(fd, buf)
	if !errors.Is(err, unix.EAGAIN) {
		require.NoError(t, err)
		assert.NotContains(t, string(buf[:n]), loginToken, "the token was echoed on the terminal")
	}
	b, err := os.ReadFile(filepath.Join(home, ".jamsocket", "config.json"))
	require.NoError(t, err)
	assert.Contains(t, string(b), loginToken)
}
