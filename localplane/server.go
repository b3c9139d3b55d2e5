package localplane

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a local plane: an API listener speaking Jamsocket's v2 API and
// Plane's controller API, a proxy listener that connection URLs point at, and
// the backends they run. Create one with New.
//
// The Server binds and closes the listeners and answers the Go API;
// requests go to the HTTP surfaces (api_*.go, proxy.go), which ask the core
// (core.go).
type Server struct {
	cfg      Config
	log      *slog.Logger
	core     *core
	sse      *streamer
	urls     *listenURLs
	services *serviceCatalog // the services of the service endpoints
	timeouts timeouts

	console *console // the web console
	// The core's, for the console.
	reg    *registry
	runner runner

	// mu guards the server's own state below; the core has its own locks.
	mu       sync.Mutex
	started  bool
	closed   bool
	apiSrv   *http.Server
	proxySrv *http.Server

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
	r, err := newRunner(&cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, urls: new(listenURLs), services: new(serviceCatalog), timeouts: defaultTimeouts}
	s.core = newCore(&s.cfg, r)
	s.sse = &streamer{keepAlive: keepAliveInterval, closing: s.core.closing}
	s.reg, s.runner = s.core.reg, r
	s.console = newConsole(s, s.core.gate, cfg.Builder)
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
	if err := s.core.pool.start(); err != nil {
		apiLn.Close()
		proxyLn.Close()
		return err
	}
	s.started = true
	s.urls.set(urlOf(apiLn), urlOf(proxyLn))
	// What net/http reports (panics, accept errors) goes to Config.Logger,
	// not to the process's standard logger.
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	// No ReadTimeout or WriteTimeout: they would cut event streams and
	// WebSockets. Bodies get their own read deadlines (readBody,
	// idleBody).
	t := s.timeouts
	s.apiSrv = &http.Server{Handler: s.apiHandler(), ReadHeaderTimeout: t.header, IdleTimeout: t.idle, ErrorLog: errLog}
	s.proxySrv = &http.Server{Handler: s.proxyHandler(), ReadHeaderTimeout: t.header, IdleTimeout: t.idle, ErrorLog: errLog}
	s.serve(s.apiSrv, apiLn, "API")
	s.serve(s.proxySrv, proxyLn, "proxy")
	warnAnyOrigin(&s.cfg, s.log)
	s.log.Info("local plane listening", "api", s.urls.api(), "proxy", s.urls.proxy())
	return nil
}

// serve serves srv on ln in the background, after warning when ln is
// reachable from the network.
func (s *Server) serve(srv *http.Server, ln net.Listener, name string) {
	if addr := ln.Addr().(*net.TCPAddr); !addr.IP.IsLoopback() {
		where := "on " + addr.IP.String()
		if addr.IP.IsUnspecified() {
			where = "on every network interface"
		}
		s.log.Warn("the "+name+" listens "+where+", not only on loopback: anyone who can reach this machine on port "+
			strconv.Itoa(addr.Port)+" can "+exposure(name, s.cfg.Token != ""),
			"addr", ln.Addr().String())
	}
	s.serving.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "addr", ln.Addr().String(), "err", err)
		}
	})
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
		s.mu.Unlock()
		s.core.close()
		if s.apiSrv != nil {
			s.closeErr = errors.Join(s.apiSrv.Close(), s.proxySrv.Close())
		}
		if o, ok := s.runner.(shutdowner); ok {
			ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
			s.closeErr = errors.Join(s.closeErr, o.shutdown(ctx, s.log))
			cancel()
		}
		s.serving.Wait()
	})
	return s.closeErr
}

// APIURL is the base URL of the API listener, e.g. "http://127.0.0.1:8080";
// empty before Start.
func (s *Server) APIURL() string { return s.urls.api() }

// ProxyURL is the base URL of the proxy listener, e.g.
// "http://127.0.0.1:9090"; connection URLs are ProxyURL + "/{token}/". Empty
// before Start.
func (s *Server) ProxyURL() string { return s.urls.proxy() }

// listenURLs are the base URLs of the two listeners, set once Start has
// bound them; the surfaces build connection and status URLs from them.
type listenURLs struct {
	mu               sync.Mutex
	apiURL, proxyURL string
}

func (u *listenURLs) set(api, proxy string) {
	u.mu.Lock()
	u.apiURL, u.proxyURL = api, proxy
	u.mu.Unlock()
}

func (u *listenURLs) api() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.apiURL
}

func (u *listenURLs) proxy() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.proxyURL
}

// urlOf is the http URL of a listener, with an unspecified host (":8080")
// shown as 127.0.0.1 so that the URL can be dialled.
func urlOf(ln net.Listener) string {
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
	b := s.core.lookup(id)
	if b == nil {
		return BackendView{}, false
	}
	return b.summary(), true
}

// WarmPool counts the warm pool's backends (Config.WarmPool): the zero
// WarmPoolView when the plane has no pool.
func (s *Server) WarmPool() WarmPoolView { return s.core.pool.view() }

// Terminate terminates a backend with reason external: soft (SIGTERM, then
// SIGKILL after the grace period) or hard (SIGKILL). It returns as soon as
// the request is accepted; watch the status for terminated. Errors:
// ErrNotFound, ErrNotRunning.
func (s *Server) Terminate(id string, hard bool) error { return s.core.terminate(id, hard) }
