package localplane

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jamsocket-go/jamsocket/localplane/internal/osproc"
	"github.com/jamsocket-go/jamsocket/types"
)

// Server is a local plane: an API listener speaking Jamsocket's v2 API and
// Plane's controller API, a proxy listener that connection URLs point at, and
// the backends they run. Create one with New.
type Server struct {
	cfg         Config
	log         *slog.Logger
	runner      runner
	probeClient *http.Client
	keepAlive   time.Duration // SSE keep-alive interval
	timeouts    timeouts
	proxyLog    *log.Logger // the backends' ReverseProxy errors, into cfg.Logger
	reg         *registry   // the backends, their keys and tokens

	// mu guards the server's own state below; the registry has its own lock.
	mu       sync.Mutex
	started  bool
	closed   bool
	services serviceCatalog // the services of the service endpoints
	console  *console       // the web console, told of every backend change
	spawns   spawnGate      // whether a spawn may start now (Config.Builder)
	apiLn    net.Listener
	proxyLn  net.Listener
	apiSrv   *http.Server
	proxySrv *http.Server

	closing   chan struct{} // closed when Close begins; ends every stream
	serving   sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// keepAliveInterval is how often SSE streams send a keep-alive comment.
const keepAliveInterval = 15 * time.Second

// timeouts are the connection timeouts of both listeners.
type timeouts struct {
	header time.Duration // to send the request line and headers
	idle   time.Duration // an idle keep-alive connection is closed
	// apiBody bounds reading an API request's body (at most 1 MiB).
	apiBody time.Duration
	// proxyBodyIdle bounds the pause between two reads of a proxied
	// request's body; the body itself may stream for as long as it flows.
	proxyBodyIdle time.Duration
}

var defaultTimeouts = timeouts{header: 10 * time.Second, idle: 60 * time.Second, apiBody: 20 * time.Second, proxyBodyIdle: 30 * time.Second}

// exposure says what a listener reachable from the network exposes.
func exposure(listener string, withToken bool) string {
	switch {
	case listener == "proxy":
		return "reach every backend whose connection URL they know"
	case withToken:
		return "read backend status and, with the token, spawn and terminate backends; a spawn runs code on this machine as you"
	}
	return "spawn and terminate backends (no token is set), and a spawn runs code on this machine as you"
}

// New returns a server for cfg, not yet listening; call Start or
// ListenAndServe.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		keepAlive: keepAliveInterval,
		timeouts:  defaultTimeouts,
		proxyLog:  slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
		probeClient: &http.Client{
			Timeout:   2 * time.Second,
			Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
		},
		reg:     newRegistry(cfg.TokenTTL),
		closing: make(chan struct{}),
	}
	switch {
	case len(cfg.Command) > 0:
		if err := osproc.LookPath(cfg.Command[0], cfg.Dir); err != nil {
			return nil, fmt.Errorf("localplane: the backend command cannot be run: %w", err)
		}
		s.runner = &processRunner{argv: cfg.Command, dir: cfg.Dir}
	case cfg.Handler != nil:
		s.runner = handlerRunner{newHandler: cfg.Handler}
	default:
		if s.runner, err = newContainerRunner(*cfg.Container, cfg.GracePeriod, cfg.Builder); err != nil {
			return nil, err
		}
	}
	s.spawns = newSpawnGate(cfg.Builder, s.runner)
	s.console = newConsole(s, s.spawns, cfg.Builder)
	return s, nil
}

// Start binds the API and proxy listeners and serves them in the background.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return errors.New("localplane: already started")
	}
	if o, ok := s.runner.(opener); ok {
		ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
		err := o.open(ctx, s.log)
		cancel()
		if err != nil {
			return err
		}
	}
	apiLn, err := net.Listen("tcp", s.cfg.APIAddr)
	if err != nil {
		return err
	}
	proxyLn, err := net.Listen("tcp", s.cfg.ProxyAddr)
	if err != nil {
		apiLn.Close()
		return err
	}
	s.started = true
	s.apiLn, s.proxyLn = apiLn, proxyLn
	// What net/http reports (panics, accept errors) goes to Config.Logger,
	// not to the process's standard logger.
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	// No ReadTimeout or WriteTimeout: they would cut event streams and
	// WebSockets. Bodies get their own read deadlines (readBody,
	// proxyBody).
	t := s.timeouts
	s.apiSrv = &http.Server{Handler: s.apiHandler(), ReadHeaderTimeout: t.header, IdleTimeout: t.idle, ErrorLog: errLog}
	s.proxySrv = &http.Server{Handler: http.HandlerFunc(s.serveProxy), ReadHeaderTimeout: t.header, IdleTimeout: t.idle, ErrorLog: errLog}
	for _, l := range []struct {
		name string
		ln   net.Listener
	}{{"API", apiLn}, {"proxy", proxyLn}} {
		if ip := l.ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			where := "on " + ip.String()
			if ip.IsUnspecified() {
				where = "on every network interface"
			}
			s.log.Warn("the "+l.name+" listens "+where+", not only on loopback: anyone who can reach this machine on port "+
				strconv.Itoa(l.ln.Addr().(*net.TCPAddr).Port)+" can "+exposure(l.name, s.cfg.Token != ""),
				"addr", l.ln.Addr().String())
		}
	}
	for _, srv := range []struct {
		s  *http.Server
		ln net.Listener
	}{{s.apiSrv, apiLn}, {s.proxySrv, proxyLn}} {
		s.serving.Go(func() {
			if err := srv.s.Serve(srv.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("serve", "addr", srv.ln.Addr().String(), "err", err)
			}
		})
	}
	s.warnAnyOrigin()
	s.log.Info("local plane listening", "api", s.urlOf(apiLn), "proxy", s.urlOf(proxyLn))
	return nil
}

// ListenAndServe starts the server, serves until ctx is done, then closes it.
// Callers wire SIGINT and SIGTERM through signal.NotifyContext.
func (s *Server) ListenAndServe(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	return s.Close()
}

// Close hard-terminates every backend, waits until every backend process
// (and its process group) is gone, and closes both listeners and every open
// connection and stream. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.closing)
		s.mu.Unlock()
		all := s.reg.close()

		for _, b := range all {
			b.terminate(true, types.ReasonExternal) // ErrNotRunning is fine
		}
		for _, b := range all {
			<-b.done
			b.mu.Lock()
			if b.forgetTimer != nil {
				b.forgetTimer.Stop()
			}
			b.mu.Unlock()
		}
		if s.apiSrv != nil {
			s.closeErr = errors.Join(s.apiSrv.Close(), s.proxySrv.Close())
		}
		if o, ok := s.runner.(shutdowner); ok {
			ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
			s.closeErr = errors.Join(s.closeErr, o.shutdown(ctx, s.log))
			cancel()
		}
		s.serving.Wait()
		s.probeClient.CloseIdleConnections()
	})
	return s.closeErr
}

// APIURL is the base URL of the API listener, e.g. "http://127.0.0.1:8080";
// empty before Start.
func (s *Server) APIURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.urlOf(s.apiLn)
}

// ProxyURL is the base URL of the proxy listener, e.g.
// "http://127.0.0.1:9090"; connection URLs are ProxyURL + "/{token}/". Empty
// before Start.
func (s *Server) ProxyURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.urlOf(s.proxyLn)
}

// urlOf is the http URL of a listener, with an unspecified host (":8080")
// shown as 127.0.0.1 so that the URL can be dialled.
func (s *Server) urlOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	a := ln.Addr().(*net.TCPAddr)
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(a.Port))
}

// Backends lists every live backend and every terminated one still retained,
// oldest first.
func (s *Server) Backends() []BackendView {
	all := s.reg.backends(nil)
	out := make([]BackendView, 0, len(all))
	for _, b := range all {
		out = append(out, b.summary())
	}
	slices.SortFunc(out, func(a, b BackendView) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Backend returns the summary of one backend, if it is known.
func (s *Server) Backend(id string) (BackendView, bool) {
	b := s.lookup(id)
	if b == nil {
		return BackendView{}, false
	}
	return b.summary(), true
}

// Terminate terminates a backend with reason external: soft (SIGTERM, then
// SIGKILL after the grace period) or hard (SIGKILL). It returns as soon as
// the request is accepted; watch the status for terminated. Errors:
// ErrNotFound, ErrNotRunning.
func (s *Server) Terminate(id string, hard bool) error {
	b := s.lookup(id)
	if b == nil {
		return ErrNotFound
	}
	return b.terminate(hard, types.ReasonExternal)
}

func (s *Server) lookup(id string) *backend { return s.reg.backend(id) }

// changed reports a backend's change to the console and Config.OnChange.
func (s *Server) changed(b *backend, forgotten bool) {
	s.console.publish(b.id)
	if s.cfg.OnChange == nil {
		return
	}
	sum := b.summary()
	sum.Forgotten = forgotten
	s.cfg.OnChange(sum)
}

// finished runs when a backend's lifecycle ends: the key is released, proxy
// connections to it are cut, and it is forgotten after RetainTerminated.
func (s *Server) finished(b *backend) {
	early, closed := s.reg.finished(b) // early: the oldest terminated one, beyond the bound
	b.closeProxy()
	if !closed {
		b.mu.Lock()
		b.forgetTimer = time.AfterFunc(s.cfg.RetainTerminated, func() { s.forget(b) })
		b.mu.Unlock()
	}
	close(b.done) // after forgetTimer is set, so that Close can stop it
	if early != nil {
		early.mu.Lock()
		stopped := early.forgetTimer != nil && early.forgetTimer.Stop()
		early.mu.Unlock()
		if stopped {
			s.forget(early)
		}
	}
}

// forget drops a terminated backend and its tokens.
func (s *Server) forget(b *backend) {
	s.reg.forget(b)
	s.changed(b, true)
}
