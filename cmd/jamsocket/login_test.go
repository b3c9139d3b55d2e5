package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// loginToken looks like a Jamsocket API token (the official CLI insists on
// a period).
const loginToken = "lp1.SECRET-login-token-7"

// TestLoginLogout logs in against the local plane with the token on
// standard input, checks the credential file (its shape and its mode), uses
// it from later commands, lets the environment win over it, and logs out.
func TestLoginLogout(t *testing.T) {
	srv := startLocalPlaneWith(t, localplane.Config{Token: loginToken, Accounts: []string{"acct"}})
	home := t.TempDir()
	env := map[string]string{"HOME": home, "JAMSOCKET_API_URL": srv.APIURL()}
	file := filepath.Join(home, ".jamsocket", "config.json")

	r := binary(t, env, loginToken+"\n", loginToken, "login")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `Logged in using API token as "acct"`)
	assert.Empty(t, r.stderr, "no warning for a token on standard input")

	info, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the credential file is the user's only")
	dir, err := os.Stat(filepath.Dir(file))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), dir.Mode().Perm())
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.JSONEq(t, `{"api_token":{"token":"`+loginToken+`","account":"acct"}}`, string(b), "the official CLI's api_token shape")

	// Later commands use the file: the account and the token both come
	// from it; --verbose says so.
	resp := decode[jamsocket.ConnectResponse](t, binary(t, env, "", loginToken, "service", "connect", "svc", "--json"))
	r = binary(t, env, "", loginToken, "backend", "list", "--json", "--verbose")
	require.Equal(t, 0, r.code, r.stderr)
	var list []jamsocket.BackendSummary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
	require.Len(t, list, 1)
	assert.Equal(t, resp.BackendID, list[0].ID)
	assert.Equal(t, "jamsocket: token from "+file+"; account from "+file+"\n", r.stderr)

	// The environment wins over the file.
	wrong := map[string]string{"HOME": home, "JAMSOCKET_API_URL": srv.APIURL(), "JAMSOCKET_TOKEN": "wrong.token-value-1"}
	r = binary(t, wrong, "", "wrong.token-value-1", "backend", "list", "--verbose")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "jamsocket: token from $JAMSOCKET_TOKEN; account from nowhere (not set)")
	assert.Contains(t, r.stderr, "needs an account", "a file's account goes with the file's token only")

	// A refused token is not saved; the old file stays whole.
	r = binary(t, env, "wrong.token-value-2\n", "wrong.token-value-2", "login")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "nothing was saved")
	after, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, b, after)

	// An account the token may not act on is refused.
	r = binary(t, env, loginToken, loginToken, "login", "someone-else")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, `may not act on account "someone-else"`)

	r = binary(t, env, "", loginToken, "logout")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Logged out\n", r.stdout)
	assert.NoFileExists(t, file)
	r = binary(t, env, "", "", "backend", "list")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "jamsocket login", "the error says how to log in")

	// Logging out twice is fine, as in the official CLI.
	assert.Equal(t, 0, binary(t, env, "", "", "logout").code)
}

// The token from --token (with a warning: it shows in ps) or --token-file;
// a file once readable by others is replaced by a 0600 one.
func TestLoginTokenSources(t *testing.T) {
	srv := startLocalPlaneWith(t, localplane.Config{Token: loginToken, Accounts: []string{"acct"}})
	home := t.TempDir()
	env := map[string]string{"HOME": home, "JAMSOCKET_SERVER_API": srv.APIURL()} // the official CLI's variable
	file := filepath.Join(home, ".jamsocket", "config.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
	require.NoError(t, os.WriteFile(file, []byte(`{"api_token":{"token":"old.token","account":"old"}}`), 0o644))

	r := binary(t, env, "", loginToken, "login", "--token", loginToken)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "shows in ps")
	info, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(loginToken+"\n"), 0o600))
	out := decode[map[string]string](t, binary(t, env, "", loginToken, "login", "acct", "--token-file", tokenFile, "--json"))
	assert.Equal(t, map[string]string{"account": "acct", "credential_file": file, "status": "ok"}, out)

	r = binary(t, env, "", loginToken, "login")
	assert.Equal(t, exitUsage, r.code, "no token anywhere")
	assert.Contains(t, r.stderr, "login needs a token")
}

// The official CLI's browser login writes a user_session; we read it.
func TestUserSessionCredentials(t *testing.T) {
	srv := startLocalPlaneWith(t, localplane.Config{Token: loginToken})
	home := t.TempDir()
	file := filepath.Join(home, ".jamsocket", "config.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o700))
	require.NoError(t, os.WriteFile(file, []byte(`{"user_session":{"uuid":"u1","user_id":"42","token":"`+loginToken+`",
		"selected_account":"acct","user_is_admin":false,"user_email":"ann@example.com"}}`), 0o600))
	env := map[string]string{"HOME": home, "JAMSOCKET_API_URL": srv.APIURL()}

	decode[jamsocket.ConnectResponse](t, binary(t, env, "", loginToken, "connect", "svc", "--json"))
	assert.Len(t, decode[[]jamsocket.BackendSummary](t, binary(t, env, "", loginToken, "backend", "list", "--json")), 1)

	r := binary(t, env, "", loginToken, "logout")
	require.Equal(t, 0, r.code)
	assert.Contains(t, r.stderr, "not revoked on the server")
	assert.NoFileExists(t, file)

	require.NoError(t, os.WriteFile(file, []byte(`{"api_token":{"token":"x"}}`), 0o600))
	r = binary(t, env, "", "", "backend", "list")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "holds neither an api_token nor a user_session")
}

// `jamsocket login` against a fresh `jamsocket dev --token T`, before any
// use: the dev server's /auth answers as an admin listing "local", so login
// saves "local" without an account argument, and any account with one.
func TestLoginAgainstFreshDev(t *testing.T) {
	const devToken = "dev.SECRET-token-9"
	d := startDev(t, "--token", devToken, "--json", "--", os.Args[0], devBackendArg)
	var listening devEvent
	require.NoError(t, json.Unmarshal([]byte(d.wait(`^.*"type":"listening".*$`)[0]), &listening))
	home := t.TempDir()
	env := map[string]string{"HOME": home, "JAMSOCKET_API_URL": listening.APIURL}
	file := filepath.Join(home, ".jamsocket", "config.json")

	r := binary(t, env, devToken+"\n", devToken, "login")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `Logged in using API token as "local"`)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.JSONEq(t, `{"api_token":{"token":"`+devToken+`","account":"local"}}`, string(b))

	r = binary(t, env, devToken+"\n", devToken, "login", "acme")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `Logged in using API token as "acme"`)

	// The saved login works: a connect and the account's list.
	resp := decode[jamsocket.ConnectResponse](t, binary(t, env, "", devToken, "service", "connect", "svc", "--json"))
	list := decode[[]jamsocket.BackendSummary](t, binary(t, env, "", devToken, "backend", "list", "--json"))
	require.Len(t, list, 1)
	assert.Equal(t, resp.BackendID, list[0].ID)

	r = binary(t, env, "wrong.token-value-3\n", "wrong.token-value-3", "login")
	assert.Equal(t, exitError, r.code, "the dev server's token is still checked")
}
