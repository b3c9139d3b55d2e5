package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// officialEnv logs in, as the official CLI's README says to, against a
// fresh local plane, and returns the environment of a user of the official
// CLI: a home with its credential file, and JAMSOCKET_SERVER_API, the
// official CLI's way to name another server.
func officialEnv(t *testing.T) map[string]string {
	t.Helper()
	srv := startLocalPlaneWith(t, localplane.Config{Token: loginToken, Accounts: []string{"acct"}})
	env := map[string]string{"HOME": t.TempDir(), "JAMSOCKET_SERVER_API": srv.APIURL()}
	r := binary(t, env, "", loginToken, "login", "--token", loginToken)
	require.Equal(t, 0, r.code, r.stderr)
	return env
}

// field is the value of a "name: value" line of the official layout.
func field(t *testing.T, out, name string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %q line in:\n%s", name, out)
	return ""
}

// TestOfficialREADMEExamples runs the examples of the official CLI's README
// (npm jamsocket 0.10), word for word but for the backend ids, which there
// are placeholders, against the local plane.
func TestOfficialREADMEExamples(t *testing.T) {
	env := officialEnv(t)
	run := func(args ...string) result {
		t.Helper()
		r := binary(t, env, "", loginToken, args...)
		require.Equal(t, 0, r.code, "%v: %s", args, r.stderr)
		return r
	}

	var ids []string
	for _, cmd := range []string{"service connect", "connect"} {
		for _, example := range [][]string{
			{"my-service"},
			{"my-service", "-k", "my-key"},
			{"my-service", "-t", "my-tag"},
			{"my-service", "-e", "SOME_ENV_VAR=foo", "-e", "ANOTHER_ENV_VAR=bar"},
			{"my-service", "-i", "60"},
			{"my-service", "-l", "300"},
			{"my-service", "-u", "my-user", "-a", `{"foo":"my-json-data"}`},
		} {
			r := run(append(strings.Fields(cmd), example...)...)
			assert.True(t, strings.HasPrefix(r.stdout, "Backend spawned!\n"), r.stdout)
			ids = append(ids, field(t, r.stdout, "backend id"))
			assert.NotEmpty(t, field(t, r.stdout, "backend url"))
			assert.NotEmpty(t, field(t, r.stdout, "status url"))
		}
		// The README's --no-spawn example has no key; the official CLI
		// refuses it too ("requires a key").
		r := binary(t, env, "", loginToken, append(strings.Fields(cmd), "my-service", "--no-spawn")...)
		assert.Equal(t, exitError, r.code)
		assert.Contains(t, r.stderr, "Key")
	}
	assert.Equal(t, ids[1], ids[8], "connect -k my-key twice is the same backend")

	info := run("backend", "info", ids[0])
	assert.Contains(t, info.stdout, "Info for backend: "+ids[0])
	assert.Equal(t, "my-service", field(t, info.stdout, "service"))
	assert.Contains(t, run("backend", "list").stdout, "Found the following running backends:")

	// terminate, as `backend terminate abc123 def456 ...` and its alias.
	r := run("backend", "terminate", ids[0], ids[1])
	assert.Equal(t, "Termination requested for backend: "+ids[0]+"\nTermination requested for backend: "+ids[1]+"\n", r.stdout)
	run("terminate", ids[2], ids[3], "-f")

	// The streams end with their backend.
	assert.Contains(t, run("backend", "logs", ids[0]).stdout, "hello from "+ids[0])
	assert.Contains(t, run("logs", ids[1]).stdout, "hello from "+ids[1])
	run("terminate", ids[4])
	run("backend", "metrics", ids[4])

	// The service examples.
	assert.Equal(t, "Created service: my-service\n", run("service", "create", "my-service").stdout)
	assert.Equal(t, "my-service\n", run("service", "list").stdout)
	assert.Equal(t, "Service: my-service", strings.SplitN(run("service", "info", "my-service").stdout, "\n", 2)[0])
	assert.Equal(t, "No images found for this service.\n", run("service", "images", "my-service").stdout)
	assert.Equal(t, "No images found for this service.\n", run("images", "my-service").stdout)
	assert.Contains(t, run("service", "use-image", "my-service", "-i", "latest").stdout, "Updated my-service to use image latest")
	assert.Equal(t, "latest", field(t, run("service", "info", "my-service").stdout, "  image tag/digest"))
	assert.Equal(t, "Deleted service: my-service\n", run("service", "delete", "my-service").stdout,
		"no question when standard input is not a terminal")

	assert.Equal(t, "Logged out\n", run("logout").stdout)
}

// TestOfficialFormsJSON runs the official forms with --json, ours, and
// terminates several backends at once.
func TestOfficialFormsJSON(t *testing.T) {
	env := officialEnv(t)
	run := func(args ...string) result {
		t.Helper()
		return binary(t, env, "", loginToken, args...)
	}

	a := decode[jamsocket.ConnectResponse](t, run("service", "connect", "svc", "--key", "doc-1", "--user", "ann",
		"--auth", `{"role":"editor"}`, "--env", "A=1", "--max-idle-seconds", "60", "--lifetime-limit-seconds", "300", "--json"))
	assert.True(t, a.Spawned)
	again := decode[jamsocket.ConnectResponse](t, run("connect", "svc", "-k", "doc-1", "--no-spawn", "--json"))
	assert.Equal(t, a.BackendID, again.BackendID)
	assert.False(t, again.Spawned)
	ready := decode[jamsocket.ConnectResponse](t, run("service", "connect", "svc/staging", "--wait", "--json"))
	assert.Equal(t, jamsocket.StatusReady, ready.Status, "our --wait works on the official form too")
	b := decode[jamsocket.ConnectResponse](t, run("spawn", "--service", "svc", "--json"))

	info := decode[jamsocket.BackendInfo](t, run("backend", "info", ready.BackendID, "--json"))
	assert.Equal(t, "staging", string(info.EnvironmentName), "SERVICE/ENVIRONMENT")
	list := decode[[]jamsocket.BackendSummary](t, run("backend", "list", "--json"))
	assert.Len(t, list, 3)

	// Several ids at once, one JSON line each; an id already terminated is
	// skipped with a warning, as the official CLI does.
	decode[terminateOut](t, run("terminate", b.BackendID, "--json"))
	waitTerminated(t, env, b.BackendID)
	r := run("backend", "terminate", a.BackendID, ready.BackendID, b.BackendID, "--force", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	lines := decodeLines[terminateOut](t, r)
	assert.Equal(t, []terminateOut{
		{BackendID: a.BackendID, Hard: true, Status: "ok"},
		{BackendID: ready.BackendID, Hard: true, Status: "ok"},
		{BackendID: b.BackendID, Hard: true, Status: "already terminated"},
	}, lines)
	assert.Contains(t, r.stderr, "backend "+b.BackendID+" has already terminated; skipping")

	// An unknown id fails the command at the end, after the others.
	c := decode[jamsocket.ConnectResponse](t, run("connect", "svc", "--json"))
	r = run("terminate", "nosuchbackend0", c.BackendID)
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stdout, "Termination requested for backend: "+c.BackendID)
	assert.Contains(t, r.stderr, "could not terminate 1 of 2 backend(s): nosuchbackend0: ")
}

// waitTerminated follows a backend's status until it is terminated.
func waitTerminated(t *testing.T, env map[string]string, id string) {
	t.Helper()
	states := decodeLines[jamsocket.BackendState](t, binary(t, env, "", loginToken, "status", id, "--follow", "--json"))
	require.NotEmpty(t, states)
	require.Equal(t, jamsocket.StatusTerminated, states[len(states)-1].Status)
}
