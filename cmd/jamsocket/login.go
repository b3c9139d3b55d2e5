package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/jamsocket-go/jamsocket"
)

// maxTokenBytes bounds a token read from standard input.
const maxTokenBytes = 64 << 10

func (a *app) loginCommand() *cobra.Command {
	var token string
	cmd := &cobra.Command{
		Use:   "login [ACCOUNT]",
		Short: "Check an API token and save it for every later command (~/.jamsocket/config.json)",
		Long: `Check an API token with the API and save it, with the account it acts on, in
~/.jamsocket/config.json (mode 0600): the official Jamsocket CLI's credential
file, so that both CLIs are logged in. Later commands use it whenever
JAMSOCKET_TOKEN and --token-file are not given.

The token is read from the terminal without echo, or from standard input when
that is not a terminal (jamsocket login < token.txt), or from --token-file.
--token also works, as in the official CLI, but a token on the command line
shows in ps and in the shell history. Generate tokens on the Jamsocket
settings page (https://app.jamsocket.com/settings).

ACCOUNT is needed only for a token that may act on several accounts.`,
		Example: "  jamsocket login < token.txt\n  jamsocket login --token-file ~/secrets/jamsocket-token",
		Args:    args(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := credentialPath(a.getenv)
			if path == "" {
				return errors.New("jamsocket: login needs a home directory for ~/.jamsocket/config.json ($HOME is not set)")
			}
			if err := checkCredentialPlace(filepath.Dir(path)); err != nil {
				return err // before asking for a token that could not be saved
			}
			t, err := a.loginToken(cmd.Flags().Changed("token"), token)
			if err != nil {
				return err
			}
			a.token = t
			c, err := jamsocket.New(jamsocket.Config{APIURL: a.apiURLSetting(a.getenv(jamsocket.EnvAPIURL)), Token: t, Account: "-", Service: "-"})
			if err != nil {
				return err
			}
			info, err := c.CheckAuth(a.ctx)
			if err != nil {
				return fmt.Errorf("jamsocket: the token was not accepted, nothing was saved: %w", err)
			}
			account, err := loginAccount(info, args)
			if err != nil {
				return err
			}
			if err := writeCredentialFile(path, t, account); err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]string{"account": account, "credential_file": path, "status": "ok"})
			}
			a.printf("Logged in using API token as %q (saved in %s)\n", account, path)
			return nil
		},
	}
	cmd.Flags().StringVarP(&token, "token", "t", "", "the API token (visible in ps: prefer standard input or --token-file)")
	return cmd
}

// loginToken reads the token to log in with: --token, --token-file, the
// terminal without echo, or standard input.
func (a *app) loginToken(given bool, flag string) (string, error) {
	var token string
	switch {
	case given:
		a.warnf("a token given with --token shows in ps and in the shell history; prefer standard input or --token-file")
		token = flag
	case a.tokenFile != "":
		return readTokenFile(a.tokenFile)
	case a.stdinIsTerminal():
		fmt.Fprint(a.stderr, "API token (input is not shown): ")
		b, err := term.ReadPassword(int(a.stdin.(*os.File).Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", fmt.Errorf("jamsocket: reading the token from the terminal: %w", err)
		}
		token = string(b)
	default:
		b, err := io.ReadAll(io.LimitReader(a.stdin, maxTokenBytes))
		if err != nil {
			return "", fmt.Errorf("jamsocket: reading the token from standard input: %w", err)
		}
		token = string(b)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", usage("login needs a token: type it, pipe it in (jamsocket login < token.txt), or give --token-file")
	}
	return token, nil
}

// loginAccount is the account to save: the one asked for, if the token may
// act on it, or the token's only account.
func loginAccount(info *jamsocket.AuthInfo, args []string) (string, error) {
	switch {
	case len(args) == 1 && (info.IsAdmin || slices.Contains(info.Accounts, args[0])):
		return args[0], nil
	case len(args) == 1:
		return "", fmt.Errorf("jamsocket: the token may not act on account %q (its accounts: %s)", args[0], strings.Join(info.Accounts, ", "))
	case len(info.Accounts) == 1:
		return info.Accounts[0], nil
	case len(info.Accounts) == 0:
		return "", errors.New("jamsocket: the token is valid but has no account; finish setting up the account on the Jamsocket dashboard")
	}
	return "", usage("the token may act on several accounts (%s): name one, as in jamsocket login %s", strings.Join(info.Accounts, ", "), info.Accounts[0])
}

func (a *app) logoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Remove the saved credentials (~/.jamsocket/config.json)",
		Args:  args(0, 0),
		RunE: func(*cobra.Command, []string) error {
			path := credentialPath(a.getenv)
			var removed bool
			if path != "" {
				saved, _ := readCredentialFile(path) // a broken file is removed all the same
				var err error
				if removed, err = removeCredentialFile(path); err != nil {
					return err
				}
				if saved != nil && saved.userSession {
					a.warnf("the file held a browser login (user_session); it is forgotten here but not revoked on the server (the official CLI's logout revokes it)")
				}
			}
			if a.getenv(jamsocket.EnvToken) != "" {
				a.warnf("$%s is still set, and commands still use it", jamsocket.EnvToken)
			}
			if a.json {
				return a.printJSON(map[string]any{"credential_file": path, "removed": removed, "status": "ok"})
			}
			a.printf("Logged out\n")
			return nil
		},
	}
}

func (a *app) authCommand() *cobra.Command {
	return &cobra.Command{
		Use: "auth", Short: "Check the token and show the accounts it may act on", Args: args(0, 0),
		RunE: func(*cobra.Command, []string) error {
			c, err := a.client(need{token: true}, "")
			if err != nil {
				return err
			}
			info, err := c.CheckAuth(a.ctx)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(info)
			}
			admin := ""
			if info.IsAdmin {
				admin = " (admin)"
			}
			a.printf("the token is valid%s; accounts: %s\n", admin, strings.Join(info.Accounts, ", "))
			return nil
		},
	}
}
