package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// binary runs the jamsocket command as a process of its own (this test
// binary, re-executed as the command through runMain), with env as its
// whole environment (childEnv and DOCKER_HOST added), stdin as its standard
// input, and checks what every run must keep: the secret never printed,
// one line on stderr for a failure.
func binary(t *testing.T, env map[string]string, stdin string, secret string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], append([]string{mainArg}, args...)...)
	cmd.Env = childEnv()
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

// childEnv is the environment a re-executed test binary starts from: PATH,
// GORACE so that under -race it does not sleep 1s at exit
// (atexit_sleep_ms), and under go test -cover GOCOVERDIR. Without it a
// child built with coverage warns on stderr at exit; with this test
// binary's own directory, the go command counts the child's coverage in
// the package's.
func childEnv() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "GORACE=atexit_sleep_ms=0"}
	if dir := coverDir(); dir != "" {
		env = append(env, "GOCOVERDIR="+dir)
	}
	return env
}

// coverDir is where this test binary writes its coverage counters, and
// reads every process's back for the package's figure: -test.gocoverdir
// (the go command also sets GOCOVERDIR to it), empty without coverage.
func coverDir() string {
	if f := flag.Lookup("test.gocoverdir"); f != nil && f.Value.String() != "" {
		return f.Value.String()
	}
	return os.Getenv("GOCOVERDIR")
}
