package localplane

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Config configures a local plane. The zero Config is not usable: set
// exactly one of Command (process backends), Handler (in-process backends)
// or Container (container backends).
type Config struct {
	// APIAddr is where the API (Jamsocket v2 and Plane controller) listens.
	// Default "127.0.0.1:8080"; port 0 picks a free port.
	APIAddr string
	// ProxyAddr is where the proxy that connection URLs point at listens.
	// Default "127.0.0.1:9090"; port 0 picks a free port.
	ProxyAddr string
	// Token, if set, is the bearer token required on the control endpoints
	// (connect, terminate, info, list, logs and every /ctrl/ route). The
	// public status endpoints stay public.
	Token string

	// AllowOrigins are the origins (scheme://host[:port], or "*") whose
	// pages may change state and read every answer, as a browser app served
	// from elsewhere needs. Pages from loopback origins may change state
	// anyway; every other origin is refused unless Token is set. The public
	// status routes answer every origin.
	AllowOrigins []string
	// AllowHosts are more names the API answers to in the Host header, for
	// an API reached by a name that is not loopback (e.g. over a LAN).
	// Loopback names, IP addresses and the host of APIAddr are always
	// answered; any other name is refused against DNS rebinding.
	AllowHosts []string

	// Command is the argv of the backend program, run once per backend with
	// the environment a Plane drone gives a container (PORT and friends),
	// the spawn's executable.env, and only the variables of the plane's own
	// environment named by DefaultPassEnv and PassEnv: never the plane's
	// credentials (JAMSOCKET_TOKEN and the like). New fails if Command[0]
	// cannot be found.
	Command []string
	// PassEnv names more variables of the plane's environment that backend
	// processes inherit, on top of DefaultPassEnv.
	PassEnv []string
	// Dir is the working directory of Command; empty means the current one.
	Dir string
	// Handler, instead of Command, returns the http.Handler that
	// serves one backend. It is called once per backend and served on the
	// backend's own loopback listener.
	Handler func(Backend) http.Handler
	// Container, instead of Command or Handler, runs each backend
	// as a Docker container of an image (see ContainerConfig).
	Container *ContainerConfig

	// WarmPool is how many backends the plane keeps started before any
	// connect asks for one (a warm pool; 0 or negative: none, at most 64).
	// A connect that would spawn takes one that has said Warmed on its
	// control socket, sends it its assignment and counts it ready when it
	// says Ready; the pool refills in the background. Only backends built
	// for it (package sessionbackend, @jamsocket/session-backend) join; a
	// spawn with resource_limits or executable.mount, or one that finds the
	// pool empty, starts cold. Command and Container planes only. See the
	// package doc's warm pools section.
	WarmPool int
	// OnWarmPool, if set, is called after every change of the warm pool's
	// counts (see Server.WarmPool), from the pool's goroutines; it must not
	// block for long.
	OnWarmPool func(WarmPoolView)

	// UseStaticToken makes every spawned backend use a static connection
	// token, on both surfaces, as the official dev server's
	// --use-static-token does.
	UseStaticToken bool

	// StartupTimeout bounds the time from spawn to ready; a backend not ready
	// by then is terminated with reason startuptimeout. Default 5m.
	StartupTimeout time.Duration
	// GracePeriod is how long a soft-terminated backend gets between SIGTERM
	// and SIGKILL. Default 10s.
	GracePeriod time.Duration
	// RetainTerminated is how long a terminated backend's status and history
	// stay readable before it is forgotten (404). Default 10m.
	RetainTerminated time.Duration
	// ProxyWaitTimeout is how long a proxied request that arrives before its
	// backend is ready waits for it. Default 30s.
	ProxyWaitTimeout time.Duration
	// TokenTTL is how long a connection token opens new requests, as on
	// Plane; connections already open are not cut. Static tokens do not
	// expire. Default 1h.
	TokenTTL time.Duration
	// DefaultMaxIdleSeconds is the idle limit of backends spawned through the
	// Jamsocket surface without a spawn object (the dev server uses 300). A
	// spawn object, and the Plane surface, use their own max_idle_seconds
	// only. 0 means no default limit.
	DefaultMaxIdleSeconds int

	// MetricsInterval is how often the metrics stream samples a backend's
	// memory and CPU use. Default 1s.
	MetricsInterval time.Duration
	// TerminateBatchSize is the most backends one terminate-backends call
	// terminates; when more match, the answer says is_complete false and the
	// caller repeats the request. Default 50.
	TerminateBatchSize int
	// Accounts, if set, are the accounts GET /auth reports. By default it
	// answers as an admin (the local plane accepts any account) and
	// reports the first 64 accounts that requests on the Jamsocket surface
	// have named, or DefaultAccount before any.
	Accounts []string
	// ImageRegistry, if set, is the host[:port] of an image registry that
	// GET /service/{account}/{service}/image-name points at, answering
	// {"imageName": "ImageRegistry/account/service"}, so that `jamsocket
	// push` can be tried against a local registry. Unset, that endpoint
	// answers 501.
	ImageRegistry string

	// Logger receives the plane's own log records. Default: discard.
	// Tokens and secrets are never logged.
	Logger *slog.Logger
	// BackendOutput, if set, is called for every line a backend writes;
	// stream is "stdout" or "stderr". It is called from the goroutine
	// reading that stream and must not block for long.
	BackendOutput func(backendID, stream, line string)
	// OnChange, if set, is called after every status change of every backend
	// (and when a terminated backend is forgotten, with Forgotten set), so
	// that a live view can redraw. Calls for one backend arrive in order;
	// calls for different backends may be concurrent. It must not block for
	// long and must not call Close or Terminate: it runs on the backend's
	// own lifecycle goroutine, which those wait on. Hand such work to
	// another goroutine.
	OnChange func(BackendView)
	// Builder, if set, builds what backends run while the plane serves
	// (jamsocket dev -f builds its Dockerfile): spawns wait for it, a
	// container plane runs the image it names, and the web console shows
	// its log and rebuilds through it. See Builder.
	Builder Builder
	// TracerProvider receives the plane's OpenTelemetry spans: a server
	// span per connect request, and each spawned backend's start with its
	// steps, the runner's start and the readiness probe (README, "Tracing
	// and metrics"). Nil means the global provider, otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// Propagator reads the caller's trace context (W3C traceparent) from
	// a connect request, so that the plane's spans join the caller's
	// trace. Nil means the global one, otel.GetTextMapPropagator(), which
	// reads nothing until one is installed.
	Propagator propagation.TextMapPropagator
}

// Defaults of Config.
const (
	DefaultAPIAddr          = "127.0.0.1:8080"
	DefaultProxyAddr        = "127.0.0.1:9090"
	DefaultStartupTimeout   = 5 * time.Minute
	DefaultGracePeriod      = 10 * time.Second
	DefaultRetainTerminated = 10 * time.Minute
	DefaultProxyWaitTimeout = 30 * time.Second
	DefaultTokenTTL         = time.Hour
	DefaultMetricsInterval  = time.Second
	DefaultTerminateBatch   = 50
)

// withDefaults returns cfg with its zero fields filled in, or an error if it
// cannot run a backend.
func (cfg Config) withDefaults() (Config, error) {
	switch runners := countTrue(len(cfg.Command) > 0, cfg.Handler != nil, cfg.Container != nil); {
	case runners == 0:
		return cfg, errors.New("localplane: Config needs a Command, a Handler or a Container")
	case runners > 1:
		return cfg, errors.New("localplane: Config sets more than one of Command, Handler and Container; set one")
	}
	if cfg.Builder != nil && cfg.Container != nil && cfg.Container.Image != "" {
		return cfg, errors.New("localplane: give a container plane its image in ContainerConfig.Image or through Config.Builder, not both")
	}
	setDefault(&cfg.APIAddr, DefaultAPIAddr)
	setDefault(&cfg.ProxyAddr, DefaultProxyAddr)
	setDefault(&cfg.StartupTimeout, DefaultStartupTimeout)
	setDefault(&cfg.GracePeriod, DefaultGracePeriod)
	setDefault(&cfg.RetainTerminated, DefaultRetainTerminated)
	setDefault(&cfg.ProxyWaitTimeout, DefaultProxyWaitTimeout)
	setDefault(&cfg.TokenTTL, DefaultTokenTTL)
	cfg.MetricsInterval = max(cfg.MetricsInterval, 0)
	cfg.TerminateBatchSize = max(cfg.TerminateBatchSize, 0)
	setDefault(&cfg.MetricsInterval, DefaultMetricsInterval)
	setDefault(&cfg.TerminateBatchSize, DefaultTerminateBatch)
	cfg.WarmPool = max(cfg.WarmPool, 0)
	switch {
	case cfg.WarmPool > maxWarmPool:
		return cfg, fmt.Errorf("localplane: WarmPool must be at most %d", maxWarmPool)
	case cfg.WarmPool > 0 && cfg.Handler != nil:
		return cfg, errors.New("localplane: WarmPool needs a Command or a Container plane; handler backends start at once")
	}
	if cfg.DefaultMaxIdleSeconds < 0 || cfg.DefaultMaxIdleSeconds > maxSeconds {
		return cfg, fmt.Errorf("localplane: DefaultMaxIdleSeconds must be between 0 and %d", maxSeconds)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return cfg, nil
}

// countTrue is how many of conds are true.
func countTrue(conds ...bool) int {
	n := 0
	for _, c := range conds {
		if c {
			n++
		}
	}
	return n
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
