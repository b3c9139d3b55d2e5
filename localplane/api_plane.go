package localplane

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/internal/wiretime"
	"github.com/jamsocket-go/jamsocket/types"
)

// Plane's controller surface (/ctrl and /pub).

const (
	planeDrone     = "localplane"
	maxPlaneIDLen  = 45
	planeNotFoundM = "Backend does not exist"
)

// planeAPI is Plane's controller surface: it turns requests into the
// core's calls and the core's answers into Plane's shapes.
type planeAPI struct{ surface }

// routes registers the surface's endpoints on mux, /ctrl behind
// Config.Token, and its catch-alls.
func (a planeAPI) routes(mux *http.ServeMux) {
	ctrl := func(h http.HandlerFunc) http.HandlerFunc { return requireToken(a.cfg.Token, h, planeUnauthorized) }
	mux.HandleFunc("POST /ctrl/connect", a.core.tel.connectHandler(ctrl(a.connect)))
	mux.HandleFunc("POST /ctrl/b/{id}/soft-terminate", ctrl(a.terminate(false)))
	mux.HandleFunc("POST /ctrl/b/{id}/hard-terminate", ctrl(a.terminate(true)))
	mux.HandleFunc("GET /ctrl/status", ctrl(a.ctrlStatus))
	mux.HandleFunc("GET /pub/b/{id}/status", a.status)
	mux.HandleFunc("GET /pub/b/{id}/status-stream", a.statusStream)
	mux.HandleFunc("GET /pub/health", a.health)
	notFound := func(w http.ResponseWriter, r *http.Request) {
		if methodNotAllowed(w, r, mux) {
			planeError(w, http.StatusMethodNotAllowed, wire.PlaneKindOther, r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		planeNotFound(w, r)
	}
	mux.HandleFunc("/ctrl/", ctrl(notFound))
	mux.HandleFunc("/pub/", notFound)
}

func (a planeAPI) connect(w http.ResponseWriter, r *http.Request) {
	req, ok := decodePlaneConnect(w, r)
	if !ok {
		return
	}
	keyID, spec, err := a.spawnSpec(&req)
	if err != nil {
		planeError(w, http.StatusBadRequest, wire.PlaneKindOther, err.Error())
		return
	}
	res, err := a.core.connect(r.Context(), keyID, spec, req.SpawnConfig == nil)
	if err != nil {
		_, ref := connectRefusals(err)
		planeError(w, ref.status, ref.code, ref.text(err))
		return
	}
	resp := wire.PlaneConnectResponse{
		BackendID: res.b.id,
		Spawned:   res.spawned,
		Status:    res.status,
		Token:     res.token,
		URL:       a.urls.proxy() + "/" + res.token + "/",
		StatusURL: a.urls.api() + "/pub/b/" + res.b.id + "/status",
	}
	if res.secret != "" {
		resp.SecretToken = &res.secret
	}
	if res.spawned {
		drone := planeDrone
		resp.Drone = &drone
	}
	writeJSON(w, http.StatusOK, resp)
}

// spawnSpec is the registry key and what req fixes about a backend it
// would spawn.
func (a planeAPI) spawnSpec(req *wire.PlaneConnectRequest) (keyID string, spec spawnSpec, err error) {
	spec = spawnSpec{user: req.User, auth: req.Auth}
	if len(spec.auth) == 0 {
		spec.auth = nil
	}
	if k := req.Key; k != nil {
		spec.key, spec.keyGiven, spec.tag = k.Name, true, k.Tag
		keyID = planeKeyID(k.Namespace, k.Name)
	}
	sc := req.SpawnConfig
	if sc == nil {
		return keyID, spec, nil
	}
	if len(sc.ID) > maxPlaneIDLen || strings.ContainsAny(sc.ID, "/?#%\x00 ") {
		return "", spec, errors.New("spawn_config.id is too long or has invalid characters")
	}
	spec.id = sc.ID
	spec.lifetime, _ = seconds("", sc.LifetimeLimitSeconds) // range-checked by decodePlaneConnect
	spec.maxIdle, _ = seconds("", sc.MaxIdleSeconds)
	spec.staticToken = sc.UseStaticToken || a.cfg.UseStaticToken
	ex := sc.Executable // image, pull policy, credentials and network are accepted and ignored
	spec.execEnv, spec.limits, spec.mount = ex.Env, ex.ResourceLimits, ex.Mount
	return keyID, spec, nil
}

// decodePlaneConnect decodes the body the way axum's Json extractor would,
// answering 415, 400, 413 or 422 with a plain-text body when it cannot.
func decodePlaneConnect(w http.ResponseWriter, r *http.Request) (wire.PlaneConnectRequest, bool) {
	var req wire.PlaneConnectRequest
	if !isJSONContentType(r.Header.Get("Content-Type")) {
		planeBodyError(w, http.StatusUnsupportedMediaType, "Expected request with `Content-Type: application/json`")
		return req, false
	}
	body, err := readBody(w, r)
	if errors.Is(err, errTooLarge) {
		planeBodyError(w, http.StatusRequestEntityTooLarge, "Failed to buffer the request body: length limit exceeded")
		return req, false
	} else if err != nil {
		planeBodyError(w, http.StatusBadRequest, "Failed to buffer the request body: "+err.Error())
		return req, false
	}
	// The checks read what the decoder filled, never the raw JSON:
	// encoding/json matches names in any case, so "KEY" fills the key and
	// must meet the key's checks.
	var shape planeConnectShape
	var syntaxErr *json.SyntaxError
	if err := json.Unmarshal(body, &shape); errors.As(err, &syntaxErr) {
		planeBodyError(w, http.StatusBadRequest, "Failed to parse the request body as JSON: "+err.Error())
		return req, false
	}
	fail := func(msg string) (wire.PlaneConnectRequest, bool) {
		planeBodyError(w, http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: "+msg)
		return req, false
	}
	if msg := shape.missing(body); msg != "" {
		return fail(msg)
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return fail(err.Error())
	}
	if sc := req.SpawnConfig; sc != nil {
		for name, n := range map[string]int{
			"spawn_config.lifetime_limit_seconds": sc.LifetimeLimitSeconds,
			"spawn_config.max_idle_seconds":       sc.MaxIdleSeconds,
		} {
			if _, err := seconds(name, n); err != nil {
				// 422 as serde refuses a number outside i32, in Plane's
				// JSON error shape so that a client can read the field.
				planeError(w, http.StatusUnprocessableEntity, wire.PlaneKindOther, err.Error())
				return req, false
			}
		}
	}
	return req, true
}

// planeConnectShape is a connect body as the same decoder reads it, with
// what serde requires present made visible (nil when absent or null).
type planeConnectShape struct {
	Key *struct {
		Name *string `json:"name"`
	} `json:"key"`
	SpawnConfig *struct {
		Executable *struct {
			Image *string `json:"image"`
		} `json:"executable"`
	} `json:"spawn_config"`
	Auth json.RawMessage `json:"auth"`
}

// missing says what of a connect body serde would refuse that Go's decoder
// lets through (null, or a required field absent), or "".
func (s *planeConnectShape) missing(body []byte) string {
	switch {
	case !bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")):
		return "invalid type: expected struct ConnectRequest"
	case s.Auth != nil && !bytes.HasPrefix(s.Auth, []byte("{")):
		return "auth: invalid type: expected a map"
	case s.Key != nil && s.Key.Name == nil:
		return "key: missing field `name`"
	case s.SpawnConfig != nil && s.SpawnConfig.Executable == nil:
		return "spawn_config: missing field `executable`"
	case s.SpawnConfig != nil && s.SpawnConfig.Executable.Image == nil:
		return "spawn_config.executable: missing field `image`"
	}
	return ""
}

func isJSONContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// planeState is a status entry in Plane's form: epoch-millisecond time, with
// termination_kind also on the terminating entries.
func planeState(st state) wire.PlaneBackendState {
	return wire.PlaneBackendState{
		Status: st.Status, Time: wiretime.EpochMillis(st.Time),
		TerminationReason: st.TerminationReason, TerminationKind: st.TerminationKind,
		ExitError: st.ExitError,
	}
}

func (a planeAPI) status(w http.ResponseWriter, r *http.Request) {
	b := a.core.lookup(r.PathValue("id"))
	if b == nil {
		planeError(w, http.StatusNotFound, wire.PlaneKindNotFound, planeNotFoundM)
		return
	}
	st, _ := b.current()
	writeJSON(w, http.StatusOK, planeState(st))
}

// statusStream replays the history, then streams changes, each event
// with id: {status}. Like Plane it never closes the stream itself, honours
// Last-Event-ID, and answers an unknown id with keep-alives only.
func (a planeAPI) statusStream(w http.ResponseWriter, r *http.Request) {
	after := types.BackendStatus(r.Header.Get("Last-Event-ID")).Rank() // 0 if absent or unknown
	b := a.core.lookup(r.PathValue("id"))
	if b == nil {
		a.sse.events(w, r, func() ([]sseEvent, <-chan struct{}, bool) { return nil, nil, false })
		return
	}
	a.sse.events(w, r, statusEvents(b, false, func(st state) *sseEvent {
		if st.Status.Rank() <= after {
			return nil
		}
		data, _ := json.Marshal(planeState(st))
		return &sseEvent{data: data, id: string(st.Status)}
	}))
}

// terminate answers soft- or hard-terminate: 200 with JSON null, also
// for a backend that has already terminated.
func (a planeAPI) terminate(hard bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b := a.core.lookup(r.PathValue("id"))
		if b == nil {
			planeError(w, http.StatusNotFound, wire.PlaneKindNotFound, planeNotFoundM)
			return
		}
		b.terminate(hard, types.ReasonExternal) // already terminated is fine
		writeJSON(w, http.StatusOK, nil)
	}
}

func (a planeAPI) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, wire.StatusOK{Status: "ok"})
}

func (a planeAPI) ctrlStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": "localplane", "hash": "localplane"})
}
