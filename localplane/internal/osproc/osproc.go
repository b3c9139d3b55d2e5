// Package osproc is the operating-system layer of the local plane: it starts
// a backend's process in its own process group, with the resource limits it
// asks for, makes sure the group does not outlive the plane (even a plane
// killed with SIGKILL), and samples a process's CPU and memory use.
//
// It knows nothing of backends: it takes a plain Spec and hands the process's
// output to a callback.
package osproc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"
)

// Spec is what to run.
type Spec struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH
	// (of this process) unless it holds a slash.
	Argv []string
	// Dir is the working directory; empty means this process's.
	Dir string
	// Env is the whole environment, as "NAME=value" entries.
	Env []string
	// Limits are applied to the process once it has started.
	Limits Limits
}

// Limits are resource limits, applied as rlimits where the OS has them (Linux);
// a zero field is no limit.
type Limits struct {
	MemoryBytes int64 // RLIMIT_AS
	CPUSeconds  int64 // RLIMIT_CPU
	FileBytes   int64 // RLIMIT_FSIZE
}

// Stream names an output stream of a process.
type Stream string

// The output streams.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// Output receives what a process writes, in chunks as they are read (not
// split into lines), from one goroutine per stream. It must not keep p.
type Output func(stream Stream, p []byte)

// Exit is how a process ended.
type Exit struct {
	// Code is the exit code, or 128+signal when a signal killed the
	// process (as Docker reports it).
	Code int
	// Signal names the signal that killed it ("killed", "terminated", ...),
	// empty when it exited by itself.
	Signal string
}

// Process is a started process and its group.
type Process struct {
	cmd    *exec.Cmd
	pid    int
	exited chan Exit
	limErr error
}

// LimitsError is why Spec.Limits could not all be applied, or nil.
func (p *Process) LimitsError() error { return p.limErr }

// PID is the process id (and the id of its process group).
func (p *Process) PID() int { return p.pid }

// Exited receives the process's Exit once, after the process and whatever
// was left of its group are gone and its output has been delivered.
func (p *Process) Exited() <-chan Exit { return p.exited }

// Signal asks the process group to stop: SIGTERM (soft) or SIGKILL (hard).
// Where there are no signals both kill the process.
func (p *Process) Signal(hard bool) { signalGroup(p.cmd.Process, hard) }

// LookPath reports whether argv0 can be started: it is found in PATH (or,
// holding a slash, relative to dir) and is executable.
func LookPath(argv0, dir string) error {
	cmd := exec.Command(argv0)
	cmd.Dir = dir
	if cmd.Err != nil {
		return cmd.Err
	}
	path := cmd.Path
	if dir != "" && !isAbs(path) {
		path = dir + string(os.PathSeparator) + path
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", argv0)
	}
	return nil
}

func isAbs(p string) bool { return len(p) > 0 && (p[0] == '/' || runtime.GOOS == "windows") }

// Starter starts processes from one OS thread of its own, locked until
// Close. On Linux a process gets a parent-death signal, which the kernel
// sends when the thread that started it ends, not the process; starting
// from a thread that lives as long as the Starter makes it fire when this
// process dies (and not when the Go runtime retires some thread). The
// zero Starter is not usable; use NewStarter.
type Starter struct {
	reqs      chan startReq
	done      chan struct{}
	closeOnce sync.Once
}

type startReq struct {
	spec  Spec
	out   Output
	reply chan startReply
}

type startReply struct {
	p   *Process
	err error
}

// NewStarter starts the thread that Start uses; Close ends it.
func NewStarter() *Starter {
	s := &Starter{reqs: make(chan startReq), done: make(chan struct{})}
	go s.loop()
	return s
}

// loop runs on its own locked thread; returning without unlocking ends the
// thread, so no other goroutine ever runs on it.
func (s *Starter) loop() {
	runtime.LockOSThread()
	for {
		select {
		case req := <-s.reqs:
			p, err := start(req.spec, req.out)
			req.reply <- startReply{p, err}
		case <-s.done:
			return
		}
	}
}

// ErrClosed is Start's error after Close.
var ErrClosed = errors.New("osproc: starter closed")

// Start starts spec in a process group of its own, with its limits, and
// delivers its output to out. Call it only while the Starter is open; the
// processes it started must be gone before Close (Close ends their
// parent-death thread, which kills them).
func (s *Starter) Start(spec Spec, out Output) (*Process, error) {
	if len(spec.Argv) == 0 {
		return nil, errors.New("osproc: empty argv")
	}
	req := startReq{spec: spec, out: out, reply: make(chan startReply, 1)}
	select {
	case s.reqs <- req:
	case <-s.done:
		return nil, ErrClosed
	}
	r := <-req.reply
	return r.p, r.err
}

// Close ends the Starter's thread. It is safe to call more than once.
func (s *Starter) Close() { s.closeOnce.Do(func() { close(s.done) }) }

// start runs on the Starter's thread.
func start(spec Spec, out Output) (*Process, error) {
	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Dir = spec.Dir
	cmd.Env = spec.Env
	if cmd.Env == nil {
		cmd.Env = []string{} // never this process's environment
	}
	cmd.SysProcAttr = sysProcAttr()

	// Pipes we own (not exec's copying goroutines), so that Wait returns as
	// soon as the process exits even if a straggler still holds them.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("start %s: %w", spec.Argv[0], err)
	}
	p := &Process{cmd: cmd, pid: cmd.Process.Pid, exited: make(chan Exit, 1)}
	guard(p.pid)
	p.limErr = applyLimits(p.pid, spec.Limits)

	var readers sync.WaitGroup
	readers.Go(func() { copyOut(outR, Stdout, out) })
	readers.Go(func() { copyOut(errR, Stderr, out) })
	go func() {
		err := cmd.Wait()
		exit := exitOf(cmd.ProcessState, err)
		// The group may outlive its leader: kill what is left, then let the
		// readers drain (bounded, in case something escaped the group).
		killGroup(p.pid)
		unguard(p.pid)
		drained := make(chan struct{})
		go func() { readers.Wait(); close(drained) }()
		select {
		case <-drained:
		case <-time.After(2 * time.Second):
			outR.Close()
			errR.Close()
			<-drained
		}
		outR.Close()
		errR.Close()
		p.exited <- exit
	}()
	return p, nil
}

// copyOut delivers r to out until r ends.
func copyOut(r io.Reader, stream Stream, out Output) {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			out(stream, buf[:n])
		}
		if err != nil {
			return
		}
	}
}
