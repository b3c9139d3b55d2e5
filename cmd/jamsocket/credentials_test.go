package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// TestCredentialsRefusedWhereAnotherUserControlsThem: another user who can
// write ~/.jamsocket or its config.json plants a token of theirs, and every
// command acts on their account (jamsocket push would send them the image);
// who owns the directory can also swap the file to read ours. Such
// credentials are refused, named, with what to do; login refuses to save
// into such a directory, and replaces a file others could write with one
// of its own.
func TestCredentialsRefusedWhereAnotherUserControlsThem(t *testing.T) {
	const planted = "planted.token-of-another-user"
	srv := startLocalPlaneWith(t, localplane.Config{Token: planted, Accounts: []string{"theirs"}})
	plantedFile := `{"api_token":{"token":"` + planted + `","account":"theirs"}}`

	// setup makes a home whose credential directory and file have the
	// given modes, and gives giveAway (a name in the directory) to another
	// user.
	setup := func(t *testing.T, dirMode, fileMode os.FileMode, giveAway string) (env map[string]string, dir, file string) {
		home := t.TempDir()
		dir = filepath.Join(home, ".jamsocket")
		file = filepath.Join(dir, "config.json")
		require.NoError(t, os.Mkdir(dir, dirMode))
		require.NoError(t, os.Chmod(dir, dirMode))
		require.NoError(t, os.WriteFile(file, []byte(plantedFile), fileMode))
		require.NoError(t, os.Chmod(file, fileMode))
		if giveAway != "" {
			if err := os.Chown(filepath.Join(dir, giveAway), 65534, 65534); err != nil {
				t.Skipf("giving a file to another user needs root: %v", err)
			}
		}
		return map[string]string{"HOME": home, "JAMSOCKET_API_URL": srv.APIURL()}, dir, file
	}
	refusedRead := func(t *testing.T, env map[string]string, path, reason string) {
		t.Helper()
		r := binary(t, env, "", planted, "backend", "list", "--json")
		assert.Equal(t, exitError, r.code, "the planted token is not used: %s", r.stdout)
		assert.Contains(t, r.stderr, "jamsocket: refusing the credentials: "+path+" "+reason)
		assert.Contains(t, r.stderr, "another user could plant a token there or read yours")
	}

	t.Run("a directory others may write to", func(t *testing.T) {
		env, dir, file := setup(t, 0o777, 0o600, "")
		refusedRead(t, env, dir, "is writable by its group or by others")
		r := binary(t, env, loginToken+"\n", loginToken, "login")
		assert.Equal(t, exitError, r.code, "login saves nothing there")
		assert.Contains(t, r.stderr, "jamsocket: refusing the credentials: "+dir+" is writable by its group or by others")
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		assert.Equal(t, plantedFile, string(b))
	})
	t.Run("a directory of another user", func(t *testing.T) {
		env, dir, _ := setup(t, 0o755, 0o600, ".")
		refusedRead(t, env, dir, "belongs to another user (uid 65534")
		r := binary(t, env, loginToken+"\n", loginToken, "login")
		assert.Equal(t, exitError, r.code, "login saves nothing there")
		assert.Contains(t, r.stderr, "belongs to another user (uid 65534")
	})
	t.Run("a file others may write to", func(t *testing.T) {
		env, _, file := setup(t, 0o755, 0o666, "")
		refusedRead(t, env, file, "is writable by its group or by others")
		r := binary(t, env, planted+"\n", planted, "login")
		require.Equal(t, 0, r.code, "login replaces the file: %s", r.stderr)
		info, err := os.Stat(file)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
		assert.Equal(t, 0, binary(t, env, "", planted, "backend", "list").code, "the new file is used")
	})
	t.Run("a file of another user", func(t *testing.T) {
		env, _, file := setup(t, 0o700, 0o600, "config.json")
		refusedRead(t, env, file, "belongs to another user (uid 65534")
	})
	t.Run("a link to a directory of one's own", func(t *testing.T) {
		env, dir, _ := setup(t, 0o700, 0o600, "")
		dotfiles := filepath.Join(t.TempDir(), "jamsocket")
		require.NoError(t, os.Rename(dir, dotfiles))
		require.NoError(t, os.Symlink(dotfiles, dir))
		r := binary(t, env, "", planted, "backend", "list", "--json")
		assert.Equal(t, 0, r.code, "what the link points to is checked: %s", r.stderr)
	})
}
