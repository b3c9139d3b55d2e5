package localplane_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// A connect cannot make a process backend run code of its choosing: each
// attack here runs its payload as the dev server's user when the
// variable is let through (it did on main before the fix), and is refused
// with a 400 naming the variable, on both surfaces, so the payload never
// runs. A spawn without the variable still runs the same command.
func TestProcessBackendsRefuseCodeLoadingEnv(t *testing.T) {
	// write writes a file of the attack's payload into dir.
	write := func(t *testing.T, dir, name, text string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
		return path
	}
	testBackend := []string{"bash", "-c", `exec "$0" ` + backendArg, os.Args[0]}
	attacks := []struct {
		name    string
		command func(t *testing.T) []string
		env     func(t *testing.T, dir, marker string) (name, value string)
	}{{
		name:    "BASH_ENV",
		command: func(*testing.T) []string { return testBackend },
		env: func(t *testing.T, dir, marker string) (string, string) {
			return "BASH_ENV", write(t, dir, "payload.sh", "echo bash_env >"+marker+"\n")
		},
	}, {
		name:    "LD_PRELOAD",
		command: func(*testing.T) []string { return testBackend },
		env: func(t *testing.T, dir, marker string) (string, string) {
			if _, err := exec.LookPath("cc"); err != nil {
				t.Skip("no C compiler (cc) to build the preloaded library")
			}
			src := write(t, dir, "payload.c", `#include <stdio.h>
__attribute__((constructor)) static void payload(void) {
	FILE *f = fopen("`+marker+`", "w");
	if (f) { fputs("ld_preload", f); fclose(f); }
}
`)
			lib := filepath.Join(dir, "payload.so")
			out, err := exec.Command("cc", "-shared", "-fPIC", "-o", lib, src).CombinedOutput()
			require.NoError(t, err, string(out))
			return "LD_PRELOAD", lib
		},
	}, {
		name: "NODE_OPTIONS",
		command: func(t *testing.T) []string {
			node, err := exec.LookPath("node")
			if err != nil {
				t.Skip("node is not installed")
			}
			return []string{node, "-e", `require("http").createServer((q, s) => s.end("ok")).listen(+process.env.PORT, "127.0.0.1")`}
		},
		env: func(t *testing.T, dir, marker string) (string, string) {
			return "NODE_OPTIONS", "--require " + write(t, dir, "payload.js", `require("fs").writeFileSync(`+"`"+marker+"`"+`, "node_options")`)
		},
	}}
	for _, attack := range attacks {
		t.Run(attack.name, func(t *testing.T) {
			dir := t.TempDir()
			marker := filepath.Join(dir, "payload-ran")
			command := attack.command(t)
			name, value := attack.env(t, dir, marker)
			p := startPlane(t, localplane.Config{Command: command})
			env := map[string]any{name: value}
			for _, surface := range []struct {
				path string
				body any
			}{
				{"/v2/service/acct/svc/connect", map[string]any{"spawn": map[string]any{"executable": map[string]any{"env": env}}}},
				{"/ctrl/connect", map[string]any{"spawn_config": planeSpawn(map[string]any{"executable": map[string]any{"image": "x", "env": env}})}},
			} {
				code, body, _ := p.do("POST", surface.path, surface.body)
				assert.Equal(t, http.StatusBadRequest, code, "%s: %s", surface.path, body)
				assert.Contains(t, string(body), `\"`+name+`\"`, "the error names the variable")
				assert.NotContains(t, string(body), value, "the error never holds the value")
			}
			assert.Empty(t, p.Backends(), "nothing spawned")

			// The same command, spawned without the variable, runs: had the
			// variable gone through, the payload would have run with it.
			res := p.connect(map[string]any{"spawn": map[string]any{"executable": map[string]any{"env": map[string]any{"FOO": "bar"}}}})
			p.statusStream(res.BackendID).until(types.StatusReady)
			assert.NoFileExists(t, marker, "the payload never ran")
		})
	}
}

// Container and handler backends take these names: a handler's Env is a
// map handed to Go code, not a process environment.
func TestHandlerBackendsTakeAnyEnv(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	res := p.connect(map[string]any{"spawn": map[string]any{"executable": map[string]any{"env": map[string]any{"LD_PRELOAD": "x", "FOO": "y"}}}})
	p.statusStream(res.BackendID).until(types.StatusReady)
}

// Names match in any case and by prefix, and a name outside the list (a
// common one included) is let through.
func TestCodeLoadingEnvMatches(t *testing.T) {
	p := startPlane(t, localplane.Config{Command: processCommand()})
	for name, refused := range map[string]bool{
		"LD_PRELOAD": true, "ld_preload": true, "LD_AUDIT": true, "DYLD_INSERT_LIBRARIES": true,
		"PYTHONSTARTUP": true, "Path": true, "PERL5OPT": true, "BASH_FUNC_ls%%": true, "GIT_SSH_COMMAND": true,
		"NODE_ENV": false, "FOO": false, "LANG": false, "HOMEPAGE": false, "GOMAXPROCS": false,
	} {
		code, body, _ := p.do("POST", "/v2/service/acct/svc/connect",
			map[string]any{"spawn": map[string]any{"executable": map[string]any{"env": map[string]any{name: "v"}}}})
		if refused {
			assert.Equal(t, http.StatusBadRequest, code, "%s: %s", name, body)
		} else {
			assert.Equal(t, http.StatusOK, code, "%s: %s", name, body)
		}
	}
}

// The README lists every name process backends refuse.
func TestCodeLoadingEnvIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	for _, name := range localplane.CodeLoadingEnv() {
		assert.True(t, strings.Contains(string(readme), "`"+name+"`"), "README.md lists `%s`", name)
	}
}
