package localplane

import (
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"strings"
)

// maxBodyBytes bounds request bodies on the API.
const maxBodyBytes = 1 << 20

// apiHandler routes both API surfaces. OPTIONS on any path is a CORS
// preflight answered with 204, as the dev server does.
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
	for _, route := range serviceRoutes {
		mux.HandleFunc(route, ctrl(s.seen(s.notOnLocalPlane), jamsocketUnauthorized))
	}
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
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
	mux.HandleFunc("/ctrl/", ctrl(planeNotFound, planeUnauthorized))
	mux.HandleFunc("/pub/", planeNotFound)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	})

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "*, Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/pub/") {
			w.Header().Set("Access-Control-Allow-Origin", "*") // Plane's CORS layer on /pub
		}
		mux.ServeHTTP(w, r)
	})
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

// readBody reads a request body of at most maxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errTooLarge
	}
	return body, err
}
