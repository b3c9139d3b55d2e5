package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// binary runs the jamsocket command as a process of its own (this test
// binary, re-executed as the command through runMain), with env as its
// whole environment (PATH, GORACE and DOCKER_HOST added), stdin as its standard
// input, and checks what every run must keep: the secret never printed,
// one line on stderr for a failure.
func binary(t *testing.T, env map[string]string, stdin string, secret string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], append([]string{mainArg}, args...)...)
	// Under -race the child would sleep 1s at exit (GORACE's atexit_sleep_ms).
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GORACE=atexit_sleep_ms=0"}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		cmd.Env = append(cmd.Env, "DOCKER_HOST="+h)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	if secret != "" {
		assert.NotContains(t, r.stdout, secret, "the token is never printed")
		assert.NotContains(t, r.stderr, secret, "the token is never printed")
	}
	if r.code != 0 {
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		assert.True(t, strings.HasPrefix(lines[len(lines)-1], "jamsocket: "), "a failure ends with one jamsocket: line: %q", r.stderr)
	}
	return r
}
