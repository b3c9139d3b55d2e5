// Command warmbackend is the session backend the warm-pool container tests
// run, built into a FROM scratch image by dockertest.GoImage. It is written
// with package sessionbackend: it listens on $PORT on every interface, takes
// its assignment (from the warm pool's control socket, or from its
// environment) and says Ready, unless the assignment's env has
// TESTBACKEND_MODE=noready. GET / answers the assignment's backend id and
// key and the env's FOO and JAMSOCKET_SERVICE as JSON; SIGTERM drains.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/jamsocket-go/jamsocket/sessionbackend"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	sb := sessionbackend.New()
	ln, err := sb.Listen(ctx)
	if err != nil {
		return err
	}
	fmt.Println("listening")
	a, err := sb.Assignment(ctx)
	if err != nil {
		return err
	}
	fmt.Println("assigned " + a.BackendID)
	if a.Env["TESTBACKEND_MODE"] == "noready" {
		stopped, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
		defer stop()
		<-stopped.Done()
		return nil
	}
	if err := a.Ready(); err != nil {
		return err
	}
	return sb.Serve(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"backend_id": a.BackendID, "key": a.Key, "foo": a.Env["FOO"], "service": a.Env["JAMSOCKET_SERVICE"],
			"port": a.Env["PORT"], "hostname": a.Env["HOSTNAME"],
		})
	}))
}
