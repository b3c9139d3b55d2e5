package jamsockettest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// A session backend can also run as a real process in a test, without a
// separate binary: the test binary runs itself. Call BackendMain first thing
// in TestMain, and spawn with Options.Command set to SelfCommand():
//
//	func TestMain(m *testing.M) {
//		jamsockettest.BackendMain(myBackend) // returns unless run as a backend
//		os.Exit(m.Run())
//	}
//
//	srv := jamsockettest.NewServer(t, &jamsockettest.Options{Command: jamsockettest.SelfCommand()})

// SelfCommand is the Options.Command that runs this test binary as a session
// backend, served by BackendMain. No test runs in the child.
func SelfCommand() []string { return []string{os.Args[0], "-test.run=^$"} }

// BackendMain makes the test binary double as a process session backend.
// When the local plane has started it as one (SESSION_BACKEND_ID is set), it
// serves handler on $PORT, as a Plane drone's container would, until
// SIGTERM, and exits the process; otherwise it returns at once. The handler
// gets the backend's id, key, port and environment; its Output is stdout.
func BackendMain(handler func(localplane.Backend) http.Handler) {
	id := os.Getenv("SESSION_BACKEND_ID")
	if id == "" {
		return
	}
	if err := serveBackend(id, handler); err != nil {
		fmt.Fprintln(os.Stderr, "jamsockettest backend:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func serveBackend(id string, handler func(localplane.Backend) http.Handler) error {
	port, err := strconv.Atoi(os.Getenv("PORT"))
	if err != nil {
		return fmt.Errorf("PORT=%q: %w", os.Getenv("PORT"), err)
	}
	b := localplane.Backend{ID: id, Key: os.Getenv("SESSION_BACKEND_KEY"), Port: port, Env: map[string]string{}, Output: os.Stdout}
	for _, name := range []string{"PORT", "SESSION_BACKEND_ID", "SESSION_BACKEND_KEY", "SESSION_BACKEND_FENCING_TOKEN",
		"SESSION_BACKEND_STATIC_TOKEN", "JAMSOCKET_SERVICE"} {
		if v, ok := os.LookupEnv(name); ok {
			b.Env[name] = v
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler(b), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
