package localplane

import (
	"context"
	"net"
	"os"
	"sync"
	"time"

	"github.com/jamsocket-go/jamsocket/localplane/internal/osproc"
)

// processRunner runs each backend as a child process of Config.Command,
// through the OS layer.
type processRunner struct {
	argv []string
	dir  string

	mu      sync.Mutex
	starter *osproc.Starter // started with the first backend, ended by close
}

// process is a running backend process.
type process struct {
	p      *osproc.Process
	exited chan int // receives the exit code once
}

func (p *process) Exited() <-chan int { return p.exited }
func (p *process) PID() int           { return p.p.PID() }

// Signal sends SIGTERM (soft) or SIGKILL (hard) to the process group.
func (p *process) Signal(hard bool) { p.p.Signal(hard) }

func (r *processRunner) start(b *backend) (proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.starter == nil {
		r.starter = osproc.NewStarter()
	}
	starter := r.starter
	r.mu.Unlock()

	stdout := &lineWriter{b: b, stream: "stdout"}
	stderr := &lineWriter{b: b, stream: "stderr"}
	op, err := starter.Start(osproc.Spec{
		Argv:   r.argv,
		Dir:    r.dir,
		Env:    b.processEnv(port),
		Limits: b.osLimits(),
	}, func(stream osproc.Stream, chunk []byte) {
		if stream == osproc.Stderr {
			stderr.Write(chunk)
		} else {
			stdout.Write(chunk)
		}
	})
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.port, b.pid, b.startedAt = port, op.PID(), time.Now()
	b.samplePID = op.PID()
	b.mu.Unlock()
	b.logLimits(op.LimitsError())

	p := &process{p: op, exited: make(chan int, 1)}
	go func() {
		exit := <-op.Exited()
		stdout.flush()
		stderr.flush()
		p.exited <- exit.Code
	}()
	return p, nil
}

// shutdown ends the thread the runner starts processes from, once every
// backend is gone.
func (r *processRunner) shutdown(context.Context, logger) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.starter != nil {
		r.starter.Close()
	}
	return nil
}

// processEnv is the whole environment of a backend process: the variables
// of a Plane drone and the spawn's env (backendEnv), over the pass-through
// set of the plane's own.
func (b *backend) processEnv(port int) []string {
	env := b.srv.cfg.passEnv(os.Environ())
	for k, v := range b.backendEnv(port) {
		env = append(env, k+"="+v) // later entries win
	}
	return env
}

// osLimits is the spawn's resource limits, as the OS layer applies them.
func (b *backend) osLimits() osproc.Limits {
	l := b.spec.limits
	if l == nil {
		return osproc.Limits{}
	}
	return osproc.Limits{
		MemoryBytes: max(l.MemoryLimitBytes, 0),
		CPUSeconds:  max(l.CPUTimeLimit, 0),
		FileBytes:   max(l.DiskLimitBytes, 0),
	}
}

// logLimits logs what of the spawn's resource limits does not apply here.
func (b *backend) logLimits(err error) {
	l := b.spec.limits
	if l == nil {
		return
	}
	log := b.srv.log.With("backend", b.id)
	if err != nil {
		log.Warn("resource limits not applied", "err", err)
	}
	if l.CPUPeriod > 0 || l.CPUPeriodPercent > 0 {
		log.Info("resource limit not applied locally", "limit", "cpu_period_percent")
	}
}

// freePort asks the OS for a free loopback port. Another program could take
// it before the backend binds it; on a development machine that is rare.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
