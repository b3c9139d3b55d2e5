package localplane

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/controlsock"
	"github.com/jamsocket-go/jamsocket/localplane/internal/osproc"
	"github.com/jamsocket-go/jamsocket/types"
)

// processRunner runs each backend as a child process of Config.Command,
// through the OS layer.
type processRunner struct {
	argv    []string
	dir     string
	passEnv func(environ []string) []string // what of the plane's environment passes (Config.passEnv)
	ports   portSet

	mu      sync.Mutex
	starter *osproc.Starter // started with the first backend, ended by close
}

// maxStarts bounds how often a backend is started when its port turns out
// to be taken before it could bind it.
const maxStarts = 3

func (r *processRunner) start(spec runSpec) (proc, started, error) { return r.run(spec, maxStarts) }

// startWarm starts a backend of the warm pool: the socket's path in
// $JAMSOCKET_CONTROL_SOCKET, and no second start on another port (its port
// is taken before it could be assigned: the pool starts another).
func (r *processRunner) startWarm(spec runSpec) (proc, started, error) {
	spec.env = map[string]string{controlsock.EnvVar: filepath.Join(spec.control, controlSocketName)}
	return r.run(spec, 1)
}

// run starts spec, at most starts times in all.
func (r *processRunner) run(spec runSpec, starts int) (proc, started, error) {
	r.mu.Lock()
	if r.starter == nil {
		r.starter = osproc.NewStarter()
	}
	starter := r.starter
	r.mu.Unlock()

	p := &process{r: r, spec: spec, starter: starter, maxStarts: starts, exited: make(chan int, 1), restarts: make(chan started, starts)}
	output := func(stream, line string) {
		if isAddrInUse(line) {
			p.addrInUse.Store(true)
		}
		spec.output(stream, line)
	}
	p.stdout = &lineWriter{out: output, stream: "stdout"}
	p.stderr = &lineWriter{out: output, stream: "stderr"}
	st, err := p.startOnce()
	if err != nil {
		return nil, started{}, err
	}
	logLimits(spec, p.cur.LimitsError())
	go p.supervise()
	return p, st, nil
}

// process is a backend process: one OS process, or a few in turn when the
// port of one was taken before it bound it.
type process struct {
	r              *processRunner
	spec           runSpec
	starter        *osproc.Starter
	stdout, stderr *lineWriter
	maxStarts      int          // how often it may start in all
	exited         chan int     // receives the exit code once
	restarts       chan started // receives each start after the first
	addrInUse      atomic.Bool  // the current process said its address was in use

	mu       sync.Mutex
	cur      *osproc.Process
	port     int
	signaled bool // asked to stop: never started again
}

func (p *process) Exited() <-chan int { return p.exited }

func (p *process) restarted() <-chan started { return p.restarts }

// Signal sends SIGTERM (soft) or SIGKILL (hard) to the process group.
func (p *process) Signal(hard bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signaled = true
	p.cur.Signal(hard)
}

// startOnce starts the backend on a port of its own.
func (p *process) startOnce() (started, error) {
	port, err := p.r.ports.take()
	if err != nil {
		return started{}, err
	}
	p.addrInUse.Store(false)
	op, err := p.starter.Start(osproc.Spec{
		Argv:   p.r.argv,
		Dir:    p.r.dir,
		Env:    p.env(port),
		Limits: osLimits(p.spec.limits),
	}, func(stream osproc.Stream, chunk []byte) {
		if stream == osproc.Stderr {
			p.stderr.Write(chunk)
		} else {
			p.stdout.Write(chunk)
		}
	})
	if err != nil {
		p.r.ports.release(port)
		return started{}, err
	}
	p.cur, p.port = op, port
	return started{port: port, pid: op.PID(), samplePID: op.PID(), at: time.Now()}, nil
}

// env is the whole environment of the backend process on port: the
// variables of a Plane drone and the spawn's env, over the pass-through
// set of the plane's own.
func (p *process) env(port int) []string {
	env := p.r.passEnv(os.Environ())
	for k, v := range p.spec.envAt(port) {
		env = append(env, k+"="+v) // later entries win
	}
	return env
}

// supervise waits for the process to exit, starts it again on another port
// when its own was taken before it bound it (at most maxStarts in all),
// and reports the last exit.
func (p *process) supervise() {
	for starts := 1; ; starts++ {
		p.mu.Lock()
		cur := p.cur
		p.mu.Unlock()
		exit := <-cur.Exited()
		p.stdout.flush()
		p.stderr.flush()

		p.mu.Lock()
		p.r.ports.release(p.port)
		again := !p.signaled && starts < p.maxStarts && p.lostItsPort()
		taken := p.port
		p.mu.Unlock()
		if again {
			// Logged outside p.mu: Config.BackendOutput is the user's code.
			p.spec.output("stderr", fmt.Sprintf("localplane: port %d was taken before the backend bound it; starting it again on another port", taken))
			again = p.startAgain()
		}
		if !again {
			p.exited <- exit.Code
			return
		}
	}
}

// startAgain starts the backend again unless it was asked to stop
// meanwhile, and reports the start; it reports whether it did.
func (p *process) startAgain() bool {
	p.mu.Lock()
	if p.signaled {
		p.mu.Unlock()
		return false
	}
	st, err := p.startOnce()
	p.mu.Unlock()
	if err != nil {
		p.spec.output("stderr", "localplane: "+err.Error())
		return false
	}
	p.restarts <- st // buffered for every restart
	return true
}

// lostItsPort reports whether the process ended before the backend was
// ready, saying its address was in use.
func (p *process) lostItsPort() bool {
	select {
	case <-p.spec.ready:
		return false
	default:
		return p.addrInUse.Load()
	}
}

// isAddrInUse reports whether an output line reports EADDRINUSE, as Go,
// Node, Python and the C library word it, on Unix and on Windows.
func isAddrInUse(line string) bool {
	line = strings.ToLower(line)
	return strings.Contains(line, "address already in use") || strings.Contains(line, "eaddrinuse") ||
		strings.Contains(line, "only one usage of each socket address")
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

// osLimits is the spawn's resource limits, as the OS layer applies them.
func osLimits(l *types.ResourceLimits) osproc.Limits {
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
func logLimits(spec runSpec, err error) {
	l := spec.limits
	if l == nil {
		return
	}
	if err != nil {
		spec.log.Warn("resource limits not applied", "err", err)
	}
	if l.CPUPeriod > 0 || l.CPUPeriodPercent > 0 {
		spec.log.Info("resource limit not applied locally", "limit", "cpu_period_percent")
	}
}

// portSet hands out loopback ports to process backends. The OS names a
// free port, but a backend binds it only some time after it starts; a port
// handed to a backend that has not exited is never handed again, so two
// backends starting together cannot get the same one. The zero portSet
// asks the OS (freePort).
type portSet struct {
	mu   sync.Mutex
	held map[int]struct{}
	free func() (int, error) // nil: freePort
}

// maxPortPicks bounds how often take asks for a free port.
const maxPortPicks = 32

// take returns a free port no live backend holds, and holds it.
func (s *portSet) take() (int, error) {
	free := s.free
	if free == nil {
		free = freePort
	}
	for range maxPortPicks {
		port, err := free()
		if err != nil {
			return 0, err
		}
		s.mu.Lock()
		if _, held := s.held[port]; !held {
			if s.held == nil {
				s.held = map[int]struct{}{}
			}
			s.held[port] = struct{}{}
			s.mu.Unlock()
			return port, nil
		}
		s.mu.Unlock()
	}
	return 0, fmt.Errorf("no free port after %d tries that another backend does not hold", maxPortPicks)
}

// release lets port be handed again: its backend process has exited.
func (s *portSet) release(port int) {
	s.mu.Lock()
	delete(s.held, port)
	s.mu.Unlock()
}

// freePort asks the OS for a free loopback port. Another program could take
// it before the backend binds it: the backend then starts again on another
// (process.supervise).
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
