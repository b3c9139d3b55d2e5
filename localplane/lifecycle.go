package localplane

import (
	"context"
	"log/slog"
	"time"

	"github.com/jamsocket-go/jamsocket/types"
)

// The lifecycle: one goroutine per backend, the only writer of its state,
// takes it from scheduled to terminated, asking the runner to start it and
// to signal it.

// run drives a backend through its lifecycle, in Plane's order: loading,
// starting, waiting, ready, then terminating / hard-terminating and
// terminated. It is the only writer of statuses after scheduled.
func (c *core) run(parent context.Context, b *backend) {
	defer c.finished(b)
	l := &lifecycle{
		c: c, b: b, log: c.log.With("backend", b.id), trace: c.tel.backendStart(parent, b),
		lastLive: types.StatusWaiting, ready: make(chan struct{}),
	}
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
	c        *core
	b        *backend
	log      *slog.Logger
	trace    *startSpan // until ready, or the end of a backend never ready
	p        proc
	restarts <-chan started // nil unless the proc is a restarter
	warm     bool           // a warm backend of the pool: Ready is its readiness, not the probe

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
	l.c.changed(b, false) // scheduled, reported here to keep OnChange in order
	if b.spec.mount != nil && !takesMounts(l.c.runner) {
		l.log.Info("executable.mount is not supported by this runner; ignored")
	}
	l.setStatus(types.StatusLoading)
	if err := unreadableExecutable(&b.spec); err != nil {
		l.failed(types.StatusLoading, err)
		return false
	}
	l.setStatus(types.StatusStarting)
	var (
		p  proc
		st started
	)
	err := l.trace.runnerStart(func() (err error) {
		p, st, err = l.startProc()
		return err
	})
	if err != nil {
		l.failed(types.StatusStarting, err)
		return false
	}
	l.p = p
	if r, ok := p.(restarter); ok {
		l.restarts = r.restarted()
	}
	b.setStarted(st)
	l.log.Info("backend started", "pid", st.pid, "port", st.port, "warm", l.warm)
	l.setStatus(types.StatusWaiting)
	return true
}

// startProc starts the backend: the spawn's one question to the warm pool
// is here. A warm backend the pool hands out is assigned to this backend
// (the assignment is its start, its Ready its readiness); without one, the
// runner starts a new one.
func (l *lifecycle) startProc() (proc, started, error) {
	if w := l.c.pool.take(&l.b.spec); w != nil {
		l.warm = true
		p, st := w.assign(l.b.assignment(), l.b.appendLog, l.ready)
		return p, st, nil
	}
	return l.c.runner.start(l.runSpec())
}

// runSpec is what the runner needs to start the backend.
func (l *lifecycle) runSpec() runSpec {
	b := l.b
	return runSpec{
		id: b.id, key: b.spec.key, user: b.spec.user, auth: b.spec.auth,
		env: b.droneEnv(), limits: b.spec.limits, mount: b.spec.mount,
		output: b.appendLog, ready: l.ready, log: l.log,
	}
}

// failed records that the backend could not start from last: why goes to
// the plane's log and the backend's stderr, and the status to terminated.
func (l *lifecycle) failed(last types.BackendStatus, err error) {
	l.log.Error("backend failed to start", "err", err)
	l.b.appendLog("stderr", "localplane: "+err.Error())
	l.trace.fail(last)
	l.set(neverRan(last))
}

// arm starts the readiness probe and the startup, lifetime and idle
// timers. Like Plane's, the lifetime and the idle time count from the
// spawn: Plane sets a backend's last keep-alive when it schedules it and
// sweeps one idle too long in any status but scheduled and terminated
// (database/connect.rs, database/backend.rs termination_candidates), so a
// backend slow to start can be swept before it is ready.
func (l *lifecycle) arm(ctx context.Context) {
	if !l.warm { // a warm backend's Ready closes l.ready (warmBackend.onReady)
		go func(ready chan<- struct{}) {
			err := l.trace.probe(ctx, func(ctx context.Context) (int, error) { return probe(ctx, l.c.probeClient, l.b.addr) })
			if err == nil {
				close(ready)
			}
		}(l.ready)
	}
	l.startup = time.NewTimer(l.c.cfg.StartupTimeout)
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
		case st := <-l.restarts:
			b.setStarted(st)
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
	if l.reason != "" || !l.setStatus(types.StatusReady) {
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
	l.set(state{BackendState: types.BackendState{
		Status: types.StatusTerminating, TerminationReason: l.reason, TerminationKind: l.kind,
	}})
	l.log.Info("terminating", "reason", l.reason)
	l.p.Signal(false)
	l.grace = time.NewTimer(l.c.cfg.GracePeriod)
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
	l.set(state{BackendState: types.BackendState{
		Status: types.StatusHardTerminating, TerminationReason: l.reason, TerminationKind: l.kind,
	}})
	l.log.Info("hard-terminating", "reason", l.reason)
	l.p.Signal(true)
}

// exited records terminated, with the process's exit code.
func (l *lifecycle) exited(code int) {
	exitErr := code != 0
	l.set(state{
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

// set records st and reports the change; it reports whether st moved the
// backend forward.
func (l *lifecycle) set(st state) bool {
	if !l.b.setState(&st) {
		return false
	}
	l.trace.status(st)
	l.c.changed(l.b, false)
	return true
}

func (l *lifecycle) setStatus(status types.BackendStatus) bool {
	return l.set(state{BackendState: types.BackendState{Status: status}})
}

// setState appends st to the history, stamped with the current time (set
// in st too), unless
// it would not move the backend forward. It reports whether it did. Only
// the lifecycle calls it.
func (b *backend) setState(st *state) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := len(b.history); n > 0 && st.Status.Rank() <= b.history[n-1].Status.Rank() {
		return false
	}
	// Times travel with millisecond precision; keep them strictly
	// increasing at that precision, so that sorting by time keeps the order.
	st.Time = time.Now().UTC().Truncate(time.Millisecond)
	if n := len(b.history); n > 0 && !st.Time.After(b.history[n-1].Time) {
		st.Time = b.history[n-1].Time.Add(time.Millisecond)
	}
	b.history = append(b.history, *st)
	b.notifyLocked()
	return true
}

// setStarted records what the runner started (again). Only the lifecycle
// calls it.
func (b *backend) setStarted(st started) {
	b.mu.Lock()
	b.run = st
	b.mu.Unlock()
}
