package jamsockettest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/sessionbackend"
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
// When the local plane has started it as one (SESSION_BACKEND_ID is set, or
// JAMSOCKET_CONTROL_SOCKET for a backend of a warm pool: Options.WarmPool),
// it serves handler on $PORT, as a Plane drone's container would, until
// SIGTERM, and exits the process; otherwise it returns at once. It is
// written with package sessionbackend: a warm backend listens, waits for
// its assignment and says Ready. The handler gets the backend's id, key,
// port and environment; its Output is stdout.
func BackendMain(handler func(localplane.Backend) http.Handler) {
	if os.Getenv("SESSION_BACKEND_ID") == "" && os.Getenv(sessionbackend.ControlSocketEnv) == "" {
		return
	}
	if err := serveBackend(context.Background(), handler); err != nil {
		fmt.Fprintln(os.Stderr, "jamsockettest backend:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func serveBackend(ctx context.Context, handler func(localplane.Backend) http.Handler) error {
	sb := sessionbackend.New()
	sb.Host = "127.0.0.1"
	sb.GracePeriod = 5 * time.Second
	ln, err := sb.Listen(ctx)
	if err != nil {
		return err
	}
	a, err := sb.Assignment(ctx)
	if err != nil {
		return err
	}
	b := localplane.Backend{ID: a.BackendID, Key: a.Key, Port: sb.Port, Env: map[string]string{}, Output: os.Stdout}
	// The environment a cold start has, whichever way the assignment came.
	for name, v := range map[string]string{
		"PORT": a.Env["PORT"], "JAMSOCKET_SERVICE": a.Env["JAMSOCKET_SERVICE"],
		"SESSION_BACKEND_ID": a.BackendID, "SESSION_BACKEND_KEY": a.Key,
		"SESSION_BACKEND_FENCING_TOKEN": strconv.FormatInt(a.FencingToken, 10), "SESSION_BACKEND_STATIC_TOKEN": a.StaticToken,
	} {
		if v != "" {
			b.Env[name] = v
		}
	}
	if err := a.Ready(); err != nil {
		return err
	}
	if err := sb.Serve(ctx, ln, handler(b)); err != nil && !errors.Is(err, sessionbackend.ErrGraceExpired) {
		return err
	}
	return nil
}
