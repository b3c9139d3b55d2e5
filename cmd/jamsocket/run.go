package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/types"
)

// Exit statuses.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// extraCommands adds commands defined in other files of this package (the
// local plane's `dev` lives in dev.go, which registers itself here from an
// init function), so that this file need not know them.
var extraCommands []func(*app) *cobra.Command

// run is the whole command line: it parses args, runs the command, and
// returns the exit status. Output goes to stdout; a failure is one line on
// stderr. It reads the environment only through getenv.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{ctx: ctx, stdout: stdout, stderr: stderr, getenv: getenv}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, a.errorLine(err))
	var usageErr *usageError
	switch {
	case !a.started || errors.As(err, &usageErr):
		return exitUsage
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return exitInterrupted
	}
	return exitError
}

// app holds the global flags and what every command shares.
type app struct {
	ctx            context.Context
	stdout, stderr io.Writer
	getenv         func(string) string

	account, service, environment, apiURL, tokenFile string
	dev                                              bool
	devPort                                          int
	json                                             bool

	// flags is the root's persistent flag set, to tell a flag given from
	// one left at its default.
	flags interface{ Changed(string) bool }
	// started is set once a command's own code runs: an error before that
	// is a usage error.
	started bool
	// token is the token in use, kept to scrub it from any error line.
	token string
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "jamsocket",
		Short: "Spawn and manage Jamsocket session backends",
		Long: `jamsocket drives the Jamsocket API, a local dev server or the local plane.

Configuration comes from JAMSOCKET_ACCOUNT, JAMSOCKET_TOKEN, JAMSOCKET_SERVICE,
JAMSOCKET_API_URL, JAMSOCKET_ENVIRONMENT, JAMSOCKET_DEV and JAMSOCKET_DEV_PORT
(or JAMSOCKET_PLANE_URL and JAMSOCKET_PLANE_IMAGE for a Plane controller),
and the flags below override them. The token is read only from JAMSOCKET_TOKEN
or --token-file (JAMSOCKET_PLANE_TOKEN for Plane), and is never printed.

With --json every command prints one JSON document, or one JSON document per
line for streams. On failure a command prints one line on stderr and exits
with status 1 (2 for a usage error, 130 when interrupted).`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			a.started = true
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.account, "account", "", "account (default $JAMSOCKET_ACCOUNT)")
	pf.StringVar(&a.service, "service", "", "service (default $JAMSOCKET_SERVICE)")
	pf.StringVar(&a.environment, "environment", "", "service environment (default $JAMSOCKET_ENVIRONMENT)")
	pf.StringVar(&a.apiURL, "api-url", "", "API base URL (default $JAMSOCKET_API_URL or "+jamsocket.DefaultAPIURL+")")
	pf.StringVar(&a.tokenFile, "token-file", "", "read the API token from this file instead of $JAMSOCKET_TOKEN")
	pf.BoolVar(&a.dev, "dev", false, "talk to a local dev server (default $JAMSOCKET_DEV)")
	pf.IntVar(&a.devPort, "dev-port", 0, "local dev server port (default $JAMSOCKET_DEV_PORT or 8080)")
	pf.BoolVar(&a.json, "json", false, "print JSON for scripts")
	a.flags = pf
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })

	root.AddCommand(a.spawnCommand(), a.statusCommand(), a.waitCommand(), a.terminateCommand(),
		a.backendCommand(), a.serviceCommand(), a.authCommand())
	for _, add := range extraCommands {
		root.AddCommand(add(a))
	}
	return root
}

// need says what configuration a command cannot do without.
type need struct{ account, service, token bool }

// client returns a Client configured from the environment and the flags.
// service, if not empty, replaces the configured service.
func (a *app) client(n need, service string) (*jamsocket.Client, error) {
	if a.getenv(jamsocket.EnvPlaneURL) != "" && !a.flags.Changed("api-url") && !a.flags.Changed("dev") {
		return a.planeClient()
	}
	dev := a.dev
	if !a.flags.Changed("dev") {
		if v := a.getenv(jamsocket.EnvDev); v != "" {
			var err error
			if dev, err = strconv.ParseBool(v); err != nil {
				return nil, fmt.Errorf("%s=%q is not true or false", jamsocket.EnvDev, v)
			}
		}
	}
	cfg := jamsocket.Config{
		APIURL:      a.pick("api-url", a.apiURL, jamsocket.EnvAPIURL),
		Environment: a.pick("environment", a.environment, jamsocket.EnvEnvironment),
	}
	if dev {
		cfg.Dev = true
		cfg.DevPort = a.devPort
		if !a.flags.Changed("dev-port") {
			if p := a.getenv(jamsocket.EnvDevPort); p != "" {
				port, err := strconv.Atoi(p)
				if err != nil {
					return nil, fmt.Errorf("%s=%q is not a port number", jamsocket.EnvDevPort, p)
				}
				cfg.DevPort = port
			}
		}
		return jamsocket.New(cfg)
	}
	cfg.Account = a.pick("account", a.account, jamsocket.EnvAccount)
	cfg.Service = a.pick("service", a.service, jamsocket.EnvService)
	if service != "" {
		cfg.Service = service
	}
	token, err := a.readToken()
	if err != nil {
		return nil, err
	}
	cfg.Token, a.token = token, token
	var missing []string
	if n.account && cfg.Account == "" {
		missing = append(missing, "an account ($"+jamsocket.EnvAccount+" or --account)")
	}
	if n.service && cfg.Service == "" {
		missing = append(missing, "a service ($"+jamsocket.EnvService+" or --service)")
	}
	if n.token && cfg.Token == "" {
		missing = append(missing, "a token ($"+jamsocket.EnvToken+" or --token-file)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("jamsocket: this command needs %s (or --dev for a local dev server)", strings.Join(missing, ", "))
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

// planeClient returns a Client for the Plane controller the environment
// names.
func (a *app) planeClient() (*jamsocket.Client, error) {
	cfg := jamsocket.PlaneConfig{
		ControllerURL: a.getenv(jamsocket.EnvPlaneURL),
		Token:         a.getenv(jamsocket.EnvPlaneToken),
		Executable:    jamsocket.PlaneExecutable{Image: a.getenv(jamsocket.EnvPlaneImage)},
		Cluster:       a.getenv(jamsocket.EnvPlaneCluster),
		Pool:          a.getenv(jamsocket.EnvPlanePool),
		Namespace:     a.getenv(jamsocket.EnvPlaneNamespace),
	}
	a.token = cfg.Token
	return jamsocket.NewPlane(cfg)
}

// pick is the flag's value if it was given, else the environment's.
func (a *app) pick(flag, value, env string) string {
	if a.flags.Changed(flag) {
		return value
	}
	return a.getenv(env)
}

func (a *app) readToken() (string, error) {
	if a.tokenFile == "" {
		return a.getenv(jamsocket.EnvToken), nil
	}
	b, err := os.ReadFile(a.tokenFile)
	if err != nil {
		// The error names the file, never its content.
		return "", fmt.Errorf("jamsocket: reading the token file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("jamsocket: the token file %s is empty", a.tokenFile)
	}
	return token, nil
}

// errorLine turns err into the one line printed on stderr, without the
// token.
func (a *app) errorLine(err error) string {
	msg := err.Error()
	if a.ctx.Err() != nil && errors.Is(err, a.ctx.Err()) {
		msg = "interrupted"
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if a.token != "" && a.token != "-" {
		msg = strings.ReplaceAll(msg, a.token, types.Redacted)
	}
	if !strings.HasPrefix(msg, "jamsocket") {
		msg = "jamsocket: " + msg
	}
	return msg
}

// printJSON writes v as one JSON document on its own line.
func (a *app) printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", b)
	return err
}

// printf writes human output.
func (a *app) printf(format string, args ...any) {
	fmt.Fprintf(a.stdout, format, args...)
}

// usage marks an error in the command's arguments.
func usage(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// args checks the number of positional arguments, as a usage error.
func args(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || len(args) > max {
			if min == max {
				return usage("%s takes %d argument(s), got %d (see --help)", cmd.CommandPath(), min, len(args))
			}
			return usage("%s takes %d to %d arguments, got %d (see --help)", cmd.CommandPath(), min, max, len(args))
		}
		return nil
	}
}
