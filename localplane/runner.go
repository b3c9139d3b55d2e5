package localplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jamsocket-go/jamsocket/localplane/internal/osproc"
	"github.com/jamsocket-go/jamsocket/types"
)

// The runner seam: the lifecycle hands a runner a plain runSpec, and the
// runner starts it and returns what it started. A runner never sees the
// backend record, the core or the server; what only some runners can do is
// an optional interface below, asked for where it matters.

// runner starts backends.
type runner interface {
	start(spec runSpec) (proc, started, error)
}

// runSpec is everything a runner needs to start one backend.
type runSpec struct {
	id, key, user string
	auth          map[string]any
	// env is the environment Plane's drone gives a backend, but PORT:
	// envAt adds the port the runner serves the backend on.
	env    map[string]string
	limits *types.ResourceLimits
	mount  *types.Mount
	// output takes the backend's output, line by line (see lineWriter),
	// into its log: the runner writes to it as exec.Cmd writes to Stdout.
	output func(stream, line string)
	// ready is closed once the backend has answered the readiness probe.
	ready <-chan struct{}
	log   *slog.Logger // the plane's, with the backend's id
	// control is set only for a warm backend (warmStarter): the host
	// directory holding its control socket, controlSocketName.
	control string
}

// started is what a runner started, for the plane to show and use.
type started struct {
	port int       // the loopback port the backend is served on
	pid  int       // the process a user would look at (0: none, handler backends)
	at   time.Time // when it started
	// image is the image a container backend runs ("" for the others).
	image string
	// samplePID is the process the metrics stream samples (0: none), and
	// stats, when not nil, what it samples instead (the engine's stats).
	samplePID int
	stats     sampler
}

// proc is a started backend.
type proc interface {
	// Exited receives the exit code once the backend is gone for good.
	Exited() <-chan int
	// Signal asks the backend to stop: gracefully (soft) or at once (hard).
	Signal(hard bool)
}

// restarter is a proc that may start again elsewhere before it is ready
// (a process whose port was taken): each restart is reported once.
type restarter interface {
	restarted() <-chan started
}

// sampler is a backend whose resource use is read from somewhere other
// than /proc (the engine's stats, for containers).
type sampler interface {
	sample(ctx context.Context) (osproc.Sample, error)
}

// opener is a runner with state to set up when the server starts (the
// container runner: the engine answers, leftovers removed).
type opener interface {
	open(ctx context.Context, log logger) error
}

// shutdowner is a runner with state to clean up once every backend is gone
// (the process runner's starter thread, the container runner's engine).
type shutdowner interface {
	shutdown(ctx context.Context, log logger) error
}

// envChecker is a runner that refuses some names in a spawn's
// executable.env.
type envChecker interface {
	checkEnv(env map[string]string) error
}

// mountTaker is a runner that binds executable.mount; the others ignore
// it (and the plane says so).
type mountTaker interface {
	takesMounts() bool
}

// takesMounts reports whether r binds executable.mount.
func takesMounts(r runner) bool {
	m, ok := r.(mountTaker)
	return ok && m.takesMounts()
}

// imageRunner is a runner whose backends run an image, which it may not
// have yet (the container runner).
type imageRunner interface {
	// image is the image a backend started now runs, or why none may start.
	image() (string, error)
}

// warmStarter is a runner that can start a backend for the warm pool
// (pool.go): with no id, key or env, only PORT and the control socket in
// spec.control (a process finds it in $JAMSOCKET_CONTROL_SOCKET, a
// container at /jamsocket-control/jamsocket-sdk.sock). Such a backend
// learns its assignment over the socket; it is never started again on
// another port (the pool replaces it instead).
type warmStarter interface {
	startWarm(spec runSpec) (proc, started, error)
}

// errNotReadyToSpawn is why a connect that would spawn is refused while
// spawns are held (Config.Builder is building, or its last build failed)
// or a container plane has no image (spawnGate, asked by core.admit).
// Connects answer it with 503, code NotReadyToSpawn, on the Jamsocket
// surface and with Plane's 500, kind NoDroneAvailable, on Plane's.
var errNotReadyToSpawn = errors.New("not ready to spawn")

// logger is the part of *slog.Logger a runner's open and shutdown use.
type logger interface {
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
}

// newRunner is the runner cfg configures: exactly one of Command, Handler
// and Container.
func newRunner(cfg *Config) (runner, error) {
	switch {
	case len(cfg.Command) > 0:
		if err := osproc.LookPath(cfg.Command[0], cfg.Dir); err != nil {
			return nil, fmt.Errorf("localplane: the backend command cannot be run: %w", err)
		}
		return &processRunner{argv: cfg.Command, dir: cfg.Dir, passEnv: cfg.passEnv}, nil
	case cfg.Handler != nil:
		return handlerRunner{newHandler: cfg.Handler}, nil
	}
	return newContainerRunner(*cfg.Container, cfg.GracePeriod, cfg.Builder)
}
