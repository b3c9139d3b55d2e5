package localplane

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// handlerRunner serves each backend's Config.Handler on its own loopback
// listener, in this process.
type handlerRunner struct {
	newHandler func(Backend) http.Handler
}

// handlerProc is a served handler backend. It "exits" when its server has
// shut down: with code 0 after a graceful shutdown, 137 (like a SIGKILL) after
// a hard one.
type handlerProc struct {
	srv       *http.Server
	exited    chan int
	once      sync.Once
	softOnce  sync.Once
	cancelOff context.CancelFunc
	softCtx   context.Context
	output    *lineWriter // Backend.Output, flushed at exit
}

func (p *handlerProc) Exited() <-chan int { return p.exited }
func (p *handlerProc) PID() int           { return 0 }

func (p *handlerProc) exit(code int) {
	p.once.Do(func() {
		p.cancelOff()
		p.output.flush() // a last line without a newline still counts
		p.exited <- code
	})
}

// Signal shuts the server down gracefully (soft: in-flight requests finish)
// or closes it at once (hard).
func (p *handlerProc) Signal(hard bool) {
	if hard {
		p.cancelOff()
		p.srv.Close()
		p.exit(137)
		return
	}
	p.softOnce.Do(func() {
		go func() {
			if err := p.srv.Shutdown(p.softCtx); err == nil {
				p.exit(0)
			}
		}()
	})
}

func (r handlerRunner) start(b *backend) (_ proc, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	env := b.backendEnv(port)
	output := &lineWriter{b: b, stream: "stdout"}
	desc := Backend{
		ID: b.id, Key: b.spec.key, User: b.spec.user, Auth: b.spec.auth, Env: env, Port: port,
		Output: output,
	}
	handler, err := callHandler(r.newHandler, desc)
	if err != nil {
		ln.Close()
		return nil, err
	}
	softCtx, cancel := context.WithCancel(context.Background())
	p := &handlerProc{
		srv: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 30 * time.Second,
			ErrorLog:          log.New(&lineWriter{b: b, stream: "stderr"}, "", 0),
		},
		exited: make(chan int, 1), softCtx: softCtx, cancelOff: cancel, output: output,
	}
	b.mu.Lock()
	b.port, b.startedAt = port, time.Now()
	b.samplePID = os.Getpid() // it runs in the plane: its numbers are the plane's
	b.mu.Unlock()
	go func() {
		if err := p.srv.Serve(ln); err != http.ErrServerClosed {
			b.appendLog("stderr", "serve: "+err.Error())
			p.exit(1)
		}
	}()
	return p, nil
}

// callHandler calls Config.Handler, turning a panic into an error.
func callHandler(newHandler func(Backend) http.Handler, desc Backend) (h http.Handler, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("localplane: Config.Handler panicked: %v", v)
		}
	}()
	h = newHandler(desc)
	if h == nil {
		return nil, fmt.Errorf("localplane: Config.Handler returned nil")
	}
	return h, nil
}
