package sessionbackend

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/controlsock"
)

// Defaults of a Backend.
const (
	// DefaultPort is the port when PORT is not set (the official package's
	// default, main.ts:70).
	DefaultPort = 8080
	// DefaultGracePeriod bounds the drain after SIGTERM: long enough for
	// requests to finish, short enough to exit cleanly before the local
	// plane's SIGKILL 10 s after SIGTERM (Plane's Docker runtime waits 30 s).
	DefaultGracePeriod = 8 * time.Second
	// ContainerControlSocket is where a container finds the control socket.
	ContainerControlSocket = controlsock.ContainerPath
	// ControlSocketEnv names the variable that gives a process backend its
	// control socket's path.
	ControlSocketEnv = controlsock.EnvVar
)

// Backend is a session backend's view of the platform: where to listen,
// and where its assignment comes from. New configures one from the
// environment; set fields before the first call.
type Backend struct {
	// Port is the port to serve HTTP on: $PORT, DefaultPort when unset. Zero
	// lets the system pick one (as net.Listen does with port 0).
	Port int
	// Host is the address Listen binds; empty means every interface, as a
	// container's must be, since the platform's probe and proxy reach it
	// from outside.
	Host string
	// ControlSocket is the path of the warm pool's control socket, or empty
	// when the backend is not in one (see the package doc).
	ControlSocket string
	// Env is the environment the backend started with, by name.
	Env map[string]string
	// GracePeriod bounds Serve's drain: zero means DefaultGracePeriod,
	// negative means no drain (close everything at once).
	GracePeriod time.Duration
	// Logger receives the package's few lines (a message the control socket
	// sent that is not an assignment, a drain cut short); nil means
	// slog.Default().
	Logger *slog.Logger

	portErr error // PORT was set, but not to a port

	turnOnce sync.Once
	turn     chan struct{} // one Assignment at a time
	assigned *Assignment   // the first successful Assignment's

	mu      sync.Mutex
	control net.Conn // the control connection, once dialed
}

// New returns a Backend configured from the process's environment: Port
// from PORT, Env from the whole environment, and ControlSocket from
// $JAMSOCKET_CONTROL_SOCKET or, when that is unset, ContainerControlSocket
// if it exists.
func New() *Backend {
	b := &Backend{Port: DefaultPort, Env: environ(os.Environ())}
	if port, ok := b.Env["PORT"]; ok && port != "" {
		b.Port, b.portErr = parsePort(port)
	}
	switch path := b.Env[ControlSocketEnv]; {
	case path != "":
		b.ControlSocket = path
	case exists(ContainerControlSocket):
		b.ControlSocket = ContainerControlSocket
	}
	return b
}

// Assignment returns which backend this is and the key it serves. Without
// a control socket it answers at once from SESSION_BACKEND_ID,
// SESSION_BACKEND_KEY, SESSION_BACKEND_FENCING_TOKEN and
// SESSION_BACKEND_STATIC_TOKEN, with Env the rest of the environment. With
// one, it sends Warmed and waits, as long as ctx allows, for the platform to
// assign the backend; Env is then the environment with the assignment's env
// merged over it.
//
// The first assignment is the backend's for good: later calls return it. A
// call that failed can be made again.
func (b *Backend) Assignment(ctx context.Context) (*Assignment, error) {
	b.turnOnce.Do(func() { b.turn = make(chan struct{}, 1) })
	if ctx.Err() != nil {
		return nil, waitEnded(ctx)
	}
	select {
	case b.turn <- struct{}{}:
		defer func() { <-b.turn }()
	case <-ctx.Done():
		return nil, waitEnded(ctx)
	}
	if b.assigned != nil {
		return b.assigned, nil
	}
	var err error
	if b.ControlSocket == "" {
		b.assigned, err = assignmentFromEnv(b.Env)
	} else {
		b.assigned, err = b.assignmentFromControl(ctx)
	}
	return b.assigned, err
}

// Close closes the control connection, if there is one. Serve calls it
// when it returns.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.control == nil {
		return nil
	}
	err := b.control.Close()
	b.control = nil
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Assignment is the backend's assignment to a key: it happens once in a
// backend's life.
type Assignment struct {
	// BackendID is the backend's id.
	BackendID string
	// Key is the key the backend serves (a document, a room).
	Key string
	// FencingToken orders the holders of a key over time (Plane: the
	// milliseconds since the epoch when the key was taken); 0 when the
	// platform gave none.
	FencingToken int64
	// StaticToken is the backend's static connection token, when its spawn
	// asked for one; empty otherwise. It is a secret: log it nowhere.
	StaticToken string
	// Env is the backend's environment (see Backend.Assignment).
	Env map[string]string

	// ready tells the platform; nil without a control socket.
	ready     func() error
	readyOnce sync.Once
	readyErr  error
}

// Ready tells the platform that the backend now serves requests on its
// port: call it after Listen. Without a control socket it does nothing (the
// platform sees readiness by probing the port). Calls after the first return
// the first one's result.
func (a *Assignment) Ready() error {
	a.readyOnce.Do(func() {
		if a.ready != nil {
			a.readyErr = a.ready()
		}
	})
	return a.readyErr
}

// LogValue logs the assignment without its secret and environment.
func (a *Assignment) LogValue() slog.Value {
	return slog.GroupValue(slog.String("backend_id", a.BackendID), slog.String("key", a.Key),
		slog.Int64("fencing_token", a.FencingToken), slog.Bool("static_token", a.StaticToken != ""), slog.Int("env", len(a.Env)))
}

func (b *Backend) logger() *slog.Logger {
	if b.Logger == nil {
		return slog.Default()
	}
	return b.Logger
}

// environ turns NAME=value strings into a map.
func environ(pairs []string) map[string]string {
	env := make(map[string]string, len(pairs))
	for _, pair := range pairs {
		if name, value, ok := strings.Cut(pair, "="); ok {
			env[name] = value
		}
	}
	return env
}

func parsePort(s string) (int, error) {
	port, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, &EnvError{Name: "PORT", Value: s, Err: err}
	}
	return int(port), nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
