package sessionbackend

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ErrGraceExpired: Serve's drain ran out of its grace period with requests
// still running; they were cut.
var ErrGraceExpired = errors.New("sessionbackend: the grace period ended before every request did")

// Timeouts of the HTTP server Serve runs. There is no read or write timeout:
// a WebSocket or a stream lasts as long as the session.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
)

// Listen listens on Host:Port. Listen before Ready: the platform routes
// requests to the backend once it is ready, and the listener queues them
// until Serve takes them.
func (b *Backend) Listen(ctx context.Context) (net.Listener, error) {
	if b.portErr != nil {
		return nil, b.portErr
	}
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", net.JoinHostPort(b.Host, strconv.Itoa(b.Port)))
}

// Serve serves h on ln until ctx ends or the process gets SIGTERM (how the
// platform stops a backend) or an interrupt, then drains: it takes no new
// connection, closes the channel Draining returns, and waits for the
// requests still running, WebSockets included, to end, for at most the
// grace period. Then it cuts the rest (their contexts end, their
// connections close) and returns ErrGraceExpired. A second signal during the
// drain ends the process at once.
//
// Requests' contexts do not end with ctx: they end when the drain does. It
// returns nil after a full drain, or the error that stopped the server.
// Serve closes the control connection when it returns.
func (b *Backend) Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	defer b.Close()
	stopped, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	draining := make(chan struct{})
	base, cut := context.WithCancel(context.WithValue(context.WithoutCancel(ctx), drainingKey{}, (<-chan struct{})(draining)))
	defer cut()

	// A hijacked connection (a WebSocket) is out of the server's sight
	// until its handler returns: the drain waits for handlers too.
	var handlers sync.WaitGroup
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handlers.Add(1)
			defer handlers.Done()
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(b.logger().Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-stopped.Done():
	}
	stop() // a second signal has its default effect
	close(draining)
	err := b.drain(srv, &handlers, cut)
	<-served // http.ErrServerClosed, now that the listener is closed
	return err
}

// Draining returns a channel that is closed when the Serve that runs the
// request with context ctx begins to drain: a WebSocket's handler says
// goodbye and closes. Outside Serve it returns nil, which never fires.
func Draining(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(drainingKey{}).(<-chan struct{})
	return ch
}

type drainingKey struct{}

// drain stops srv within the grace period: a graceful Shutdown, then the
// wait for hijacked connections' handlers; past the period, cut and Close.
func (b *Backend) drain(srv *http.Server, handlers *sync.WaitGroup, cut context.CancelFunc) error {
	grace := b.GracePeriod
	if grace == 0 {
		grace = DefaultGracePeriod
	}
	if grace < 0 {
		cut()
		return srv.Close()
	}
	deadline, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	done := make(chan bool, 1)
	go func() {
		// After a successful Shutdown no handler can start: Wait is safe.
		clean := srv.Shutdown(deadline) == nil
		if clean {
			handlers.Wait()
		}
		done <- clean
	}()
	select {
	case clean := <-done:
		if clean {
			return nil
		}
	case <-deadline.Done():
	}
	cut()
	_ = srv.Close()
	b.logger().Warn("sessionbackend: the grace period ended; cut the requests still running", "grace", grace)
	return ErrGraceExpired
}
