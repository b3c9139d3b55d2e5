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
	errTooMany   = errors.New("the local plane runs as many backends as it may; terminate some first")
	// errTokensFull refuses a token beyond a backend's bounds: a live
	// token is never dropped to make room.
	errTokensFull = errors.New("the backend holds as many connection tokens as it may (1,024, or 1 MiB of user and auth); " +
		"connect again once some expire (Config.TokenTTL), or spawn another backend")
)

// Bounds on what connects can make the plane keep.
const (
	// maxLiveBackends bounds the backends that have not terminated.
	maxLiveBackends = 1000
	// maxRetainedTerminated bounds the terminated backends kept readable
	// for Config.RetainTerminated; beyond it the oldest is forgotten early.
	maxRetainedTerminated = 1000
	// maxTokensPerBackend bounds the connection tokens of one backend, and
	// maxTokenBytesPerBackend the user and auth they carry together; a
	// connect beyond either is refused (503).
	maxTokensPerBackend     = 1024
	maxTokenBytesPerBackend = 1 << 20
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
// noSpawn), and mints a token bound to spec.user and spec.auth; the
// registry makes the lookup and the insertion one step.
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
	if c, ok := s.runner.(envChecker); ok {
		if err := c.checkEnv(spec.execEnv); err != nil {
			return connectResult{}, err
		}
	}
	hold := s.spawns.hold()
	if !spec.keyGiven {
		spec.key = "lk-" + randomID(14)
	}
	res, err := s.reg.connect(spawnRequest{
		keyID: keyID, spec: spec, userData: userData, noSpawn: noSpawn, hold: hold,
		create: func(id string, spec spawnSpec) *backend {
			b := newBackend(s, id, keyID, spec, time.Now())
			if spec.staticToken {
				b.staticToken = "s." + randomToken()
			}
			b.history = []state{{BackendState: types.BackendState{Status: types.StatusScheduled, Time: b.created.UTC().Truncate(time.Millisecond)}}}
			return b
		},
	})
	if err != nil || !res.spawned {
		return res, err
	}
	s.log.Info("backend scheduled", "backend", res.b.id, "key", res.b.spec.key)
	go res.b.run()
	return res, nil
}

// maxKeyLength is Jamsocket's limit on keys, in characters.
const maxKeyLength = 128

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
	// Plane takes negative memory and disk limits (i64) and hands them to
	// Docker; here they are refused. CPU limits Plane cannot read end the
	// backend instead (unreadableExecutable).
	if l := spec.limits; l != nil && (l.MemoryLimitBytes < 0 || l.DiskLimitBytes < 0) {
		return errors.New("resource_limits.memory_limit_bytes and disk_limit_bytes must not be negative")
	}
	return nil
}
