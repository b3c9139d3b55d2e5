package localplane

import (
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/wire"
)

// maxBodyBytes bounds request bodies on the API.
const maxBodyBytes = 1 << 20

// apiHandler routes both API surfaces, behind the browser guard (which also
// answers every OPTIONS preflight). A known path with the wrong method gets
// 405 with Allow.
func (s *Server) apiHandler() http.Handler {
	mux := http.NewServeMux()
	ctrl := s.requireToken

	// Jamsocket v2.
	mux.HandleFunc("POST /v2/service/{account}/{service}/connect", ctrl(s.seen(s.jamsocketConnect), jamsocketUnauthorized))
	mux.HandleFunc("POST /v2/service/{account}/{service}/{environment}/connect", ctrl(s.seen(s.jamsocketConnect), jamsocketUnauthorized))
	mux.HandleFunc("GET /v2/backend/{id}/status", s.jamsocketStatus)
	mux.HandleFunc("GET /v2/backend/{id}/status/stream", s.jamsocketStatusStream)
	mux.HandleFunc("POST /v2/backend/{id}/terminate", ctrl(s.jamsocketTerminate, jamsocketUnauthorized))
	mux.HandleFunc("GET /v2/backend/{id}", ctrl(s.jamsocketInfo, jamsocketUnauthorized))
	mux.HandleFunc("GET /v2/account/{account}/backends", ctrl(s.seen(s.jamsocketList), jamsocketUnauthorized))
	mux.HandleFunc("GET /v2/backend/{id}/logs/stream", ctrl(s.jamsocketLogs, jamsocketUnauthorized))
	mux.HandleFunc("GET /v2/backend/{id}/metrics/stream", ctrl(s.jamsocketMetrics, jamsocketUnauthorized))
	mux.HandleFunc("POST /service/{account}/{service}/terminate-backends", ctrl(s.seen(s.jamsocketTerminateAll), jamsocketUnauthorized))
	mux.HandleFunc("GET /auth", ctrl(s.jamsocketAuth, jamsocketUnauthorized))
	mux.HandleFunc(imageNameRoute, ctrl(s.seen(s.jamsocketImageName), jamsocketUnauthorized))
	for route, h := range s.serviceHandlers() {
		mux.HandleFunc(route, ctrl(s.seen(h), jamsocketUnauthorized))
	}
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if methodNotAllowed(w, r, mux) {
			jamsocketError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		jamsocketError(w, http.StatusNotFound, codeNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})

	// Plane controller.
	mux.HandleFunc("POST /ctrl/connect", ctrl(s.planeConnect, planeUnauthorized))
	mux.HandleFunc("POST /ctrl/b/{id}/soft-terminate", ctrl(s.planeTerminate(false), planeUnauthorized))
	mux.HandleFunc("POST /ctrl/b/{id}/hard-terminate", ctrl(s.planeTerminate(true), planeUnauthorized))
	mux.HandleFunc("GET /ctrl/status", ctrl(s.planeCtrlStatus, planeUnauthorized))
	mux.HandleFunc("GET /pub/b/{id}/status", s.planeStatus)
	mux.HandleFunc("GET /pub/b/{id}/status-stream", s.planeStatusStream)
	mux.HandleFunc("GET /pub/health", s.planeHealth)
	notFound := func(w http.ResponseWriter, r *http.Request) {
		if methodNotAllowed(w, r, mux) {
			planeError(w, http.StatusMethodNotAllowed, wire.PlaneKindOther, r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		planeNotFound(w, r)
	}
	mux.HandleFunc("/ctrl/", ctrl(notFound, planeUnauthorized))
	mux.HandleFunc("/pub/", notFound)
	s.console.routes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if methodNotAllowed(w, r, mux) {
			jamsocketError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	})

	return s.browserGuard(mux)
}

// requireToken guards a control endpoint with Config.Token, if set.
func (s *Server) requireToken(h http.HandlerFunc, deny http.HandlerFunc) http.HandlerFunc {
	if s.cfg.Token == "" {
		return h
	}
	want := []byte(s.cfg.Token)
	return func(w http.ResponseWriter, r *http.Request) {
		// The scheme name is case-insensitive (RFC 7235); the token is not.
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(token), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="localplane"`)
			deny(w, r)
			return
		}
		h(w, r)
	}
}

// catchAll are the patterns that answer paths no route knows.
var catchAll = []string{"/v2/", "/ctrl/", "/pub/", "/"}

// methodNotAllowed reports whether a route knows r's path with another
// method, and if so sets Allow to the methods it knows.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) bool {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); !slices.Contains(catchAll, pattern) {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		return false
	}
	if slices.Contains(allow, http.MethodGet) {
		allow = append(allow, http.MethodHead)
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	return true
}

func jamsocketUnauthorized(w http.ResponseWriter, r *http.Request) {
	jamsocketError(w, http.StatusUnauthorized, codeUnauthorized, "missing or invalid bearer token")
}

func planeUnauthorized(w http.ResponseWriter, r *http.Request) {
	planeError(w, http.StatusUnauthorized, "Unauthorized", "missing or invalid bearer token")
}

func planeNotFound(w http.ResponseWriter, r *http.Request) {
	planeError(w, http.StatusNotFound, "NotFound", "no such endpoint: "+r.Method+" "+r.URL.Path)
}

// errTooLarge marks a body over maxBodyBytes.
var errTooLarge = errors.New("request body too large")

// readBody reads a request body of at most maxBodyBytes, within the
// deadline the browser guard set.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err == nil {
		// The server's background read, which notices a client that goes
		// away, must not time out a long answer. (After an error the
		// deadline stays, and the connection ends.)
		http.NewResponseController(w).SetReadDeadline(time.Time{})
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errTooLarge
	}
	return body, err
}
