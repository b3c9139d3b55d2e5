package localplane

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"
)

// processRunner runs each backend as a child process of Config.Command.
type processRunner struct {
	argv []string
	dir  string
}

// process is a running backend process.
type process struct {
	cmd    *exec.Cmd
	pid    int
	exited chan int // receives the exit code once
}

func (p *process) Exited() <-chan int { return p.exited }
func (p *process) PID() int           { return p.pid }

// Signal sends SIGTERM (soft) or SIGKILL (hard) to the process group.
func (p *process) Signal(hard bool) { signalGroup(p.cmd.Process, hard) }

func (r processRunner) start(b *backend) (proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	env := b.backendEnv(port)
	cmd := exec.Command(r.argv[0], r.argv[1:]...)
	cmd.Dir = r.dir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v) // later entries win over inherited ones
	}
	setProcessGroup(cmd)

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
		return nil, fmt.Errorf("start %s: %w", r.argv[0], err)
	}
	p := &process{cmd: cmd, pid: cmd.Process.Pid, exited: make(chan int, 1)}
	b.mu.Lock()
	b.port, b.pid, b.startedAt = port, p.pid, time.Now()
	b.mu.Unlock()
	applyLimits(b, p.pid)

	var readers sync.WaitGroup
	for _, s := range []struct {
		f    *os.File
		name string
	}{{outR, "stdout"}, {errR, "stderr"}} {
		readers.Go(func() { readLines(b, s.f, s.name) })
	}
	go func() {
		err := cmd.Wait()
		code := exitCode(cmd.ProcessState, err)
		// The group may outlive its leader: kill what is left, then let the
		// readers drain (bounded, in case something escaped the group).
		killGroup(p.pid)
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
		p.exited <- code
	}()
	return p, nil
}

// readLines feeds one output stream of a process into the backend's log.
func readLines(b *backend, r io.Reader, stream string) {
	br := bufio.NewReaderSize(r, 4096)
	w := &lineWriter{b: b, stream: stream}
	for {
		chunk, err := br.ReadSlice('\n')
		w.Write(chunk)
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			break
		}
	}
	w.flush()
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
