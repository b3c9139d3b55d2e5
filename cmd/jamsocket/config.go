package main

import (
	"cmp"
	"fmt"
	"os"
	"strings"

	"github.com/jamsocket-go/jamsocket"
)

// How a command finds its configuration: a flag, else the environment
// (the same variables as jamsocket.FromEnv), else, for the token and the
// account only, the credential file `jamsocket login` writes. The SDK itself
// reads no file: the file is this command's business.

// envServerAPI is the official CLI's variable for the API base URL; we read
// it after JAMSOCKET_API_URL, so that a script written for either CLI
// reaches the same server.
const envServerAPI = "JAMSOCKET_SERVER_API"

// need says what configuration a command cannot do without.
type need struct{ account, service, token bool }

// client returns a Client configured from the flags, the environment and
// the credential file. service, if not empty, replaces the configured
// service.
func (a *app) client(n need, service string) (*jamsocket.Client, error) {
	return a.clientFor(n, service, "")
}

// clientFor is client for a service environment; environment "" keeps the
// configured one.
func (a *app) clientFor(n need, service, environment string) (*jamsocket.Client, error) {
	// The SDK's ParseEnv holds the rules of the JAMSOCKET_* variables;
	// flags override what it found.
	env, err := jamsocket.ParseEnv(a.getenv)
	if err != nil {
		return nil, err
	}
	if env.Plane != nil && !a.flags.Changed("api-url") && !a.flags.Changed("dev") {
		return a.planeClient(*env.Plane)
	}
	cfg := jamsocket.Config{
		APIURL:      a.apiURLSetting(env.Config.APIURL),
		Environment: cmp.Or(environment, a.flagOr("environment", a.environment, env.Config.Environment)),
	}
	dev := env.Config.Dev
	if a.flags.Changed("dev") {
		dev = a.dev
	}
	if dev {
		return a.devClient(cfg, env.Config.DevPort)
	}
	cfg.Service = cmp.Or(service, a.flagOr("service", a.service, env.Config.Service))
	creds, err := a.credentials(env.Config)
	if err != nil {
		return nil, err
	}
	cfg.Token, cfg.Account = creds.token, creds.account
	a.creds = creds
	if err := n.check(cfg); err != nil {
		return nil, err
	}
	// What this command does not use may be absent; the Client wants
	// something there.
	for _, f := range []*string{&cfg.Account, &cfg.Service, &cfg.Token} {
		if *f == "" {
			*f = "-"
		}
	}
	return jamsocket.New(cfg)
}

// flagOr is flag when the global flag name was given, else fallback.
func (a *app) flagOr(name, flag, fallback string) string {
	if a.flags.Changed(name) {
		return flag
	}
	return fallback
}

// devClient is a Client of the local dev server (--dev or $JAMSOCKET_DEV)
// on --dev-port, else envPort.
func (a *app) devClient(cfg jamsocket.Config, envPort int) (*jamsocket.Client, error) {
	cfg.Dev, cfg.DevPort = true, envPort
	if a.flags.Changed("dev-port") {
		cfg.DevPort = a.devPort
	}
	a.verbosef("talking to the local dev server on port %d (--dev or $%s)", max(cfg.DevPort, 8080), jamsocket.EnvDev)
	return jamsocket.New(cfg)
}

// check says what of n the configuration lacks, and where to give it.
func (n need) check(cfg jamsocket.Config) error {
	var missing []string
	if n.account && cfg.Account == "" {
		missing = append(missing, "an account ($"+jamsocket.EnvAccount+", --account or jamsocket login)")
	}
	if n.service && cfg.Service == "" {
		missing = append(missing, "a service ($"+jamsocket.EnvService+" or --service)")
	}
	if n.token && cfg.Token == "" {
		missing = append(missing, "a token ($"+jamsocket.EnvToken+", --token-file or jamsocket login)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("jamsocket: this command needs %s (or --dev for a local dev server)", strings.Join(missing, ", "))
	}
	return nil
}

// planeClient returns a Client for the Plane controller the environment
// names.
func (a *app) planeClient(cfg jamsocket.PlaneConfig) (*jamsocket.Client, error) {
	a.token = cfg.Token
	a.verbosef("talking to the Plane controller of $%s", jamsocket.EnvPlaneURL)
	return jamsocket.NewPlane(cfg)
}

// apiURLSetting is --api-url, else fromEnv ($JAMSOCKET_API_URL as
// jamsocket.ParseEnv read it), else the official CLI's
// $JAMSOCKET_SERVER_API, else "" (the SDK's default).
func (a *app) apiURLSetting(fromEnv string) string {
	switch {
	case a.flags.Changed("api-url"):
		return a.apiURL
	case fromEnv != "":
		return fromEnv
	}
	return a.getenv(envServerAPI)
}

// credentials are a token and an account, and where each came from.
type credentials struct {
	token, account         string
	tokenFrom, accountFrom string
}

// credentials finds the token and the account. The token comes from
// --token-file, else $JAMSOCKET_TOKEN, else the credential file; the
// account from --account, else $JAMSOCKET_ACCOUNT, else the credential file,
// but only when the file's token is the one in use (a file's account
// belongs to its token). With --verbose it says which were used.
func (a *app) credentials(fromEnv jamsocket.Config) (credentials, error) {
	var c credentials
	switch {
	case a.tokenFile != "":
		token, err := readTokenFile(a.tokenFile)
		if err != nil {
			return c, err
		}
		c.token, c.tokenFrom = token, "--token-file "+a.tokenFile
	case fromEnv.Token != "":
		c.token, c.tokenFrom = fromEnv.Token, "$"+jamsocket.EnvToken
	}
	switch {
	case a.flags.Changed("account"):
		c.account, c.accountFrom = a.account, "--account"
	case fromEnv.Account != "":
		c.account, c.accountFrom = fromEnv.Account, "$"+jamsocket.EnvAccount
	}
	if c.token == "" {
		if path := credentialPath(a.getenv); path != "" {
			saved, err := readCredentialFile(path)
			if err != nil {
				return c, err
			}
			if saved != nil {
				c.token, c.tokenFrom = saved.token, path
				if c.account == "" {
					c.account, c.accountFrom = saved.account, path
				}
			}
		}
	}
	a.token = c.token
	a.verbosef("token from %s; account from %s", orNone(c.tokenFrom), orNone(c.accountFrom))
	return c, nil
}

// readTokenFile reads a token from a file; an error names the file, never
// its content.
func readTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("jamsocket: reading the token file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("jamsocket: the token file %s is empty", path)
	}
	return token, nil
}

func orNone(s string) string {
	if s == "" {
		return "nowhere (not set)"
	}
	return s
}
