package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// officialCLI runs the official Node jamsocket CLI from compat/node_modules
// (installed by `npm ci` in compat/, as .ci/run does), or skips the test.
func officialCLI(t *testing.T) func(env map[string]string, args ...string) result {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("skipping: node is not installed (.ci/run installs it)")
	}
	run, err := filepath.Abs(filepath.Join("..", "..", "compat", "node_modules", "jamsocket", "bin", "run"))
	require.NoError(t, err)
	if _, err := os.Stat(run); err != nil {
		t.Skip("skipping: compat/node_modules is missing: run `npm ci` in compat/ (.ci/run does)")
	}
	return func(env map[string]string, args ...string) result {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), node, append([]string{run}, args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "NO_COLOR=1", "FORCE_COLOR=0"}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.Output()
		r := result{stdout: string(out)}
		if exit, ok := err.(*exec.ExitError); ok {
			r.code, r.stderr = exit.ExitCode(), string(exit.Stderr)
		} else {
			require.NoError(t, err)
		}
		return r
	}
}

// Both CLIs share ~/.jamsocket/config.json: a login with either works for
// the other, and a logout with ours logs the official one out.
func TestCredentialFileSharedWithOfficialCLI(t *testing.T) {
	official := officialCLI(t)
	srv := startLocalPlaneWith(t, localplane.Config{Token: loginToken, Accounts: []string{"acct"}})
	env := map[string]string{"HOME": t.TempDir(), "JAMSOCKET_SERVER_API": srv.APIURL()}

	require.Equal(t, 0, binary(t, env, loginToken, loginToken, "login").code)
	r := official(env, "service", "connect", "svc", "-k", "shared")
	require.Equal(t, 0, r.code, "the official CLI uses our login: %s", r.stderr)
	id := field(t, r.stdout, "backend id")
	assert.Contains(t, binary(t, env, "", loginToken, "backend", "list").stdout, id)

	require.Equal(t, 0, binary(t, env, "", "", "logout").code)
	r = official(env, "backend", "list")
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr+r.stdout, "jamsocket login", "the official CLI is logged out too")

	r = official(env, "login", "--token", loginToken)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `Logged in using API token as "acct"`)
	list := binary(t, env, "", loginToken, "backend", "list")
	require.Equal(t, 0, list.code, "ours uses the official CLI's login: %s", list.stderr)
	assert.Contains(t, list.stdout, id)
	assert.True(t, strings.HasPrefix(list.stdout, "Found the following running backends:"), list.stdout)
}
