package localplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jamsocket-go/jamsocket/types"
)

// core owns the plane's backends: their keys and tokens (the registry)
// and their lifecycles (lifecycle.go). The HTTP surfaces ask it and
// translate its answers; it asks the runner to start backends, and the
// runner returns what it started. Nothing below the core calls back up.
type core struct {
	cfg         *Config // read-only
	log         *slog.Logger
	runner      runner
	reg         *registry
	probeClient *http.Client
	hub         *consoleHub // numbers every change, for the console
	gate        spawnGate   // whether a spawn may start now (admit)
	tel         *telemetry
	pool        *warmPool // nil without Config.WarmPool

	closing   chan struct{} // closed when the plane begins to close; ends every stream
	closeOnce sync.Once
}

func newCore(cfg *Config, r runner) *core {
	c := &core{
		cfg: cfg, log: cfg.Logger, runner: r,
		reg:         newRegistry(cfg.TokenTTL),
		probeClient: newProbeClient(),
		hub:         new(consoleHub),
		gate:        newSpawnGate(cfg.Builder, r),
		tel:         newTelemetry(cfg),
		closing:     make(chan struct{}),
	}
	if ws, ok := r.(warmStarter); ok && cfg.WarmPool > 0 {
		c.pool = newWarmPool(cfg.WarmPool, ws, c.gate, cfg, c.poolChanged)
	}
	return c
}

// connectResult is what a connect returns on either surface.
type connectResult struct {
	b       *backend
	spawned bool
	status  types.BackendStatus
	token   string
	secret  string // "" with a static token
}

// connect returns the backend holding keyID, or spawns one from spec (unless
// noSpawn), and mints a token bound to spec.user and spec.auth; the
// registry makes the lookup, admit and the insertion one step. Its errors
// are the connect errors of errors.go, or a bad spec's. ctx carries the
// connect's span, which the outcome is recorded on and the spawned
// backend's spans continue.
func (c *core) connect(ctx context.Context, keyID string, spec spawnSpec, noSpawn bool) (res connectResult, err error) {
	defer func() { connected(ctx, res, err) }()
	if err := validateSpec(&spec); err != nil {
		return connectResult{}, err
	}
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
	if ch, ok := c.runner.(envChecker); ok {
		if err := ch.checkEnv(spec.execEnv); err != nil {
			return connectResult{}, err
		}
	}
	if !spec.keyGiven {
		spec.key = "lk-" + randomID(14)
	}
	res, err = c.reg.connect(spawnRequest{
		keyID: keyID, spec: spec, userData: userData, noSpawn: noSpawn,
		admit: c.admit, create: c.newBackend,
	})
	if err != nil || !res.spawned {
		return res, err
	}
	c.log.Info("backend scheduled", "backend", res.b.id, "key", res.b.spec.key)
	go c.run(afterConnect(ctx), res.b)
	return res, nil
}

// admit is where a spawn asks whether it may proceed now: nil, or why not
// (errNotReadyToSpawn). The registry calls it under its lock, in the step
// that inserts the backend, so that the answer is the one the spawn acts
// on; the gate (Config.Builder, the runner's image) answers at once.
func (c *core) admit() error {
	if why := c.gate.hold(); why != "" {
		return fmt.Errorf("%w: %s", errNotReadyToSpawn, why)
	}
	return nil
}

// newBackend makes the record of a backend the registry is about to
// insert, scheduled now; it is called under the registry's lock.
func (c *core) newBackend(id, keyID string, spec spawnSpec) *backend {
	now := time.Now()
	b := &backend{
		spec: spec, id: id, keyID: keyID, created: now, onOutput: c.cfg.BackendOutput,
		termCh:  make(chan termRequest),
		done:    make(chan struct{}),
		changed: make(chan struct{}),
		conns:   map[net.Conn]struct{}{},
		logs:    logRing{lines: make([]logLine, 0, 16)},
	}
	if spec.staticToken {
		b.staticToken = "s." + randomToken()
	}
	b.history = []state{{BackendState: types.BackendState{Status: types.StatusScheduled, Time: now.UTC().Truncate(time.Millisecond)}}}
	return b
}

// lookup is the backend with id, or nil.
func (c *core) lookup(id string) *backend { return c.reg.backend(id) }

// terminate terminates the backend with id for reason external. Errors:
// ErrNotFound, ErrNotRunning.
func (c *core) terminate(id string, hard bool) error {
	b := c.lookup(id)
	if b == nil {
		return ErrNotFound
	}
	return b.terminate(hard, types.ReasonExternal)
}

// changed reports a backend's change to the console and Config.OnChange.
func (c *core) changed(b *backend, forgotten bool) {
	c.hub.publish(b.id)
	if c.cfg.OnChange == nil {
		return
	}
	sum := b.summary()
	sum.Forgotten = forgotten
	c.cfg.OnChange(sum)
}

// poolChanged reports a change of the warm pool's counts to the console
// and Config.OnWarmPool.
func (c *core) poolChanged() {
	c.hub.publish(poolChange)
	if c.cfg.OnWarmPool != nil {
		c.cfg.OnWarmPool(c.pool.view())
	}
}

// finished runs when a backend's lifecycle ends: the key is released, proxy
// connections to it are cut, and it is forgotten after RetainTerminated.
func (c *core) finished(b *backend) {
	early, closed := c.reg.finished(b) // early: the oldest terminated one, beyond the bound
	b.closeProxy()
	if !closed {
		b.mu.Lock()
		b.forgetTimer = time.AfterFunc(c.cfg.RetainTerminated, func() { c.forget(b) })
		b.mu.Unlock()
	}
	close(b.done) // after forgetTimer is set, so that close can stop it
	if early != nil {
		early.mu.Lock()
		stopped := early.forgetTimer != nil && early.forgetTimer.Stop()
		early.mu.Unlock()
		if stopped {
			c.forget(early)
		}
	}
}

// forget drops a terminated backend and its tokens.
func (c *core) forget(b *backend) {
	c.reg.forget(b)
	c.changed(b, true)
}

// close ends every stream, refuses every later connect, hard-terminates
// every backend and waits until each has ended.
func (c *core) close() {
	c.closeOnce.Do(func() { close(c.closing) })
	c.pool.shutdown()
	all := c.reg.close()
	for _, b := range all {
		b.terminate(true, types.ReasonExternal) // ErrNotRunning is fine
	}
	for _, b := range all {
		<-b.done
		b.mu.Lock()
		if b.forgetTimer != nil {
			b.forgetTimer.Stop()
		}
		b.mu.Unlock()
	}
	c.pool.wait()
	c.probeClient.CloseIdleConnections()
}

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
	// maxKeyLength is Jamsocket's limit on keys, in characters.
	maxKeyLength = 128
)

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
