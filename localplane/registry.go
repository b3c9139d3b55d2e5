package localplane

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jamsocket-go/jamsocket/types"
)

// registry owns the plane's indexes: backends by id and by key, connection
// tokens, and the accounts requests have named, under one lock of its own.
// Handlers ask it; none of them holds its lock or walks its maps.
type registry struct {
	tokenTTL time.Duration
	bounds   registryBounds

	mu       sync.Mutex
	closed   bool
	byID     map[string]*backend
	byKey    map[string]*backend
	byToken  map[string]*grant
	accounts map[string]struct{} // accounts named on the Jamsocket surface
	live     int                 // backends not terminated yet
	ended    []*backend          // terminated backends not forgotten yet, oldest first
}

// registryBounds are the most the registry keeps.
type registryBounds struct {
	live, retained, tokens, tokenBytes int
}

var defaultBounds = registryBounds{
	live: maxLiveBackends, retained: maxRetainedTerminated,
	tokens: maxTokensPerBackend, tokenBytes: maxTokenBytesPerBackend,
}

// grant is what a connection token stands for: a backend, and the identity
// the connect bound to it.
type grant struct {
	b        *backend
	user     string
	userData string    // JSON of auth, "{}" when none; "" for a static token
	secret   string    // "" for a static token
	static   bool      // a static token: the path is forwarded unchanged
	expires  time.Time // when the token stops opening requests (zero: never)
}

func newRegistry(tokenTTL time.Duration) *registry {
	return &registry{
		tokenTTL: tokenTTL,
		bounds:   defaultBounds,
		byID:     map[string]*backend{},
		byKey:    map[string]*backend{},
		byToken:  map[string]*grant{},
		accounts: map[string]struct{}{},
	}
}

// spawnRequest is a connect as the registry sees it.
type spawnRequest struct {
	keyID    string // "" for none
	spec     spawnSpec
	userData string
	noSpawn  bool
	// admit says whether a spawn may proceed (core.admit), and create
	// makes the backend to spawn, with its id (core.newBackend). Both are
	// called under the registry's lock and must not call back.
	admit  func() error
	create func(id, keyID string, spec spawnSpec) *backend
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

// connect returns the live backend holding req.keyID, or registers a new one
// (unless req.noSpawn), and mints a token for req's identity. Exactly one
// backend holds a key: the lookup and the insertion happen under one lock.
func (r *registry) connect(req spawnRequest) (connectResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return connectResult{}, ErrClosed
	}
	// A terminated backend no longer holds its key, even in the moment
	// before its lifecycle goroutine has released it.
	if b := r.byKey[req.keyID]; req.keyID != "" && b != nil {
		if st, _ := b.current(); !st.Status.IsTerminal() {
			if b.spec.tag != req.spec.tag {
				return connectResult{}, errKeyHeld
			}
			res := connectResult{b: b, status: st.Status}
			var err error
			res.token, res.secret, err = r.mintLocked(b, req.spec.user, req.userData)
			return res, err
		}
	}
	switch {
	case req.noSpawn:
		return connectResult{}, errKeyUnheld
	case r.live >= r.bounds.live:
		return connectResult{}, errTooMany
	}
	if err := req.admit(); err != nil {
		return connectResult{}, err
	}
	id := req.spec.id
	if id == "" {
		for id == "" || r.byID[id] != nil {
			id = randomID(14)
		}
	} else if r.byID[id] != nil {
		return connectResult{}, errIDTaken
	}
	b := req.create(id, req.keyID, req.spec)
	r.byID[id] = b
	r.live++
	if req.keyID != "" {
		r.byKey[req.keyID] = b
	}
	res := connectResult{b: b, spawned: true, status: types.StatusScheduled}
	res.token, res.secret, _ = r.mintLocked(b, req.spec.user, req.userData) // the first token always fits
	return res, nil
}

// mint mints a connection token for b, a backend still registered and not
// terminated (else ErrNotRunning), within its bounds (else errTokensFull).
func (r *registry) mint(b *backend, user, userData string) (token string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, _ := b.current(); st.Status.IsTerminal() || r.byID[b.id] != b {
		return "", ErrNotRunning
	}
	token, _, err = r.mintLocked(b, user, userData)
	return token, err
}

// mintLocked mints a connection token (and secret) for b, or returns its
// static token. Beyond b's bounds in number or in bytes of user and auth
// it refuses (errTokensFull) once expired tokens are dropped: a live
// token is never evicted to make room.
func (r *registry) mintLocked(b *backend, user, userData string) (token, secret string, err error) {
	if b.staticToken != "" {
		if r.byToken[b.staticToken] == nil {
			r.byToken[b.staticToken] = &grant{b: b, static: true}
			b.mu.Lock()
			b.tokens = append(b.tokens, b.staticToken)
			b.mu.Unlock()
		}
		return b.staticToken, "", nil
	}
	now := time.Now()
	size := len(user) + len(userData)
	b.mu.Lock()
	defer b.mu.Unlock()
	// Tokens are minted in order with one TTL, so the expired ones come
	// first.
	drop := 0
	for ; drop < len(b.tokens); drop++ {
		g := r.byToken[b.tokens[drop]]
		if g != nil && now.Before(g.expires) {
			break
		}
		if g != nil {
			b.tokenBytes -= len(g.user) + len(g.userData)
		}
		delete(r.byToken, b.tokens[drop])
	}
	b.tokens = b.tokens[drop:]
	if len(b.tokens) >= r.bounds.tokens || b.tokenBytes+size > r.bounds.tokenBytes {
		return "", "", errTokensFull
	}
	token, secret = randomToken(), randomToken()
	r.byToken[token] = &grant{b: b, user: user, userData: userData, secret: secret, expires: now.Add(r.tokenTTL)}
	b.tokens = append(b.tokens, token)
	b.tokenBytes += size
	return token, secret, nil
}

// backend is the backend with id, or nil.
func (r *registry) backend(id string) *backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[id]
}

// grant is what token opens, or nil if it opens nothing (unknown, or
// expired at now).
func (r *registry) grant(token string, now time.Time) *grant {
	r.mu.Lock()
	g := r.byToken[token]
	r.mu.Unlock()
	if g == nil || (!g.expires.IsZero() && now.After(g.expires)) {
		return nil
	}
	return g
}

// backends returns the registered backends keep accepts, in no order; nil
// keep accepts all.
func (r *registry) backends(keep func(*backend) bool) []*backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*backend, 0, len(r.byID))
	for _, b := range r.byID {
		if keep == nil || keep(b) {
			out = append(out, b)
		}
	}
	return out
}

// seeAccount remembers an account a request named, up to maxSeenAccounts.
func (r *registry) seeAccount(account string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.accounts) < maxSeenAccounts {
		r.accounts[account] = struct{}{}
	}
}

// seenAccounts are the accounts remembered, sorted.
func (r *registry) seenAccounts() []string {
	r.mu.Lock()
	out := make([]string, 0, len(r.accounts))
	for a := range r.accounts {
		out = append(out, a)
	}
	r.mu.Unlock()
	slices.Sort(out)
	return out
}

// close refuses every later connect and returns every backend registered.
func (r *registry) close() []*backend {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.backends(nil)
}

// finished records that b has terminated: its key is free. It returns the
// oldest terminated backend when more than maxRetainedTerminated are kept
// (to be forgotten early), and whether the registry is closed.
func (r *registry) finished(b *backend) (early *backend, closed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b.keyID != "" && r.byKey[b.keyID] == b {
		delete(r.byKey, b.keyID)
	}
	r.live--
	if r.closed {
		return nil, true
	}
	r.ended = append(r.ended, b)
	if len(r.ended) > r.bounds.retained {
		early = r.ended[0]
	}
	return early, false
}

// forget drops a terminated backend and its tokens.
func (r *registry) forget(b *backend) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID[b.id] == b {
		delete(r.byID, b.id)
	}
	if i := slices.Index(r.ended, b); i >= 0 {
		r.ended = slices.Delete(r.ended, i, i+1)
	}
	b.mu.Lock()
	for _, t := range b.tokens {
		delete(r.byToken, t)
	}
	b.tokens, b.tokenBytes = nil, 0
	b.mu.Unlock()
}
