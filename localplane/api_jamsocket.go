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

func (s *Server) jamsocketConnect(w http.ResponseWriter, r *http.Request) {
	account, service, env := r.PathValue("account"), r.PathValue("service"), r.PathValue("environment")
	if env == "" {
		env = defaultEnv
	}
	var req types.ConnectRequest
	if !decodeJamsocketBody(w, r, &req) {
		return
	}
	if req.NoSpawn && req.Key == "" {
		jamsocketError(w, http.StatusBadRequest, codeBadRequest, "spawn: false needs a key")
		return
	}
	spec := spawnSpec{
		key: req.Key, keyGiven: req.Key != "",
		account: account, service: service, env: env,
		user: req.User, auth: req.Auth, staticToken: s.cfg.UseStaticToken,
	}
	if sp := req.Spawn; sp != nil && !req.NoSpawn {
		var err error
		if spec.lifetime, err = seconds("spawn.lifetime_limit_seconds", sp.LifetimeLimitSeconds); err == nil {
			spec.maxIdle, err = seconds("spawn.max_idle_seconds", sp.MaxIdleSeconds)
		}
		if err != nil {
			jamsocketError(w, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		if ex := sp.Executable; ex != nil {
			spec.execEnv, spec.limits, spec.mount = ex.Env, ex.ResourceLimits, ex.Mount
		}
	} else {
		spec.maxIdle = time.Duration(s.cfg.DefaultMaxIdleSeconds) * time.Second // range-checked by New
	}
	if err := validateSpec(&spec); err != nil {
		jamsocketError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	var keyID string
	if spec.keyGiven {
		keyID = jamsocketKeyID(account, service, env, req.Key)
	}
	res, err := s.connect(keyID, spec, req.NoSpawn)
	switch {
	case errors.Is(err, errTokensFull):
		jamsocketError(w, http.StatusServiceUnavailable, codeUnavailable, err.Error())
		return
	case errors.Is(err, errKeyUnheld):
		jamsocketError(w, http.StatusNotFound, codeNotFound, "no running backend holds this key and spawn is false")
		return
	case errors.Is(err, ErrClosed):
		jamsocketError(w, http.StatusServiceUnavailable, codeUnavailable, "the local plane is shutting down")
		return
	case errors.Is(err, errTooMany):
		jamsocketError(w, http.StatusServiceUnavailable, codeUnavailable, err.Error())
		return
	case errors.Is(err, errNotReadyToSpawn):
		jamsocketError(w, http.StatusServiceUnavailable, codeNotReadyToSpawn, err.Error())
		return
	case err != nil:
		jamsocketError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, types.ConnectResponse{
		BackendID:   res.b.id,
		Spawned:     res.spawned,
		Status:      res.status,
		Token:       res.token,
		URL:         s.ProxyURL() + "/" + res.token + "/",
		SecretToken: res.secret,
		StatusURL:   s.APIURL() + "/v2/backend/" + res.b.id + "/status",
		ReadyURL:    "",
	})
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

func (s *Server) jamsocketBackend(w http.ResponseWriter, r *http.Request) *backend {
	b := s.lookup(r.PathValue("id"))
	if b == nil {
		jamsocketError(w, http.StatusNotFound, codeNotFound, "backend not found")
	}
	return b
}

func (s *Server) jamsocketStatus(w http.ResponseWriter, r *http.Request) {
	b := s.jamsocketBackend(w, r)
	if b == nil {
		return
	}
	st, _ := b.current()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, publicState(st))
}

// jamsocketStatusStream replays the history, then streams changes, and ends
// after terminated. It sends data: lines only, as the official dev server
// does: the official browser client reads it with fetch and warns about
// any other line, keep-alive comments included.
func (s *Server) jamsocketStatusStream(w http.ResponseWriter, r *http.Request) {
	b := s.jamsocketBackend(w, r)
	if b == nil {
		return
	}
	s.streamDataOnly(w, r, statusEvents(b, true, func(st state) *sseEvent {
		data, _ := json.Marshal(publicState(st))
		return &sseEvent{data: data}
	}))
}

func (s *Server) jamsocketTerminate(w http.ResponseWriter, r *http.Request) {
	b := s.jamsocketBackend(w, r)
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

func (s *Server) jamsocketInfo(w http.ResponseWriter, r *http.Request) {
	b := s.jamsocketBackend(w, r)
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

// jamsocketList lists the account's backends that have not terminated.
// Backends spawned through /ctrl/connect belong to no account.
func (s *Server) jamsocketList(w http.ResponseWriter, r *http.Request) {
	account := r.PathValue("account")
	mine := s.reg.backends(func(b *backend) bool { return b.spec.account == account })
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

// jamsocketLogs streams the backend's output lines as text: the kept ones,
// then live ones, ending after terminated.
func (s *Server) jamsocketLogs(w http.ResponseWriter, r *http.Request) {
	s.streamLogs(w, r, func(l logLine) []byte {
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
