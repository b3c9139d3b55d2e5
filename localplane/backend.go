package localplane

import (
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jamsocket-go/jamsocket/types"
)

// Backend describes one session backend to the Handler that serves it.
type Backend struct {
	// ID is the backend id (14 characters of [a-z0-9], or the id requested
	// through Plane's spawn_config).
	ID string
	// Key is the key the backend holds: the connect's key, or a random
	// "lk-…" key when the connect gave none.
	Key string
	// User is the user of the connect that spawned the backend.
	User string
	// Auth is the auth object of the connect that spawned the backend
	// (nil when none).
	Auth map[string]any
	// Env is the environment a process backend would get on top of the
	// plane's own: PORT, SESSION_BACKEND_ID, SESSION_BACKEND_KEY,
	// SESSION_BACKEND_FENCING_TOKEN, SESSION_BACKEND_STATIC_TOKEN (static
	// tokens only), JAMSOCKET_SERVICE (Jamsocket surface only) and the
	// connect's executable.env.
	Env map[string]string
	// Port is the loopback port the handler is served on.
	Port int
	// Output receives the backend's log output: every line written to it
	// appears in the logs stream (as stdout) and in Config.BackendOutput.
	Output io.Writer
}

// BackendView is a backend as Server.Backends and Config.OnChange show it:
// what an operator of this plane sees, process id included. (The API's
// list item, what a client sees, is types.BackendSummary.)
type BackendView struct {
	// ID is the backend id.
	ID string
	// Key is the key the backend holds (a random "lk-…" key if none was
	// given).
	Key string
	// Account, Service and Environment name the Jamsocket service it was
	// spawned for; all empty for backends spawned through /ctrl/connect.
	Account, Service, Environment string
	// Status is the current status.
	Status types.BackendStatus
	// TerminationReason is the reason of the latest ending status, if any.
	TerminationReason types.TerminationReason
	// CreatedAt is when the backend was scheduled.
	CreatedAt time.Time
	// StartedAt is when its process or handler started; zero before.
	StartedAt time.Time
	// PID is the process id of a process backend, or the host pid of a
	// container backend's main process (0 for handler backends and before
	// the start).
	PID int
	// Image is the image a container backend runs (empty for other
	// backends and before the start).
	Image string
	// ExitCode is how a terminated backend's process ended: its exit code,
	// or 128+signal when a signal killed it (137: SIGKILL). Nil before it
	// has ended, or when it never started.
	ExitCode *int
	// Terminated is true once the backend has terminated; its status stays
	// readable until it is forgotten.
	Terminated bool
	// Forgotten is true only in the OnChange call made when a terminated
	// backend is dropped after Config.RetainTerminated.
	Forgotten bool
}

// spawnSpec is everything a connect fixes about a backend it spawns.
type spawnSpec struct {
	id                    string // requested id, "" = random
	key                   string
	keyGiven              bool
	tag                   string
	account, service, env string // Jamsocket surface only
	user                  string
	auth                  map[string]any
	execEnv               map[string]string
	limits                *types.ResourceLimits
	mount                 *types.Mount
	maxIdle, lifetime     time.Duration
	staticToken           bool
}

// state is one history entry with what only the authenticated views show.
type state struct {
	types.BackendState
	exitCode   *int
	lastStatus types.BackendStatus
}

// termRequest asks a backend's lifecycle goroutine to terminate it.
type termRequest struct {
	hard   bool
	reason types.TerminationReason
}

// backend is the plane's record of one session backend. Its lifecycle is
// driven by a single goroutine (core.run), the only writer of its state;
// everything else reads it under mu or sends it termRequests. It knows
// nothing above it: no server, no core.
type backend struct {
	spec        spawnSpec
	id          string
	keyID       string // registry key, "" for none
	staticToken string
	created     time.Time
	// onOutput is Config.BackendOutput (nil: none).
	onOutput func(backendID, stream, line string)

	termCh chan termRequest
	done   chan struct{} // closed when terminated

	asked      atomic.Int32 // termination asked for: 0 none, 1 soft, 2 hard
	active     atomic.Int64 // proxied requests in flight (WebSockets included)
	lastActive atomic.Int64 // the last proxied activity, as nanoseconds since created (monotonic)

	// The backend's reverse proxy, made by the first proxied request
	// (backendProxy).
	proxyOnce sync.Once
	proxy     *httputil.ReverseProxy

	mu          sync.Mutex
	history     []state
	changed     chan struct{} // closed and replaced on every change
	run         started       // what the runner started (zero before)
	logs        logRing
	tokens      []string
	tokenBytes  int                   // user and auth of the grants of tokens, in bytes
	conns       map[net.Conn]struct{} // proxy connections to the backend
	transport   *http.Transport       // the proxy's (nil before the first proxied request)
	forgetTimer *time.Timer
}

// current returns the latest state and a channel closed on the next change.
func (b *backend) current() (state, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.history[len(b.history)-1], b.changed
}

// statesSince returns the history from index i on and a channel closed on the
// next change.
func (b *backend) statesSince(i int) ([]state, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i >= len(b.history) {
		return nil, b.changed
	}
	return append([]state(nil), b.history[i:]...), b.changed
}

func (b *backend) notifyLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// terminate asks the lifecycle goroutine to terminate the backend.
func (b *backend) terminate(hard bool, reason types.TerminationReason) error {
	select {
	case b.termCh <- termRequest{hard: hard, reason: reason}:
		level := int32(1)
		if hard {
			level = 2
		}
		for {
			old := b.asked.Load()
			if old >= level || b.asked.CompareAndSwap(old, level) {
				return nil
			}
		}
	case <-b.done:
		return ErrNotRunning
	}
}

// terminable reports whether a terminate (soft or hard) would still change
// anything: the backend is not ending yet, or, for a hard one, not yet
// hard-terminating, and no such termination has been asked for already
// (the lifecycle goroutine may not have recorded it yet).
func (b *backend) terminable(hard bool) bool {
	st, _ := b.current()
	if hard {
		return st.Status.Rank() < types.StatusHardTerminating.Rank() && b.asked.Load() < 2
	}
	return !st.Status.IsEnding() && b.asked.Load() == 0
}

// touch records proxied activity now.
func (b *backend) touch() { b.lastActive.Store(int64(time.Since(b.created))) }

// idleFor is how long the backend has been without proxied activity; zero
// while a request or connection is open.
func (b *backend) idleFor() time.Duration {
	if b.active.Load() > 0 {
		return 0
	}
	return time.Since(b.created) - time.Duration(b.lastActive.Load())
}

// addr is the backend's loopback address.
func (b *backend) addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.run.port))
}

// summary describes the backend for Backends and OnChange.
func (b *backend) summary() BackendView {
	b.mu.Lock()
	defer b.mu.Unlock()
	last := b.history[len(b.history)-1]
	sum := BackendView{
		ID: b.id, Key: b.spec.key,
		Account: b.spec.account, Service: b.spec.service, Environment: b.spec.env,
		Status: last.Status, CreatedAt: b.created, StartedAt: b.run.at, PID: b.run.pid, Image: b.run.image,
		Terminated: last.Status == types.StatusTerminated,
	}
	if last.exitCode != nil {
		code := *last.exitCode
		sum.ExitCode = &code
	}
	for i := len(b.history) - 1; i >= 0 && sum.TerminationReason == ""; i-- {
		sum.TerminationReason = b.history[i].TerminationReason
	}
	return sum
}
