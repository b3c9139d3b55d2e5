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

func (r handlerRunner) start(spec runSpec) (proc, started, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, started{}, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	output := &lineWriter{out: spec.output, stream: "stdout"}
	desc := Backend{
		ID: spec.id, Key: spec.key, User: spec.user, Auth: spec.auth, Env: spec.envAt(port), Port: port,
		Output: output,
	}
	handler, err := callHandler(r.newHandler, desc)
	if err != nil {
		ln.Close()
		return nil, started{}, err
	}
	softCtx, cancel := context.WithCancel(context.Background())
	p := &handlerProc{
		srv: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 30 * time.Second,
			ErrorLog:          log.New(&lineWriter{out: spec.output, stream: "stderr"}, "", 0),
		},
		exited: make(chan int, 1), softCtx: softCtx, cancelOff: cancel, output: output,
	}
	go func() {
		if err := p.srv.Serve(ln); err != http.ErrServerClosed {
			spec.output("stderr", "serve: "+err.Error())
			p.exit(1)
		}
	}()
	// It runs in the plane: its numbers are the plane's.
	return p, started{port: port, samplePID: os.Getpid(), at: time.Now()}, nil
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
