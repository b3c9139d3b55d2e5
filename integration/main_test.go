// Package integration_test drives the SDK against the real local plane, on
// both of its API surfaces (Jamsocket's and Plane's controller), with
// in-process handler backends and with process backends (this test binary,
// re-executed).
package integration_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jamsocket-go/jamsocket/jamsockettest"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// backendArg, as the first argument, makes the test binary a session backend
// instead of running tests; modeEnv (set through the spawn's executable.env)
// picks how it behaves.
const (
	backendArg = "integration-test-backend"
	modeEnv    = "INTEGRATION_BACKEND_MODE"
)

// Backend modes.
const (
	modeServe       = "serve"       // (default) serve backendHandler on $PORT; exit 0 on SIGTERM
	modeIgnoreTerm  = "ignoreterm"  // serve, ignoring SIGTERM
	modeNoListen    = "nolisten"    // never listen; wait to be killed
	modeCrashAtBoot = "crashatboot" // exit 1 at once
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == backendArg {
		os.Exit(runBackend(os.Getenv(modeEnv)))
	}
	// Under -race a process sleeps a second before it exits
	// (atexit_sleep_ms); process backends, this binary, need not.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	goleak.VerifyTestMain(m,
		// After answering a request whose body it did not read (the
		// oversized bodies of TestBadInput), net/http's server sleeps 500 ms
		// before closing the connection, to avoid a TCP reset; it ends by
		// itself and holds nothing of ours.
		goleak.IgnoreAnyFunction("net/http.(*conn).closeWriteAndWait"))
}

// processCommand runs this test binary as a backend.
func processCommand() []string { return []string{os.Args[0], backendArg} }

// runBackend is the process backend: the same handler the in-process
// backends serve, on $PORT.
func runBackend(mode string) int {
	switch mode {
	case modeCrashAtBoot:
		fmt.Fprintln(os.Stderr, "crashing at start")
		return 1
	case modeNoListen:
		select {}
	case modeIgnoreTerm:
		signal.Ignore(syscall.SIGTERM)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: backendHandler(localplane.Backend{
		ID: os.Getenv("SESSION_BACKEND_ID"), Key: os.Getenv("SESSION_BACKEND_KEY"),
	}), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := context.WithCancel(context.Background())
	if mode != modeIgnoreTerm { // Notify would undo the Ignore
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGTERM)
	}
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	_ = srv.Serve(ln)
	return 0
}

// backendHandler is jamsockettest.Echo (JSON answers, WebSocket echo), plus
// an unfinished stream on /stream and (in a process backend) an exit with
// code 3 on /crash.
func backendHandler(b localplane.Backend) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", jamsockettest.Echo(b))
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		// An unsized response that stays open: its first line must reach
		// the caller through the proxy now, not when it ends.
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("first\n"))
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		if b.Port == 0 { // a process backend (handlers get their port)
			os.Exit(3)
		}
		http.Error(w, "a handler backend cannot crash", http.StatusNotImplemented)
	})
	return mux
}
