package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/term"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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

// The groups of commands in the help.
const (
	groupOfficial = "official"
	groupOurs     = "ours"
)

// extraCommands adds commands defined in other files of this package (the
// local plane's `dev` lives in dev.go, which registers itself here from an
// init function), so that this file need not know them.
var extraCommands []func(*app) *cobra.Command

// run is the whole command line with nothing on standard input.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return runWithInput(ctx, args, nil, stdout, stderr, getenv)
}

// runWithInput is the whole command line: it parses args, runs the command,
// and returns the exit status. Output goes to stdout; a failure is one line
// on stderr. It reads the environment only through getenv, and standard
// input (a token, a confirmation) only from stdin, which may be nil.
func runWithInput(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
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
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	account, service, environment, apiURL, tokenFile string
	dev                                              bool
	devPort                                          int
	json, verbose                                    bool

	// flags is the root's persistent flag set, to tell a flag given from
	// one left at its default.
	flags interface{ Changed(string) bool }
	// started is set once a command's own code runs: an error before that
	// is a usage error.
	started bool
	// token is the token in use, kept to scrub it from any error line.
	token string
	// creds are the credentials the last client was made with.
	creds credentials
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "jamsocket",
		Short:         "Spawn and manage Jamsocket session backends",
		Long:          rootLong,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			a.started = true
			return nil
		},
	}
	a.globalFlags(root.PersistentFlags())
	a.flags = root.PersistentFlags()
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	a.addCommands(root)
	return root
}

// rootLong is the help of `jamsocket`.
const rootLong = `jamsocket drives the Jamsocket API, a local dev server or the local plane.

It knows the official Jamsocket CLI's commands and flags (login, push,
service connect, backend terminate, ...) and some shorter ones of its own
(spawn, status, wait, terminate).

Configuration comes from JAMSOCKET_ACCOUNT, JAMSOCKET_TOKEN, JAMSOCKET_SERVICE,
JAMSOCKET_API_URL (or the official CLI's JAMSOCKET_SERVER_API),
JAMSOCKET_ENVIRONMENT, JAMSOCKET_DEV and JAMSOCKET_DEV_PORT (or
JAMSOCKET_PLANE_URL and JAMSOCKET_PLANE_IMAGE for a Plane controller), and
the flags below override them. Without JAMSOCKET_TOKEN or --token-file, the
token and account saved by "jamsocket login" (~/.jamsocket/config.json, the
official CLI's file) are used; --verbose says which. The token is never
printed.

With --json every command prints one JSON document, or one JSON document per
line for streams. On failure a command prints one line on stderr and exits
with status 1 (2 for a usage error, 130 when interrupted).`

// globalFlags are the flags every command takes.
func (a *app) globalFlags(pf *pflag.FlagSet) {
	pf.StringVar(&a.account, "account", "", "account (default $JAMSOCKET_ACCOUNT)")
	pf.StringVar(&a.service, "service", "", "service (default $JAMSOCKET_SERVICE)")
	pf.StringVar(&a.environment, "environment", "", "service environment (default $JAMSOCKET_ENVIRONMENT)")
	pf.StringVar(&a.apiURL, "api-url", "", "API base URL (default $JAMSOCKET_API_URL, $JAMSOCKET_SERVER_API or "+jamsocket.DefaultAPIURL+")")
	pf.StringVar(&a.tokenFile, "token-file", "", "read the API token from this file instead of $JAMSOCKET_TOKEN")
	pf.BoolVar(&a.dev, "dev", false, "talk to a local dev server (default $JAMSOCKET_DEV)")
	pf.IntVar(&a.devPort, "dev-port", 0, "local dev server port (default $JAMSOCKET_DEV_PORT or 8080)")
	pf.BoolVar(&a.json, "json", false, "print JSON for scripts")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "say on stderr where the configuration came from")
}

// addCommands adds the subcommands to root, in two groups: the official
// CLI's and ours.
func (a *app) addCommands(root *cobra.Command) {
	root.AddGroup(&cobra.Group{ID: groupOfficial, Title: "The official Jamsocket CLI's commands (npm jamsocket 0.10):"},
		&cobra.Group{ID: groupOurs, Title: "Ours:"})
	official := []*cobra.Command{
		a.loginCommand(), a.logoutCommand(), a.pushCommand(), a.backendCommand(), a.serviceCommand(),
		a.connectCommand(), a.logsAliasCommand(), a.imagesAliasCommand(), a.terminateCommand(),
	}
	for _, add := range extraCommands { // dev
		official = append(official, add(a))
	}
	ours := []*cobra.Command{a.spawnCommand(), a.statusCommand(), a.waitCommand(), a.authCommand()}
	for group, cmds := range map[string][]*cobra.Command{groupOfficial: official, groupOurs: ours} {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
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

// version is this build's module version, and says which jamsocket this is
// when the official Node CLI is installed too.
func version() string {
	v := "(devel)"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		v = info.Main.Version
	}
	return v + " (jamsocket-go, the Go CLI; the official one is the npm package jamsocket)"
}

// stdinIsTerminal says whether standard input is a terminal a person types
// on.
func (a *app) stdinIsTerminal() bool {
	f, ok := a.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// warnf writes a warning line on stderr.
func (a *app) warnf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "jamsocket: warning: "+format+"\n", args...)
}

// verbosef writes a line on stderr with --verbose.
func (a *app) verbosef(format string, args ...any) {
	if a.verbose {
		fmt.Fprintf(a.stderr, "jamsocket: "+format+"\n", args...)
	}
}

// usage marks an error in the command's arguments.
func usage(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// maxArgs is the limit of args for a command that takes any number.
const maxArgs = 1 << 16

// args checks the number of positional arguments, as a usage error.
func args(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || len(args) > max {
			if min == max {
				return usage("%s takes %d argument(s), got %d (see --help)", cmd.CommandPath(), min, len(args))
			}
			if max == maxArgs {
				return usage("%s takes at least %d argument(s), got %d (see --help)", cmd.CommandPath(), min, len(args))
			}
			return usage("%s takes %d to %d arguments, got %d (see --help)", cmd.CommandPath(), min, max, len(args))
		}
		return nil
	}
}
