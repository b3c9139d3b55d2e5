// Command jamsocket drives the Jamsocket API (or a local dev server) from
// the command line: spawn and watch backends, read their logs and metrics,
// and manage services. Run `jamsocket --help` for the commands.
//
// Configuration comes from the same environment variables as
// jamsocket.FromEnv (JAMSOCKET_ACCOUNT, JAMSOCKET_TOKEN, JAMSOCKET_SERVICE,
// JAMSOCKET_API_URL, JAMSOCKET_ENVIRONMENT, JAMSOCKET_DEV,
// JAMSOCKET_DEV_PORT), overridable by flags, and from the credential file
// `jamsocket login` writes (~/.jamsocket/config.json, shared with the
// official Node CLI). The token is never printed.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(runMain(os.Args[1:])) }

// stopSignals end a command the way Ctrl-C does: SIGHUP (the terminal
// closed, tmux kill-session) and SIGQUIT too, so that `jamsocket dev`
// terminates its backends whichever way it is asked to stop.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// runMain runs the command line args with the process's streams and
// environment, stopped by stopSignals.
func runMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	return runWithInput(ctx, args, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
}
