package localplane

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jamsocket-go/jamsocket/types"
)

// The headers the proxy sets for the backend; inbound ones are removed.
const (
	hdrUsername = "X-Verified-Username"
	hdrUserData = "X-Verified-User-Data"
	hdrSecret   = "X-Verified-Secret"
	hdrBackend  = "X-Verified-Backend"
	hdrPath     = "X-Verified-Path"
	hdrPlaneID  = "X-Plane-Backend-Id"
)

// proxyServer is the proxy listener's surface: it forwards /{token}/rest
// to the token's backend through the backend's own reverse proxy.
type proxyServer struct {
	core        *core
	waitTimeout time.Duration // Config.ProxyWaitTimeout
	bodyIdle    time.Duration // timeouts.proxyBodyIdle
	errLog      *log.Logger   // ReverseProxy's errors, into Config.Logger
}

// proxyHandler is the proxy listener's handler.
func (s *Server) proxyHandler() http.Handler {
	return &proxyServer{
		core: s.core, waitTimeout: s.cfg.ProxyWaitTimeout, bodyIdle: s.timeouts.proxyBodyIdle,
		errLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// ServeHTTP forwards /{token}/rest to the token's backend as /rest, HTTP
// and WebSocket alike, with the x-verified-* headers set.
func (p *proxyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	escaped := r.URL.EscapedPath()
	token, rest, _ := strings.Cut(strings.TrimPrefix(escaped, "/"), "/")
	if token == "" {
		proxyAnswer(w, http.StatusBadRequest)
		return
	}
	g := p.core.reg.grant(token, time.Now())
	if g == nil {
		proxyAnswer(w, http.StatusGone)
		return
	}
	b := g.b
	w.Header().Set(hdrPlaneID, b.id)

	// Every proxied request is activity; while one is open (a WebSocket
	// included) the backend is not idle.
	b.active.Add(1)
	b.touch()
	defer func() {
		b.touch()
		b.active.Add(-1)
	}()

	switch status := b.waitReady(r.Context(), p.waitTimeout, p.core.closing); {
	case status == types.StatusReady:
	case status.IsEnding():
		proxyAnswer(w, http.StatusGone)
		return
	default:
		proxyAnswer(w, http.StatusGatewayTimeout)
		return
	}

	// The request is rewritten in place: ReverseProxy makes its own copy to
	// send, so a copy here would only be thrown away.
	out := r
	if !g.static {
		out.URL.RawPath = "/" + rest
		out.URL.Path, _ = url.PathUnescape(out.URL.RawPath)
	}
	setVerified(out.Header, g, escaped)
	if out.Body != nil && out.Body != http.NoBody {
		out.Body = &idleBody{ReadCloser: out.Body, rc: http.NewResponseController(w), idle: p.bodyIdle}
	}
	b.reverseProxy(p.errLog, p.core.log).ServeHTTP(&hijackTracker{ResponseWriter: w, b: b}, out)
}

// setVerified replaces every x-verified-* header of h with the identity g
// stands for, and path the path the client asked for.
func setVerified(h http.Header, g *grant, path string) {
	for name := range h {
		if isVerifiedHeader(name) {
			delete(h, name)
		}
	}
	// One array holds the verified values, each slice capped so that an
	// append copies: one allocation instead of one per header. As on
	// Plane's proxy, a static token carries no user and no user data, and
	// an empty secret (database/backend.rs route_info_for_static_token,
	// proxy/proxy_server.rs prepare_request).
	v := [...]string{g.user, g.userData, g.secret, g.b.id, path}
	if g.user != "" {
		h[hdrUsername] = v[0:1:1]
	}
	if !g.static {
		h[hdrUserData] = v[1:2:2]
	}
	h[hdrSecret] = v[2:3:3]
	h[hdrBackend] = v[3:4:4]
	h[hdrPath] = v[4:5:5]
}

// proxyAnswer answers a request the proxy does not forward with status
// and no body. Like Plane's proxy, it gives its own answers the CORS
// headers of forwarded ones (proxy/proxy_server.rs status_code_to_response),
// so that a page on another origin can read a 410 after its backend ended.
func proxyAnswer(w http.ResponseWriter, status int) {
	allowCORS(w.Header())
	w.WriteHeader(status)
}

// allowCORS opens h to every origin, as Plane's proxy does, unless it
// already has a CORS header (the backend's own).
func allowCORS(h http.Header) {
	// The keys are canonical: parsed headers are, and so are ours.
	if h["Access-Control-Allow-Origin"] != nil || h["Access-Control-Allow-Methods"] != nil ||
		h["Access-Control-Allow-Headers"] != nil {
		return
	}
	v := [...]string{"*", "*", "*, Authorization"} // one allocation for the three
	h["Access-Control-Allow-Origin"] = v[0:1:1]
	h["Access-Control-Allow-Methods"] = v[1:2:2]
	// "*" does not cover Authorization; it has to be named.
	h["Access-Control-Allow-Headers"] = v[2:3:3]
}

// isVerifiedHeader reports whether name is one of the x-verified-* headers
// in any spelling: case folded, and with "_" read as "-", as CGI and WSGI
// servers read header names (x_verified_username becomes
// HTTP_X_VERIFIED_USERNAME there, the same as X-Verified-Username).
func isVerifiedHeader(name string) bool {
	const prefix = "x-verified-"
	if len(name) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		c := name[i]
		if c == '_' {
			c = '-'
		} else if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// idleBody is a proxied request body that must keep flowing: each read
// gets proxyBodyIdle, so a client that stalls (a slow-loris upload) loses
// its connection while an upload that flows may take as long as it needs.
type idleBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	set  time.Time // when the deadline was last moved
}

func (b *idleBody) Read(p []byte) (int, error) {
	// Moving the deadline costs a timer update; a quarter of the idle time
	// is precise enough, and spares it on most reads of a flowing body.
	if now := time.Now(); now.Sub(b.set) > b.idle/4 {
		b.set = now
		b.rc.SetReadDeadline(now.Add(b.idle))
	}
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		// Done: the server's background read must not time out a long
		// answer. (After an error the deadline stays, and the connection
		// ends.)
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// hijackTracker registers the client connection of a protocol switch
// (WebSocket) with the backend, so that it is cut when the backend ends;
// http.Server does not close hijacked connections itself.
type hijackTracker struct {
	http.ResponseWriter
	b *backend
}

// Unwrap lets http.ResponseController reach the real writer (for Flush).
func (h *hijackTracker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

func (h *hijackTracker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	tc, err := h.b.trackConn(c)
	if err != nil {
		return nil, nil, err
	}
	return tc, brw, nil
}

// waitReady waits until the backend is ready or ending, the timeout passes,
// ctx is done or the server closes; it returns the status it saw last.
func (b *backend) waitReady(ctx context.Context, timeout time.Duration, closing <-chan struct{}) types.BackendStatus {
	var timer <-chan time.Time
	for {
		st, changed := b.current()
		if st.Status == types.StatusReady || st.Status.IsEnding() {
			return st.Status
		}
		if timer == nil {
			t := time.NewTimer(timeout)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-changed:
		case <-timer:
			return st.Status
		case <-ctx.Done():
			return st.Status
		case <-closing:
			return types.StatusTerminating
		}
	}
}

// reverseProxy is the backend's own reverse proxy and transport, made on
// the first call; the transport's connections are tracked so that they can
// all be cut when the backend terminates. errLog and logger take what
// goes wrong.
func (b *backend) reverseProxy(errLog *log.Logger, logger *slog.Logger) *httputil.ReverseProxy {
	b.proxyOnce.Do(func() {
		transport := b.newTransport()
		b.mu.Lock()
		b.transport = transport
		b.mu.Unlock()
		b.proxy = b.newReverseProxy(transport, errLog, logger)
	})
	return b.proxy
}

// newTransport dials the backend's current address, tracking each
// connection.
func (b *backend) newTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, b.addr())
			if err != nil {
				return nil, err
			}
			return b.trackConn(c)
		},
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
	}
}

func (b *backend) newReverseProxy(transport *http.Transport, errLog *log.Logger, logger *slog.Logger) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = "backend" // the transport dials the backend's address
			pr.SetXForwarded()
			// ReverseProxy has already dropped, as hop-by-hop, every header
			// the client named in Connection, the verified ones included.
			// pr.In carries exactly the verified headers ServeHTTP set;
			// put them back so that a client cannot remove them.
			for name, values := range pr.In.Header {
				if isVerifiedHeader(name) {
					pr.Out.Header[name] = values
				}
			}
		},
		Transport: transport,
		// A backend that cuts a response short is routine here: log it with
		// the proxy errors below, not on the process's standard logger.
		ErrorLog: errLog,
		// FlushInterval stays 0: ReverseProxy already flushes every write of
		// an SSE response and of one without a Content-Length, so streams
		// pass as they come; flushing every write of a sized response too
		// cost a write syscall per chunk.
		BufferPool: copyBuffers,
		ModifyResponse: func(resp *http.Response) error {
			allowCORS(resp.Header)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			logger.Debug("proxy error", "backend", b.id, "err", err)
			proxyAnswer(w, http.StatusBadGateway)
		},
	}
}

// copyBuffers recycles the buffers ReverseProxy copies bodies with, which it
// would otherwise allocate (32 KiB) for every proxied response.
var copyBuffers httputil.BufferPool = &bufferPool{sync.Pool{New: func() any { return new([32 << 10]byte) }}}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte { return b.p.Get().(*[32 << 10]byte)[:] }
func (b *bufferPool) Put(buf []byte) {
	if cap(buf) == 32<<10 {
		b.p.Put((*[32 << 10]byte)(buf[:32<<10]))
	}
}

// trackedConn is a proxied connection of a backend (to it, or a hijacked
// one from a client), forgotten when closed.
type trackedConn struct {
	net.Conn
	b *backend
}

func (c *trackedConn) Close() error {
	c.b.mu.Lock()
	delete(c.b.conns, c.Conn)
	c.b.mu.Unlock()
	return c.Conn.Close()
}

var errBackendGone = errors.New("backend terminated")

func (b *backend) trackConn(c net.Conn) (net.Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conns == nil { // closeProxy ran
		c.Close()
		return nil, errBackendGone
	}
	b.conns[c] = struct{}{}
	return &trackedConn{Conn: c, b: b}, nil
}

// closeProxy cuts every proxy connection to a terminated backend, which ends
// proxied WebSockets.
func (b *backend) closeProxy() {
	b.mu.Lock()
	conns, transport := b.conns, b.transport
	b.conns = nil
	b.mu.Unlock()
	for c := range conns {
		c.Close()
	}
	if transport != nil {
		transport.CloseIdleConnections()
	}
}
