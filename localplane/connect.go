package localplane

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jamsocket-go/jamsocket/types"
)

// Errors of connect, mapped onto each surface's error shape.
var (
	errKeyUnheld = errors.New("no backend holds the key and spawning is not allowed")
	errKeyHeld   = errors.New("the key is held by a backend with another tag")
	errIDTaken   = errors.New("a backend with this id already exists")
	errTooMany   = fmt.Errorf("the local plane runs %d backends already", maxLiveBackends)
)

// Bounds on what connects can make the plane keep.
const (
	// maxLiveBackends bounds the backends that have not terminated.
	maxLiveBackends = 1000
	// maxRetainedTerminated bounds the terminated backends kept readable
	// for Config.RetainTerminated; beyond it the oldest is forgotten early.
	maxRetainedTerminated = 1000
	// maxTokensPerBackend bounds the connection tokens of one backend; a
	// new one beyond it replaces the oldest.
	maxTokensPerBackend = 1024
	// maxUserLength and maxUserDataLength bound the identity a token
	// carries to the backend in its x-verified-* headers, in bytes.
	maxUserLength     = 1 << 10
	maxUserDataLength = 16 << 10
)

// connectResult is what a connect returns on either surface.
type connectResult struct {
	b       *backend
	spawned bool
	status  types.BackendStatus
	token   string
	secret  string // "" with a static token
}

// jamsocketKeyID and planeKeyID namespace a key: Jamsocket keys live per
// account, service and environment, Plane keys per namespace. Every part is
// length-prefixed, so that no two different tuples give the same id
// whatever bytes the parts hold (path segments may carry %00).
func jamsocketKeyID(account, service, env, key string) string {
	return joinKeyID("v2", account, service, env, key)
}

func planeKeyID(namespace, name string) string {
	return joinKeyID("plane", namespace, name)
}

func joinKeyID(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteByte(':')
		b.WriteString(p)
	}
	return b.String()
}

// connect returns the backend holding keyID, or spawns one from spec (unless
// noSpawn), and mints a token bound to spec.user and spec.auth. Exactly one
// backend holds a key: the lookup and the insertion happen under one lock.
func (s *Server) connect(keyID string, spec spawnSpec, noSpawn bool) (connectResult, error) {
	userData := "{}"
	if spec.auth != nil {
		b, err := json.Marshal(spec.auth)
		if err != nil {
			return connectResult{}, fmt.Errorf("auth: %w", err)
		}
		userData = string(b)
	}
	if len(spec.user) > maxUserLength || len(userData) > maxUserDataLength {
		return connectResult{}, fmt.Errorf("user is longer than %d bytes or auth longer than %d bytes as JSON", maxUserLength, maxUserDataLength)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return connectResult{}, ErrClosed
	}
	// A terminated backend no longer holds its key, even in the moment
	// before its lifecycle goroutine has released it.
	if b := s.byKey[keyID]; keyID != "" && b != nil {
		if st, _ := b.current(); !st.Status.IsTerminal() {
			if b.spec.tag != spec.tag {
				return connectResult{}, errKeyHeld
			}
			res := connectResult{b: b, status: st.Status}
			res.token, res.secret = s.grantLocked(b, spec.user, userData)
			return res, nil
		}
	}
	if noSpawn {
		return connectResult{}, errKeyUnheld
	}
	if s.live >= maxLiveBackends {
		return connectResult{}, errTooMany
	}
	if reason := s.spawnHoldLocked(); reason != "" {
		return connectResult{}, fmt.Errorf("%w: %s", errNotReadyToSpawn, reason)
	}
	id := spec.id
	if id == "" {
		for id == "" || s.byID[id] != nil {
			id = randomID(14)
		}
	} else if s.byID[id] != nil {
		return connectResult{}, errIDTaken
	}
	if !spec.keyGiven {
		spec.key = "lk-" + randomID(14)
	}
	b := newBackend(s, id, keyID, spec, time.Now())
	if spec.staticToken {
		b.staticToken = "s." + randomToken()
	}
	s.byID[id] = b
	s.live++
	if keyID != "" {
		s.byKey[keyID] = b
	}
	b.history = []state{{BackendState: types.BackendState{Status: types.StatusScheduled, Time: b.created.UTC().Truncate(time.Millisecond)}}}
	res := connectResult{b: b, spawned: true, status: types.StatusScheduled}
	res.token, res.secret = s.grantLocked(b, spec.user, userData)
	s.log.Info("backend scheduled", "backend", id, "key", spec.key)
	go b.run()
	return res, nil
}

// maxKeyLength is Jamsocket's limit on keys, in characters.
const maxKeyLength = 128

// grantLocked mints a connection token (and secret) for b, or returns its
// static token. s.mu must be held.
func (s *Server) grantLocked(b *backend, user, userData string) (token, secret string) {
	if b.staticToken != "" {
		if s.byToken[b.staticToken] == nil {
			s.byToken[b.staticToken] = &grant{b: b, userData: "{}", static: true}
			b.mu.Lock()
			b.tokens = append(b.tokens, b.staticToken)
			b.mu.Unlock()
		}
		return b.staticToken, ""
	}
	token, secret = randomToken(), randomToken()
	now := time.Now()
	s.byToken[token] = &grant{b: b, user: user, userData: userData, secret: secret, expires: now.Add(s.cfg.TokenTTL)}
	b.mu.Lock()
	defer b.mu.Unlock()
	// Drop expired tokens, and the oldest beyond the bound: tokens are
	// minted in order, so the expired ones come first.
	drop := 0
	for ; drop < len(b.tokens); drop++ {
		g := s.byToken[b.tokens[drop]]
		full := len(b.tokens)-drop >= maxTokensPerBackend
		if g != nil && !full && now.Before(g.expires) {
			break
		}
		delete(s.byToken, b.tokens[drop])
	}
	b.tokens = append(b.tokens[drop:], token)
	return token, secret
}

// reservedEnv reports the first name in env that a backend's environment
// reserves, or "".
func reservedEnv(env map[string]string) string {
	for k := range env {
		if k == "PORT" || k == "JAMSOCKET_SERVICE" || strings.HasPrefix(k, "SESSION_BACKEND_") {
			return k
		}
	}
	return ""
}

// validateSpec checks what both surfaces accept in a spawn configuration.
func validateSpec(spec *spawnSpec) error {
	if name := reservedEnv(spec.execEnv); name != "" {
		return fmt.Errorf("executable.env may not set the reserved variable %s", name)
	}
	for k := range spec.execEnv {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("executable.env has an invalid variable name %q", k)
		}
	}
	if spec.maxIdle < 0 || spec.lifetime < 0 {
		return errors.New("max_idle_seconds and lifetime_limit_seconds must not be negative")
	}
	if utf8.RuneCountInString(spec.key) > maxKeyLength || strings.ContainsRune(spec.key, 0) {
		return fmt.Errorf("key is longer than %d characters or contains NUL", maxKeyLength)
	}
	if l := spec.limits; l != nil && (l.MemoryLimitBytes < 0 || l.CPUTimeLimit < 0 || l.DiskLimitBytes < 0) {
		return errors.New("resource_limits must not be negative")
	}
	return nil
}
