package localplane

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jamsocket-go/jamsocket/types"
)

// runner starts backends; proc is one that runs.
type runner interface {
	start(b *backend) (proc, error)
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

type proc interface {
	// Exited receives the exit code once the backend is gone for good.
	Exited() <-chan int
	// Signal asks the backend to stop: gracefully (soft) or at once (hard).
	Signal(hard bool)
	// PID is the process id, 0 for handler backends.
	PID() int
}

// Probe intervals: fast at first, so that spawn-to-ready is short, backing
// off for slow starters.
const (
	probeFirst = 5 * time.Millisecond
	probeMax   = 100 * time.Millisecond
)

// run drives a backend through its lifecycle, in Plane's order: loading,
// starting, waiting, ready, then terminating / hard-terminating and
// terminated. It is the only writer of statuses after scheduled.
func (b *backend) run() {
	defer b.srv.finished(b)
	l := &lifecycle{b: b, cfg: &b.srv.cfg, log: b.srv.log.With("backend", b.id), lastLive: types.StatusWaiting}
	if !l.start() {
		return
	}
	ctx, stopProbe := context.WithCancel(context.Background())
	defer stopProbe()
	l.arm(ctx)
	defer l.disarm()
	l.serve()
}

// lifecycle is one backend's run, from start to exit. Its methods read in
// the order its states come: start, arm, serve (ready, sweeps, termination
// requests), soft and hard termination, exit.
type lifecycle struct {
	b   *backend
	cfg *Config
	log *slog.Logger
	p   proc

	reason   types.TerminationReason // set once ending
	kind     types.TerminationKind
	lastLive types.BackendStatus // the last status before ending: waiting or ready

	ready                chan struct{} // closed by the probe
	startup, idle, grace *time.Timer
	startupC, lifetimeC  <-chan time.Time
	idleC, graceC        <-chan time.Time
}

// start takes the backend from scheduled to waiting: its executable is
// read as Plane's drone reads it, then its runner starts it. It reports
// false when either fails, after recording terminated as Plane's drone
// does (neverRan).
func (l *lifecycle) start() bool {
	b := l.b
	b.srv.changed(b, false) // scheduled, reported here to keep OnChange in order
	if b.spec.mount != nil {
		l.log.Info("executable.mount is not supported locally; ignored")
	}
	b.setStatus(types.StatusLoading)
	if err := unreadableExecutable(&b.spec); err != nil {
		l.failed(types.StatusLoading, err)
		return false
	}
	b.setStatus(types.StatusStarting)
	p, err := b.srv.runner.start(b)
	if err != nil {
		l.failed(types.StatusStarting, err)
		return false
	}
	l.p = p
	l.log.Info("backend started", "pid", p.PID(), "port", b.port)
	b.setStatus(types.StatusWaiting)
	return true
}

// failed records that the backend could not start from last: why goes to
// the plane's log and the backend's stderr, and the status to terminated.
func (l *lifecycle) failed(last types.BackendStatus, err error) {
	l.log.Error("backend failed to start", "err", err)
	l.b.appendLog("stderr", "localplane: "+err.Error())
	l.b.setState(neverRan(last))
}

// arm starts the readiness probe and the startup, lifetime and idle
// timers. Like Plane's, the lifetime and the idle time count from the
// spawn: Plane sets a backend's last keep-alive when it schedules it and
// sweeps one idle too long in any status but scheduled and terminated
// (database/connect.rs, database/backend.rs termination_candidates), so a
// backend slow to start can be swept before it is ready.
func (l *lifecycle) arm(ctx context.Context) {
	l.ready = make(chan struct{})
	go l.b.srv.probe(ctx, l.b.addr, l.ready)
	l.startup = time.NewTimer(l.cfg.StartupTimeout)
	l.startupC = l.startup.C
	l.lifetimeC = timerC(l.b.spec.lifetime, l.b.created)
	if maxIdle := l.b.spec.maxIdle; maxIdle > 0 {
		l.idle = time.NewTimer(maxIdle - l.b.idleFor())
		l.idleC = l.idle.C
	}
}

// disarm stops the timers still running.
func (l *lifecycle) disarm() {
	for _, t := range []*time.Timer{l.startup, l.idle, l.grace} {
		if t != nil {
			t.Stop()
		}
	}
}

// serve waits for what happens to a running backend, until its process has
// exited.
func (l *lifecycle) serve() {
	b := l.b
	for {
		select {
		case <-l.ready:
			l.onReady()
		case <-l.startupC:
			l.startupC = nil
			l.hard(types.ReasonStartupTimeout)
		case <-l.lifetimeC:
			l.lifetimeC = nil
			l.soft(types.ReasonSwept)
		case <-l.idleC:
			l.onIdleTimer()
		case <-l.graceC:
			l.graceC = nil
			l.hard(l.reason)
		case req := <-b.termCh:
			if req.hard {
				l.hard(req.reason)
			} else {
				l.soft(req.reason)
			}
		case code := <-l.p.Exited():
			l.exited(code)
			return
		}
	}
}

// onReady marks the backend ready, unless it is already ending.
func (l *lifecycle) onReady() {
	l.ready, l.startupC = nil, nil
	l.startup.Stop()
	if l.reason != "" || !l.b.setStatus(types.StatusReady) {
		return
	}
	l.lastLive = types.StatusReady
}

// onIdleTimer sweeps a backend idle for max_idle_seconds, or waits for the
// rest of that time.
func (l *lifecycle) onIdleTimer() {
	maxIdle := l.b.spec.maxIdle
	if d := l.b.idleFor(); d < maxIdle {
		l.idle.Reset(maxIdle - d)
		return
	}
	l.idleC = nil
	l.soft(types.ReasonSwept)
}

// soft starts a soft termination: terminating, SIGTERM, and the grace
// period before a hard one. Nothing happens if the backend is ending.
func (l *lifecycle) soft(r types.TerminationReason) {
	if l.reason != "" {
		return
	}
	l.reason, l.kind = r, types.KindSoft
	l.b.setState(state{BackendState: types.BackendState{
		Status: types.StatusTerminating, TerminationReason: l.reason, TerminationKind: l.kind,
	}})
	l.log.Info("terminating", "reason", l.reason)
	l.p.Signal(false)
	l.grace = time.NewTimer(l.cfg.GracePeriod)
	l.graceC = l.grace.C
}

// hard hard-terminates: hard-terminating and SIGKILL. The reason of a soft
// termination under way is kept.
func (l *lifecycle) hard(r types.TerminationReason) {
	if l.kind == types.KindHard {
		return
	}
	if l.reason == "" {
		l.reason = r
	}
	l.kind = types.KindHard
	l.graceC = nil
	l.b.setState(state{BackendState: types.BackendState{
		Status: types.StatusHardTerminating, TerminationReason: l.reason, TerminationKind: l.kind,
	}})
	l.log.Info("hard-terminating", "reason", l.reason)
	l.p.Signal(true)
}

// exited records terminated, with the process's exit code.
func (l *lifecycle) exited(code int) {
	exitErr := code != 0
	l.b.setState(state{
		BackendState: types.BackendState{
			Status: types.StatusTerminated, TerminationReason: l.reason, TerminationKind: l.kind,
			ExitError: &exitErr,
		},
		exitCode: &code, lastStatus: l.lastLive,
	})
	l.log.Info("backend terminated", "exit_code", code, "reason", l.reason)
}

// timerC returns a channel that fires d after from, or nil if d is 0.
func timerC(d time.Duration, from time.Time) <-chan time.Time {
	if d <= 0 {
		return nil
	}
	// A timer that is never stopped is collected once unreferenced (Go 1.23+).
	return time.NewTimer(time.Until(from.Add(d))).C
}

// probe closes ready once addr answers an HTTP request, the way Plane's drone
// checks a container: any HTTP response counts. addr is read before each
// try: a process backend may start again on another port.
func (s *Server) probe(ctx context.Context, addr func() string, ready chan<- struct{}) {
	delay := probeFirst
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+addr()+"/", nil)
		if resp, err := s.probeClient.Do(req); err == nil {
			resp.Body.Close()
			close(ready)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, probeMax)
	}
}

// backendEnv is the environment Plane's drone gives a backend, plus the
// connect's executable.env.
func (b *backend) backendEnv(port int) map[string]string {
	env := make(map[string]string, len(b.spec.execEnv)+6)
	for k, v := range b.spec.execEnv {
		env[k] = v
	}
	env["PORT"] = strconv.Itoa(port)
	env["SESSION_BACKEND_ID"] = b.id
	env["SESSION_BACKEND_KEY"] = b.spec.key
	env["SESSION_BACKEND_FENCING_TOKEN"] = strconv.FormatInt(b.created.UnixMilli(), 10)
	if b.staticToken != "" {
		env["SESSION_BACKEND_STATIC_TOKEN"] = b.staticToken
	}
	if b.spec.service != "" {
		env["JAMSOCKET_SERVICE"] = b.spec.service
	}
	return env
}
