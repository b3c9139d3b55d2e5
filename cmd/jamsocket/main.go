// Command jamsocket drives the Jamsocket API (or a local dev server) from
// the command line: spawn and watch backends, read their logs and metrics,
// and manage services. Run `jamsocket --help` for the commands.
//
// Configuration comes from the same environment variables as
// jamsocket.FromEnv (JAMSOCKET_ACCOUNT, JAMSOCKET_TOKEN, JAMSOCKET_SERVICE,
// JAMSOCKET_API_URL, JAMSOCKET_ENVIRONMENT, JAMSOCKET_DEV,
// JAMSOCKET_DEV_PORT), overridable by flags. The token is read only from
// JAMSOCKET_TOKEN or --token-file and is never printed.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
