package localplane

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/wiretime"
	"github.com/jamsocket-go/jamsocket/types"
)

// The web console: pages at "/" of the API listener that show every backend,
// its statuses, logs and metrics live, and act on them. The pages are plain
// HTML, CSS and JavaScript (console/), same-origin with the API, and call it
// with relative URLs; what the public API does not offer they get from the
// console endpoints below (/console/...), which are guarded by Config.Token
// like every control endpoint.

//go:embed console
var consoleFiles embed.FS

// Console returns the web console as an http.Handler: its pages at "/",
// its own endpoints (/console/...) and the three API routes its pages call
// (connect, terminate, and a backend's metrics stream, at their API paths).
// Every other route of the API stays on the API listener only. The pages
// use relative URLs, so the handler can be mounted under a prefix with
// http.StripPrefix. The API listener serves the same console at
// APIURL() + "/".
func (s *Server) Console() http.Handler {
	mux := http.NewServeMux()
	api := s.apiHandler() // guarded on its own
	for _, route := range consoleAPIRoutes {
		mux.Handle(route, api)
	}
	own := http.NewServeMux()
	s.console.routes(own)
	mux.Handle("/", s.guard(own))
	return mux
}

// consoleAPIRoutes are the API routes the console's pages call; Console
// serves them with the API's own handlers.
var consoleAPIRoutes = []string{
	"POST /v2/service/{account}/{service}/connect",
	"POST /v2/service/{account}/{service}/{environment}/connect",
	"POST /v2/backend/{id}/terminate",
	"GET /v2/backend/{id}/metrics/stream",
}

// console serves the web console of plane: its pages and the endpoints
// that give them what the public API does not.
type console struct {
	plane   *Server     // the backends, their streams and the plane's URLs
	hub     *consoleHub // numbered backend changes for the events stream (the core's)
	gate    spawnGate   // the image spawns run and why they are held
	builder Builder     // the build panel's log and rebuild; nil without
}

func newConsole(plane *Server, gate spawnGate, builder Builder) *console {
	return &console{plane: plane, hub: plane.core.hub, gate: gate, builder: builder}
}

// routes registers the console's pages and endpoints on mux.
func (c *console) routes(mux *http.ServeMux) {
	ctrl := func(h http.HandlerFunc) http.HandlerFunc {
		return requireToken(c.plane.cfg.Token, h, jamsocketUnauthorized)
	}
	assets, _ := fs.Sub(consoleFiles, "console")
	files := http.FileServerFS(assets)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		consoleHeaders(w)
		http.ServeFileFS(w, r, assets, "index.html")
	})
	mux.Handle("GET /console/assets/", http.StripPrefix("/console/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		consoleHeaders(w)
		files.ServeHTTP(w, r)
	})))
	mux.HandleFunc("GET /console/info", ctrl(c.info))
	mux.HandleFunc("GET /console/events", ctrl(c.events))
	mux.HandleFunc("GET /console/backends/{id}", ctrl(c.backend))
	mux.HandleFunc("GET /console/backends/{id}/logs", ctrl(c.logs))
	mux.HandleFunc("POST /console/backends/{id}/open", ctrl(consoleWrite(c.open)))
	mux.HandleFunc("GET /console/build", ctrl(c.build))
	mux.HandleFunc("POST /console/build/rebuild", ctrl(consoleWrite(c.rebuild)))
}

// consoleHeaders are the console pages' safety headers: nothing but this
// origin's own files runs or loads, no page may frame the console, and no
// Referer leaves it.
func consoleHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

// consoleWrite guards a console endpoint that changes state: beyond the
// API's browser guard (JSON only, no foreign origin), a browser's request
// must come from the console's own origin, not from another page on
// loopback.
func consoleWrite(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			u, err := url.Parse(origin)
			if err != nil || u.Host != r.Host {
				jamsocketError(w, http.StatusForbidden, codeForbidden, "only the console's own pages may do this")
				return
			}
		}
		h(w, r)
	}
}

// codeForbidden is the error code of a refused cross-origin request.
const codeForbidden = "Forbidden"

// consoleInfo describes the plane to the console's header.
type consoleInfo struct {
	APIURL   string `json:"api_url"`
	ProxyURL string `json:"proxy_url"`
	Runner   string `json:"runner"`
	// Container is true for a container plane (the console shows its image
	// and builds).
	Container bool `json:"container"`
	// Hold is why connects may not spawn now (a build runs, no image yet).
	Hold string `json:"hold,omitempty"`
}

func (c *console) info(w http.ResponseWriter, r *http.Request) {
	p := c.plane
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, consoleInfo{
		APIURL: p.APIURL(), ProxyURL: p.ProxyURL(), Runner: runnerLabel(p.runner),
		Container: c.gate.images != nil, Hold: c.gate.hold(),
	})
}

// labeledRunner is a runner that can say what it runs, for the console.
type labeledRunner interface{ label() string }

func (r *processRunner) label() string { return "command " + filepath.Base(r.argv[0]) }
func (handlerRunner) label() string    { return "in-process handler" }
func (r *containerRunner) label() string {
	if image, err := r.image(); err == nil {
		return "container of " + image
	}
	return "container (no image yet)"
}

// runnerLabel says what r runs, or "" when it cannot say.
func runnerLabel(r runner) string {
	if l, ok := r.(labeledRunner); ok {
		return l.label()
	}
	return ""
}

// consoleState is a status entry as the console shows it.
type consoleState struct {
	Status   types.BackendStatus     `json:"status"`
	Time     wiretime.Time           `json:"time"`
	Reason   types.TerminationReason `json:"termination_reason,omitempty"`
	Kind     types.TerminationKind   `json:"termination_kind,omitempty"`
	ExitCode *int                    `json:"exit_code,omitempty"`
}

// consoleRow is a backend as the console's list shows it.
type consoleRow struct {
	ID          string         `json:"id"`
	Key         string         `json:"key"`
	User        string         `json:"user,omitempty"`
	Account     string         `json:"account,omitempty"`
	Service     string         `json:"service,omitempty"`
	Environment string         `json:"environment,omitempty"`
	Runner      string         `json:"runner"`
	Image       string         `json:"image,omitempty"` // container backends
	PID         int            `json:"pid,omitempty"`
	CreatedAt   wiretime.Time  `json:"created_at"`
	Statuses    []consoleState `json:"statuses"`
}

func (c *console) row(b *backend) consoleRow {
	b.mu.Lock()
	defer b.mu.Unlock()
	row := consoleRow{
		ID: b.id, Key: b.spec.key, User: b.spec.user,
		Account: b.spec.account, Service: b.spec.service, Environment: b.spec.env,
		Runner: runnerLabel(c.plane.runner), Image: b.run.image, PID: b.run.pid, CreatedAt: wiretime.Time(b.created),
		Statuses: make([]consoleState, len(b.history)),
	}
	for i, st := range b.history {
		row.Statuses[i] = consoleState{
			Status: st.Status, Time: wiretime.Time(st.Time),
			Reason: st.TerminationReason, Kind: st.TerminationKind, ExitCode: st.exitCode,
		}
	}
	return row
}

// consoleDetail is one backend with how it was spawned and connected.
type consoleDetail struct {
	consoleRow
	Auth      map[string]any `json:"auth"`
	StatusURL string         `json:"status_url"`
	Spawn     consoleSpawn   `json:"spawn"`
}

// consoleSpawn is the spawn configuration a backend was started with.
type consoleSpawn struct {
	Tag                  string                `json:"tag,omitempty"`
	Env                  map[string]string     `json:"env"`
	MaxIdleSeconds       int                   `json:"max_idle_seconds"`
	LifetimeLimitSeconds int                   `json:"lifetime_limit_seconds"`
	ResourceLimits       *types.ResourceLimits `json:"resource_limits,omitempty"`
	Mount                *types.Mount          `json:"mount,omitempty"`
	StaticToken          bool                  `json:"static_token,omitempty"`
}

func (c *console) backend(w http.ResponseWriter, r *http.Request) {
	b := jamsocketBackend(c.plane.core, w, r)
	if b == nil {
		return
	}
	d := consoleDetail{consoleRow: c.row(b), Auth: b.spec.auth, Spawn: consoleSpawn{
		Tag: b.spec.tag, Env: b.spec.execEnv,
		MaxIdleSeconds:       int(b.spec.maxIdle / time.Second),
		LifetimeLimitSeconds: int(b.spec.lifetime / time.Second),
		ResourceLimits:       b.spec.limits, Mount: b.spec.mount, StaticToken: b.spec.staticToken,
	}}
	if b.spec.account != "" {
		d.StatusURL = c.plane.APIURL() + "/v2/backend/" + b.id + "/status"
	} else {
		d.StatusURL = c.plane.APIURL() + "/pub/b/" + b.id + "/status"
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, d)
}

// consoleLine is one output line as the console's logs stream sends it.
type consoleLine struct {
	Seq    uint64 `json:"seq"`
	Stream string `json:"stream"`
	Text   string `json:"text"`
}

// consoleLogs streams a backend's output lines as JSON, with the stream
// each came from; it resumes after Last-Event-ID and ends after terminated.
func (c *console) logs(w http.ResponseWriter, r *http.Request) {
	c.plane.sse.backendLogs(c.plane.core, w, r, func(l logLine) []byte {
		data, _ := json.Marshal(consoleLine{Seq: l.seq, Stream: l.stream, Text: l.text})
		return data
	})
}

// open mints the console's own connection to a backend, bound to
// the user and auth the backend was spawned with, and returns its URL for
// the console to open in a new tab. Tokens minted for other clients are
// never shown.
func (c *console) open(w http.ResponseWriter, r *http.Request) {
	b := jamsocketBackend(c.plane.core, w, r)
	if b == nil {
		return
	}
	userData := "{}"
	if b.spec.auth != nil {
		data, err := json.Marshal(b.spec.auth)
		if err != nil {
			jamsocketError(w, http.StatusInternalServerError, codeBadRequest, "auth: "+err.Error())
			return
		}
		userData = string(data)
	}
	token, err := c.plane.reg.mint(b, b.spec.user, userData)
	switch {
	case errors.Is(err, errTokensFull):
		jamsocketError(w, http.StatusServiceUnavailable, codeUnavailable, err.Error())
		return
	case err != nil:
		jamsocketError(w, http.StatusConflict, codeBackendNotRunning, "the backend has already terminated")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"url": c.plane.ProxyURL() + "/" + token + "/"})
}

// events streams the backend list: first a "reset" event with every
// backend (newest first), then a "backend" event for each change and a
// "forgotten" event when a terminated backend is dropped. Event ids let a
// reconnecting console resume; one that fell too far behind gets a reset.
func (c *console) events(w http.ResponseWriter, r *http.Request) {
	after, err := strconv.ParseUint(r.Header.Get("Last-Event-ID"), 10, 64)
	resume := err == nil
	c.plane.sse.events(w, r, func() ([]sseEvent, <-chan struct{}, bool) {
		changes, wake, seq, ok := c.hub.since(after)
		if !resume || !ok {
			resume, after = true, seq
			return []sseEvent{c.reset(seq)}, wake, false
		}
		if len(changes) == 0 {
			return nil, wake, false
		}
		after = seq
		return c.changes(changes, seq), wake, false
	})
}

// consoleEvent is the data of a console event.
type consoleEvent struct {
	Type     string       `json:"type"` // "reset", "backend", "forgotten" or "pool"
	Backends []consoleRow `json:"backends,omitempty"`
	Backend  *consoleRow  `json:"backend,omitempty"`
	ID       string       `json:"id,omitempty"`
	// Pool counts the warm pool (reset and pool events; absent without
	// a pool).
	Pool *consolePool `json:"pool,omitempty"`
}

// consolePool is the warm pool as the console shows it.
type consolePool struct {
	Size    int    `json:"size"`
	Warming int    `json:"warming"`
	Ready   int    `json:"ready"`
	Off     string `json:"off,omitempty"`
}

// pool is the warm pool's counts, nil without a pool.
func (c *console) pool() *consolePool {
	v := c.plane.WarmPool()
	if v.Size == 0 {
		return nil
	}
	return &consolePool{Size: v.Size, Warming: v.Warming, Ready: v.Ready, Off: v.Off}
}

func (c *console) reset(seq uint64) sseEvent {
	all := c.plane.reg.backends(nil)
	rows := make([]consoleRow, len(all))
	for i, b := range all {
		rows[i] = c.row(b)
	}
	slices.SortFunc(rows, func(a, b consoleRow) int {
		if c := time.Time(b.CreatedAt).Compare(time.Time(a.CreatedAt)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	data, _ := json.Marshal(consoleEvent{Type: "reset", Backends: rows, Pool: c.pool()})
	return sseEvent{data: data, id: strconv.FormatUint(seq, 10)}
}

// changes renders the backends named in ids as they are now,
// each once; the last event carries seq as its id.
func (c *console) changes(ids []string, seq uint64) []sseEvent {
	events := make([]sseEvent, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range slices.Backward(ids) {
		if seen[id] {
			continue
		}
		seen[id] = true
		ev := consoleEvent{Type: "forgotten", ID: id}
		if id == poolChange {
			ev = consoleEvent{Type: "pool", Pool: c.pool()}
		} else if b := c.plane.core.lookup(id); b != nil {
			row := c.row(b)
			ev = consoleEvent{Type: "backend", Backend: &row}
		}
		data, _ := json.Marshal(ev)
		events = append(events, sseEvent{data: data})
	}
	slices.Reverse(events)
	events[len(events)-1].id = strconv.FormatUint(seq, 10)
	return events
}
