package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/jamsocket-go/jamsocket/internal/fsowner"
)

// The credential file is the official CLI's own, ~/.jamsocket/config.json,
// so that logging in with either CLI logs in both. It holds one of two
// shapes: {"api_token": {"token", "account"}}, which `jamsocket login`
// writes, or {"user_session": {"token", "selected_account", ...}}, which the
// official CLI's browser login writes and which we read but never write.

// savedCredentials are what the credential file holds, whichever shape.
type savedCredentials struct {
	token, account string
	userSession    bool
}

// credentialFile is the JSON of the credential file; only the fields we use
// are declared.
type credentialFile struct {
	APIToken    *apiTokenCredentials    `json:"api_token,omitempty"`
	UserSession *userSessionCredentials `json:"user_session,omitempty"`
}

type apiTokenCredentials struct {
	Token   string `json:"token"`
	Account string `json:"account"`
}

type userSessionCredentials struct {
	Token           string `json:"token"`
	SelectedAccount string `json:"selected_account"`
}

// credentialPath is ~/.jamsocket/config.json, with home from the
// environment; "" when there is no home.
func credentialPath(getenv func(string) string) string {
	home := getenv("HOME")
	if home == "" && runtime.GOOS == "windows" {
		home = getenv("USERPROFILE")
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".jamsocket", "config.json")
}

// readCredentialFile reads the credential file at path: nil if there is
// none, an error (naming the file, never its content) if it holds neither
// shape completely, or if another user could have written it (see
// checkCredentialPlace).
func readCredentialFile(path string) (*savedCredentials, error) {
	if err := checkCredentialPlace(filepath.Dir(path), path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jamsocket: reading the credential file: %w", err)
	}
	var f credentialFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("jamsocket: the credential file %s is not JSON (run jamsocket login again)", path)
	}
	apiToken := f.APIToken != nil && f.APIToken.Token != "" && f.APIToken.Account != ""
	userSession := f.UserSession != nil && f.UserSession.Token != "" && f.UserSession.SelectedAccount != ""
	switch {
	case apiToken && !userSession:
		return &savedCredentials{token: f.APIToken.Token, account: f.APIToken.Account}, nil
	case userSession && !apiToken:
		return &savedCredentials{token: f.UserSession.Token, account: f.UserSession.SelectedAccount, userSession: true}, nil
	}
	return nil, fmt.Errorf("jamsocket: the credential file %s holds neither an api_token nor a user_session (run jamsocket login again)", path)
}

// writeCredentialFile saves an API token and its account in the api_token
// shape, readable only by the user (0600, in a 0700 directory). It writes a
// new file and renames it over the old one, so that a failure leaves the
// old file whole and a file once readable by others is replaced, not
// rewritten in place.
func writeCredentialFile(path, token, account string) error {
	b, err := json.MarshalIndent(credentialFile{APIToken: &apiTokenCredentials{Token: token, Account: account}}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("jamsocket: creating the credential directory: %w", err)
	}
	// The file itself is replaced, whoever could write the old one.
	if err := checkCredentialPlace(dir); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".config-*.json")
	if err != nil {
		return fmt.Errorf("jamsocket: writing the credential file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing to remove
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("jamsocket: writing the credential file: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("jamsocket: writing the credential file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("jamsocket: writing the credential file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("jamsocket: writing the credential file: %w", err)
	}
	return nil
}

// checkCredentialPlace refuses credentials kept where another user could
// plant a token of theirs (every command would then act on their account:
// jamsocket push would send them the image) or swap the file to read ours:
// a path (the directory, the file) that belongs to another user or that its
// group or others may write to. A path may be a link (dotfile managers make
// them): what it points to is checked. A missing path passes.
func checkCredentialPlace(paths ...string) error {
	for _, p := range paths {
		resolved, err := filepath.EvalSymlinks(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			err = fsowner.Private(resolved)
		}
		if errors.Is(err, fsowner.ErrNotYours) {
			return fmt.Errorf("jamsocket: refusing the credentials: %w: another user could plant a token there or read yours (make it yours and chmod go-w it, or remove it and log in again)", err)
		}
		if err != nil {
			return fmt.Errorf("jamsocket: checking the credential file: %w", err)
		}
	}
	return nil
}

// removeCredentialFile deletes the credential file; removed says whether
// there was one.
func removeCredentialFile(path string) (removed bool, err error) {
	err = os.Remove(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("jamsocket: removing the credential file: %w", err)
	}
	return true, nil
}
