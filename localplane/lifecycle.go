package localplane

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/jamsocket-go/jamsocket/types"
)

// runner starts backends; proc is one that runs.
type runner interface {
	start(b *backend) (proc, error)
}

// openCloser is a runner with engine state to set up when the server
// starts and to clean up once every backend is gone.
type openCloser interface {
	open(ctx context.Context, log logger) error
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
	cfg := &b.srv.cfg
	log := b.srv.log.With("backend", b.id)

	b.srv.changed(b, false) // scheduled, reported here to keep OnChange in order
	if b.spec.mount != nil {
		log.Info("executable.mount is not supported locally; ignored")
	}
	b.setStatus(types.StatusLoading)
	b.setStatus(types.StatusStarting)
	p, err := b.srv.runner.start(b)
	if err != nil {
		log.Error("backend failed to start", "err", err)
		b.appendLog("stderr", "localplane: "+err.Error())
		b.setState(state{BackendState: types.BackendState{
			Status: types.StatusTerminated, TerminationReason: types.ReasonInternalError,
		}, lastStatus: types.StatusStarting})
		return
	}
	log.Info("backend started", "pid", p.PID(), "port", b.port)
	b.setStatus(types.StatusWaiting)

	probeCtx, stopProbe := context.WithCancel(context.Background())
	defer stopProbe()
	readyCh := make(chan struct{})
	go b.srv.probe(probeCtx, b.addr(), readyCh)

	startup := time.NewTimer(cfg.StartupTimeout)
	defer startup.Stop()
	startupC := startup.C
	lifetimeC := timerC(b.spec.lifetime, b.created)
	var idle, grace *time.Timer
	var idleC, graceC <-chan time.Time
	defer func() {
		for _, t := range []*time.Timer{idle, grace} {
			if t != nil {
				t.Stop()
			}
		}
	}()

	var reason types.TerminationReason
	var kind types.TerminationKind
	lastLive := types.StatusWaiting
	soft := func(r types.TerminationReason) {
		if reason != "" {
			return // already ending
		}
		reason, kind = r, types.KindSoft
		b.setState(state{BackendState: types.BackendState{
			Status: types.StatusTerminating, TerminationReason: reason, TerminationKind: kind,
		}})
		log.Info("terminating", "reason", reason)
		p.Signal(false)
		grace = time.NewTimer(cfg.GracePeriod)
		graceC = grace.C
	}
	hard := func(r types.TerminationReason) {
		if kind == types.KindHard {
			return
		}
		if reason == "" {
			reason = r
		}
		kind = types.KindHard
		graceC = nil
		b.setState(state{BackendState: types.BackendState{
			Status: types.StatusHardTerminating, TerminationReason: reason, TerminationKind: kind,
		}})
		log.Info("hard-terminating", "reason", reason)
		p.Signal(true)
	}

	for {
		select {
		case <-readyCh:
			readyCh, startupC = nil, nil
			startup.Stop()
			if reason == "" && b.setStatus(types.StatusReady) {
				lastLive = types.StatusReady
				if b.spec.maxIdle > 0 {
					b.touch()
					idle = time.NewTimer(b.spec.maxIdle)
					idleC = idle.C
				}
			}
		case <-startupC:
			startupC = nil
			hard(types.ReasonStartupTimeout)
		case <-lifetimeC:
			lifetimeC = nil
			soft(types.ReasonSwept)
		case <-idleC:
			if d := b.idleFor(); d >= b.spec.maxIdle {
				idleC = nil
				soft(types.ReasonSwept)
			} else {
				idle.Reset(b.spec.maxIdle - d)
			}
		case <-graceC:
			graceC = nil
			hard(reason)
		case req := <-b.termCh:
			if req.hard {
				hard(req.reason)
			} else {
				soft(req.reason)
			}
		case code := <-p.Exited():
			exitErr := code != 0
			b.setState(state{
				BackendState: types.BackendState{
					Status: types.StatusTerminated, TerminationReason: reason, TerminationKind: kind,
					ExitError: &exitErr,
				},
				exitCode: &code, lastStatus: lastLive,
			})
			log.Info("backend terminated", "exit_code", code, "reason", reason)
			return
		}
	}
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
// checks a container: any HTTP response counts.
func (s *Server) probe(ctx context.Context, addr string, ready chan<- struct{}) {
	delay := probeFirst
	url := "http://" + addr + "/"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
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
