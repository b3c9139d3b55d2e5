package localplane

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/wire"
)

// maxBodyBytes bounds request bodies on the API.
const maxBodyBytes = 1 << 20

// The HTTP layer: surfaces that only translate between a wire shape and
// the core. Each holds what it needs (a surface); none reaches the Server.

// surface is what the HTTP surfaces share: the core they ask, the plane's
// URLs, its event streams and its configuration (read-only).
type surface struct {
	core *core
	urls *listenURLs
	sse  *streamer
	cfg  *Config
}

// apiHandler routes both API surfaces, behind the browser guard (which also
// answers every OPTIONS preflight). A known path with the wrong method gets
// 405 with Allow.
func (s *Server) apiHandler() http.Handler {
	mux := http.NewServeMux()
	sf := surface{core: s.core, urls: s.urls, sse: s.sse, cfg: &s.cfg}
	jamsocketAPI{sf}.routes(mux)
	accountAPI{sf}.routes(mux)
	servicesAPI{sf, s.services}.routes(mux)
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if methodNotAllowed(w, r, mux) {
			jamsocketError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		jamsocketError(w, http.StatusNotFound, codeNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	planeAPI{sf}.routes(mux)
	s.console.routes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if methodNotAllowed(w, r, mux) {
			jamsocketError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	})
	return s.guard(mux)
}

// guard puts next behind the browser guard.
func (s *Server) guard(next http.Handler) http.Handler {
	return &browserGuard{next: next, cfg: &s.cfg, log: s.log, bodyTimeout: s.timeouts.apiBody}
}

// requireToken guards a control endpoint with token, if set; deny answers
// a request without it.
func requireToken(token string, h http.HandlerFunc, deny http.HandlerFunc) http.HandlerFunc {
	if token == "" {
		return h
	}
	want := []byte(token)
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

// Bounds on what requests can make the plane keep.
const (
	// maxNameLength bounds account, service and environment names, in
	// bytes (Jamsocket's own names are far shorter).
	maxNameLength = 128
	// maxSeenAccounts bounds the accounts GET /auth remembers.
	maxSeenAccounts = 64
)

// seen checks the names a Jamsocket request's path gives (400 when one is
// too long) and records its account for GET /auth, up to maxSeenAccounts.
func seen(reg *registry, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, part := range []string{"account", "service", "environment"} {
			if len(r.PathValue(part)) > maxNameLength {
				jamsocketError(w, http.StatusBadRequest, codeBadRequest,
					fmt.Sprintf("the %s name is longer than %d bytes", part, maxNameLength))
				return
			}
		}
		if account := r.PathValue("account"); account != "" {
			reg.seeAccount(account)
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

// writeJSON answers with status and v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"encoding failed","code":"Internal"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// jamsocketError answers in Jamsocket's error shape.
func jamsocketError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, wire.ErrorBody{Error: wire.ErrorDetail{
		Message: message, Status: status, Code: code, ID: randomID(14),
	}})
}

// planeError answers in Plane's ApiError shape.
func planeError(w http.ResponseWriter, status int, kind, message string) {
	writeJSON(w, status, wire.PlaneError{ID: randomID(14), Kind: kind, Message: message})
}

// planeBodyError answers a body that could not be decoded the way axum's Json
// extractor does: plain text.
func planeBodyError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(message))
}
