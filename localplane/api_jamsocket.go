package localplane

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/types"
)

// The Jamsocket v2 surface, as the SDKs, the CLI and the dev server use it.

// Constant fields of backend info: there is one cluster and no images here.
const (
	localCluster     = "localplane"
	localImageDigest = "localplane"
	defaultEnv       = "default"
)

// jamsocketAPI is the Jamsocket v2 surface: it turns requests into the
// core's calls and the core's answers into Jamsocket's shapes.
type jamsocketAPI struct{ surface }

// routes registers the surface's endpoints on mux, the control ones behind
// Config.Token.
func (a jamsocketAPI) routes(mux *http.ServeMux) {
	ctrl := func(h http.HandlerFunc) http.HandlerFunc { return requireToken(a.cfg.Token, h, jamsocketUnauthorized) }
	named := func(h http.HandlerFunc) http.HandlerFunc { return ctrl(seen(a.core.reg, h)) }
	connect := a.core.tel.connectHandler(named(a.connect))
	mux.HandleFunc("POST /v2/service/{account}/{service}/connect", connect)
	mux.HandleFunc("POST /v2/service/{account}/{service}/{environment}/connect", connect)
	mux.HandleFunc("GET /v2/backend/{id}/status", a.status)
	mux.HandleFunc("GET /v2/backend/{id}/status/stream", a.statusStream)
	mux.HandleFunc("POST /v2/backend/{id}/terminate", ctrl(a.terminate))
	mux.HandleFunc("GET /v2/backend/{id}", ctrl(a.info))
	mux.HandleFunc("GET /v2/account/{account}/backends", named(a.list))
	mux.HandleFunc("GET /v2/backend/{id}/logs/stream", ctrl(a.logs))
	mux.HandleFunc("GET /v2/backend/{id}/metrics/stream", ctrl(a.metrics))
}

func (a jamsocketAPI) connect(w http.ResponseWriter, r *http.Request) {
	var req types.ConnectRequest
	if !decodeJamsocketBody(w, r, &req) {
		return
	}
	if req.NoSpawn && req.Key == "" {
		jamsocketError(w, http.StatusBadRequest, codeBadRequest, "spawn: false needs a key")
		return
	}
	spec, err := a.spawnSpec(r, &req)
	if err != nil {
		jamsocketError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	var keyID string
	if spec.keyGiven {
		keyID = jamsocketKeyID(spec.account, spec.service, spec.env, req.Key)
	}
	res, err := a.core.connect(r.Context(), keyID, spec, req.NoSpawn)
	if err != nil {
		ref, _ := connectRefusals(err)
		jamsocketError(w, ref.status, ref.code, ref.text(err))
		return
	}
	writeJSON(w, http.StatusOK, types.ConnectResponse{
		BackendID:   res.b.id,
		Spawned:     res.spawned,
		Status:      res.status,
		Token:       res.token,
		URL:         a.urls.proxy() + "/" + res.token + "/",
		SecretToken: res.secret,
		StatusURL:   a.urls.api() + "/v2/backend/" + res.b.id + "/status",
		ReadyURL:    "",
	})
}

// spawnSpec is what req and its path fix about a backend it would spawn.
func (a jamsocketAPI) spawnSpec(r *http.Request, req *types.ConnectRequest) (spawnSpec, error) {
	spec := spawnSpec{
		key: req.Key, keyGiven: req.Key != "",
		account: r.PathValue("account"), service: r.PathValue("service"), env: r.PathValue("environment"),
		user: req.User, auth: req.Auth, staticToken: a.cfg.UseStaticToken,
	}
	if spec.env == "" {
		spec.env = defaultEnv
	}
	sp := req.Spawn
	if sp == nil || req.NoSpawn {
		spec.maxIdle = time.Duration(a.cfg.DefaultMaxIdleSeconds) * time.Second // range-checked by New
		return spec, nil
	}
	var err error
	if spec.lifetime, err = seconds("spawn.lifetime_limit_seconds", sp.LifetimeLimitSeconds); err == nil {
		spec.maxIdle, err = seconds("spawn.max_idle_seconds", sp.MaxIdleSeconds)
	}
	if ex := sp.Executable; ex != nil {
		spec.execEnv, spec.limits, spec.mount = ex.Env, ex.ResourceLimits, ex.Mount
	}
	return spec, err
}

// publicState is a status entry in the public Jamsocket form: ISO time, and
// termination_kind only on terminated (as the dev server sends it). A
// backend that never ran (its start failed) ends with a bare terminated,
// as the official dev server shows Plane's: no reason, no kind, and its
// false exit_error dropped (cli/src/dev-server/index.ts getPublicV2State).
func publicState(st state) types.BackendState {
	out := st.BackendState
	if out.Status != types.StatusTerminated {
		out.TerminationKind = ""
	} else if st.exitCode == nil {
		out.ExitError = nil
	}
	return out
}

// jamsocketBackend is the backend the path names, or nil after a
// Jamsocket 404.
func jamsocketBackend(c *core, w http.ResponseWriter, r *http.Request) *backend {
	b := c.lookup(r.PathValue("id"))
	if b == nil {
		jamsocketError(w, http.StatusNotFound, codeNotFound, "backend not found")
	}
	return b
}

func (a jamsocketAPI) status(w http.ResponseWriter, r *http.Request) {
	b := jamsocketBackend(a.core, w, r)
	if b == nil {
		return
	}
	st, _ := b.current()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, publicState(st))
}

// statusStream replays the history, then streams changes, and ends
// after terminated. It sends data: lines only, as the official dev server
// does: the official browser client reads it with fetch and warns about
// any other line, keep-alive comments included.
func (a jamsocketAPI) statusStream(w http.ResponseWriter, r *http.Request) {
	b := jamsocketBackend(a.core, w, r)
	if b == nil {
		return
	}
	a.sse.dataOnly(w, r, statusEvents(b, true, func(st state) *sseEvent {
		data, _ := json.Marshal(publicState(st))
		return &sseEvent{data: data}
	}))
}

func (a jamsocketAPI) terminate(w http.ResponseWriter, r *http.Request) {
	b := jamsocketBackend(a.core, w, r)
	if b == nil {
		return
	}
	var req wire.TerminateRequest
	if !decodeJamsocketBody(w, r, &req) {
		return
	}
	if err := b.terminate(req.Hard, types.ReasonExternal); err != nil {
		jamsocketError(w, http.StatusConflict, codeBackendNotRunning, "the backend has already terminated")
		return
	}
	writeJSON(w, http.StatusOK, wire.StatusOK{Status: "ok"})
}

// authState is a status entry in the authenticated form: terminated
// carries exit_code (number or null) instead of exit_error, and
// last_status.
func authState(st state) types.V2State {
	v := types.V2State{
		Status: st.Status, Time: st.Time,
		TerminationReason: st.TerminationReason, TerminationKind: st.TerminationKind,
	}
	if st.Status == types.StatusTerminated {
		v.ExitCode = st.exitCode
		v.LastStatus = st.lastStatus
	}
	return v
}

func (a jamsocketAPI) info(w http.ResponseWriter, r *http.Request) {
	b := jamsocketBackend(a.core, w, r)
	if b == nil {
		return
	}
	states, _ := b.statesSince(0)
	info := types.BackendInfo{
		ID: b.id, CreatedAt: b.created,
		ServiceName: b.spec.service, ClusterName: localCluster, AccountName: b.spec.account,
		ImageDigest: localImageDigest,
	}
	for _, st := range states {
		info.Statuses = append(info.Statuses, authState(st))
	}
	if b.spec.keyGiven {
		info.Key = types.NullableString(b.spec.key)
	}
	info.EnvironmentName = types.NullableString(b.spec.env)
	if l := b.spec.limits; l != nil && l.MemoryLimitBytes > 0 {
		info.MaxMemBytes = &l.MemoryLimitBytes
	}
	writeJSON(w, http.StatusOK, info)
}

// list lists the account's backends that have not terminated.
// Backends spawned through /ctrl/connect belong to no account.
func (a jamsocketAPI) list(w http.ResponseWriter, r *http.Request) {
	account := r.PathValue("account")
	mine := a.core.reg.backends(func(b *backend) bool { return b.spec.account == account })
	list := []types.BackendSummary{}
	for _, b := range mine {
		st, _ := b.current()
		if st.Status.IsTerminal() {
			continue
		}
		status := authState(st)
		item := types.BackendSummary{
			ID: b.id, CreatedAt: b.created, ServiceName: b.spec.service,
			ClusterName: localCluster, AccountName: account, Status: &status,
		}
		if b.spec.keyGiven {
			item.Key = b.spec.key
		}
		list = append(list, item)
	}
	slices.SortFunc(list, func(a, b types.BackendSummary) int { return a.CreatedAt.Compare(b.CreatedAt) })
	writeJSON(w, http.StatusOK, map[string]any{"running_backends": list})
}

// logs streams the backend's output lines as text: the kept ones,
// then live ones, ending after terminated.
func (a jamsocketAPI) logs(w http.ResponseWriter, r *http.Request) {
	a.sse.backendLogs(a.core, w, r, func(l logLine) []byte {
		// A CR would end the data line early; lines keep everything else.
		return []byte(strings.ReplaceAll(l.text, "\r", ""))
	})
}

// decodeJamsocketBody decodes a request body of at most maxBodyBytes into v;
// an empty body leaves v as it is. When it cannot, it answers with a
// Jamsocket error (413 or 400) and returns false.
func decodeJamsocketBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := readBody(w, r)
	switch {
	case errors.Is(err, errTooLarge):
		jamsocketError(w, http.StatusRequestEntityTooLarge, codePayloadTooLarge, "request body is larger than 1 MiB")
		return false
	case err != nil:
		jamsocketError(w, http.StatusBadRequest, codeBadRequest, "reading the request body: "+err.Error())
		return false
	case len(bytes.TrimSpace(body)) == 0:
		return true
	}
	if err := json.Unmarshal(body, v); err != nil {
		jamsocketError(w, http.StatusBadRequest, codeInvalidJSON, "Failed to parse the request body as JSON: "+err.Error())
		return false
	}
	return true
}

// maxSeconds is the largest seconds field either surface accepts: Plane's
// i32. So a value converts to a Duration without overflow.
const maxSeconds = math.MaxInt32

// seconds converts the seconds field name of a request, or says why it is
// out of range.
func seconds(name string, n int) (time.Duration, error) {
	if n < 0 || n > maxSeconds {
		return 0, fmt.Errorf("%s must be between 0 and %d, not %d", name, maxSeconds, n)
	}
	return time.Duration(n) * time.Second, nil
}
