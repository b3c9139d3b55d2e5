package localplane

import (
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/wire"
)

// The API's defences against web pages in the developer's own browser,
// which can reach a loopback server as well as the developer can:
//
//   - DNS rebinding: a name of the attacker's that resolves to 127.0.0.1
//     makes the page same-origin with the API. Only requests whose Host is
//     a loopback name, an IP address, the listen address or a name in
//     Config.AllowHosts are answered (421 otherwise).
//   - Cross-site requests: a page may send a "simple" POST (form or
//     text/plain, no preflight) anywhere. A state-changing request (any
//     method but GET and HEAD) with a body must say Content-Type:
//     application/json (415), which a page can only send after a preflight;
//     and one whose Origin is neither loopback nor in Config.AllowOrigins is
//     refused (403) unless Config.Token is set, the token being what
//     authenticates then.
//   - Reading answers: CORS is open (Access-Control-Allow-Origin: *) only on
//     the public status routes, as on the official dev server and Plane's
//     /pub; the other routes answer CORS only to Config.AllowOrigins.

// browserGuard applies those rules in front of the API's routes.
type browserGuard struct {
	next        http.Handler
	cfg         *Config // APIAddr, AllowHosts, AllowOrigins, Token
	log         *slog.Logger
	bodyTimeout time.Duration // to send the body of a state-changing request
}

func (g *browserGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.hostAllowed(r.Host) {
		g.log.Warn("refused a request for another host name (DNS rebinding?); see Config.AllowHosts", "host", quoteForLog(r.Host))
		deny(w, r, http.StatusMisdirectedRequest, "HostNotAllowed", "host "+quoteForLog(r.Host)+" is not served here; allow it with --allow-host")
		return
	}
	origin := r.Header.Get("Origin")
	public := isPublicRoute(r.URL.Path)
	h := w.Header()
	switch {
	case public:
		h.Set("Access-Control-Allow-Origin", "*")
	case origin != "" && g.originListed(origin):
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions {
		if h.Get("Access-Control-Allow-Origin") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
			h.Set("Access-Control-Max-Age", "86400")
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// The body must arrive in time (readBody clears the deadline).
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(g.bodyTimeout))
		if origin != "" && g.cfg.Token == "" && !g.originAllowed(origin, r.Host) {
			deny(w, r, http.StatusForbidden, "CrossOriginRefused", "cross-origin request from "+quoteForLog(origin)+" refused; allow it with --allow-origin or set a token")
			return
		}
		if !jsonBody(r) {
			deny(w, r, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Expected request with `Content-Type: application/json`")
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// isPublicRoute reports whether path is one of the public status routes.
func isPublicRoute(path string) bool {
	if strings.HasPrefix(path, "/pub/") {
		return true
	}
	rest, ok := strings.CutPrefix(path, "/v2/backend/")
	if !ok {
		return false
	}
	_, tail, _ := strings.Cut(rest, "/")
	return tail == "status" || tail == "status/stream"
}

// jsonBody reports whether r has no body or a JSON one.
func jsonBody(r *http.Request) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		return isJSONContentType(ct)
	}
	return r.ContentLength == 0
}

// hostAllowed reports whether a Host header names this server: a loopback
// name, an IP address (a page cannot rebind those), the host of the listen
// address, or one of Config.AllowHosts.
func (g *browserGuard) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "" || isLoopbackName(host) || net.ParseIP(host) != nil {
		return host != ""
	}
	if h, _, err := net.SplitHostPort(g.cfg.APIAddr); err == nil && strings.EqualFold(h, host) {
		return true
	}
	return slices.ContainsFunc(g.cfg.AllowHosts, func(a string) bool { return strings.EqualFold(a, host) })
}

// originAllowed reports whether a page from origin may change state: it is
// the API's own origin (host, the request's Host, passed hostAllowed), it is
// served from a loopback address or name, or it is listed.
func (g *browserGuard) originAllowed(origin, host string) bool {
	if u, err := url.Parse(origin); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		if strings.EqualFold(u.Host, host) {
			return true // same-origin, e.g. the console reached by a LAN name
		}
		host := strings.ToLower(u.Hostname())
		if isLoopbackName(host) {
			return true
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return true
		}
	}
	return g.originListed(origin)
}

// originListed reports whether origin is in Config.AllowOrigins ("*" lists
// every origin).
func (g *browserGuard) originListed(origin string) bool {
	return slices.ContainsFunc(g.cfg.AllowOrigins, func(a string) bool {
		return a == "*" || strings.EqualFold(strings.TrimSuffix(a, "/"), origin)
	})
}

// warnAnyOrigin says, when Config.AllowOrigins lists "*", that every web
// page the developer opens may now use the API: documented, but easy to
// give without weighing it.
func warnAnyOrigin(cfg *Config, log *slog.Logger) {
	if !slices.Contains(cfg.AllowOrigins, "*") {
		return
	}
	if cfg.Token == "" {
		log.Warn(`allow-origin "*": every web page open in your browser can use this API and its console as you can: ` +
			"spawn and terminate backends, read their logs, state and connection URLs; list the origins you need instead, or set a token")
		return
	}
	log.Warn(`allow-origin "*": every web page open in your browser can send requests to this API and read the answers; ` +
		"only the token keeps them out: list the origins you need instead")
}

// isLoopbackName reports whether host is localhost or a name under it
// (which resolvers keep on the loopback interface, RFC 6761).
func isLoopbackName(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// deny answers a refused request in the error shape of its surface.
func deny(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	if strings.HasPrefix(r.URL.Path, "/ctrl/") || strings.HasPrefix(r.URL.Path, "/pub/") {
		if status == http.StatusUnsupportedMediaType {
			planeBodyError(w, status, message) // as Plane's axum extractor
			return
		}
		planeError(w, status, wire.PlaneKindOther, message)
		return
	}
	jamsocketError(w, status, code, message)
}

// quoteForLog quotes request-supplied text for a message or a log line,
// cut to a sensible length.
func quoteForLog(s string) string {
	const limit = 100
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return strconv.Quote(s)
}
