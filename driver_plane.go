package jamsocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/retry"
	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/types"
)

// Plane's wire types, re-exported for PlaneConfig.
type (
	// PlaneExecutable is the executable Plane's drone runs; see
	// types.PlaneExecutorConfig.
	PlaneExecutable = types.PlaneExecutorConfig
	// PullPolicy says when Plane pulls an image.
	PullPolicy = types.PullPolicy
	// RegistryAuth holds registry credentials.
	RegistryAuth = types.RegistryAuth
)

// The pull policies.
const (
	PullIfNotPresent = types.PullIfNotPresent
	PullAlways       = types.PullAlways
	PullNever        = types.PullNever
)

// PlaneConfig says which self-hosted Plane controller to talk to and what it
// should run.
type PlaneConfig struct {
	// ControllerURL is the controller's base URL. A user part
	// (https://TOKEN@host) is taken as the bearer token, as Plane's own
	// client does; it is never sent in the URL.
	ControllerURL string
	// Token is the bearer token for /ctrl endpoints; it wins over the URL's
	// user part. Plane checks none itself: a proxy or forward-auth does.
	Token string
	// Executable is what a spawn runs: image (required), pull policy,
	// registry credentials, network, and default env, limits and mount. A
	// spawn's Tag replaces the image's tag, its Env is merged over the
	// default env, and its ResourceLimits and Mount replace the defaults.
	Executable PlaneExecutable
	// Cluster and Pool are the default cluster and drone pool.
	Cluster, Pool string
	// Namespace scopes every key, so that two applications sharing a
	// controller cannot join each other's backends.
	Namespace string
	// MaxIdle is the idle limit of a spawn that sets no MaxIdleSeconds of
	// its own: Plane terminates a backend after this long without a
	// connection. Zero means DefaultPlaneMaxIdleSeconds (300 s, as on the
	// hosted API and the dev server, which Plane does not default to: a
	// spawn without it is never swept); NoMaxIdle sends none. Whole
	// seconds, at least one.
	MaxIdle time.Duration
}

// DefaultPlaneMaxIdleSeconds is the idle limit a Plane spawn gets unless
// PlaneConfig.MaxIdle or the spawn says otherwise.
const DefaultPlaneMaxIdleSeconds = 300

// NoMaxIdle, as PlaneConfig.MaxIdle, sends no idle limit: Plane then keeps
// an idle backend until it is terminated.
const NoMaxIdle time.Duration = -1

// String describes the configuration with its secrets redacted.
func (c PlaneConfig) String() string {
	return fmt.Sprintf("{ControllerURL:%s Token:%s Image:%s Cluster:%s Pool:%s Namespace:%s}",
		redactURL(c.ControllerURL), redactToken(c.Token), c.Executable.Image, c.Cluster, c.Pool, c.Namespace)
}

// GoString is String, so that %#v redacts too.
func (c PlaneConfig) GoString() string { return "jamsocket.PlaneConfig" + c.String() }

// LogValue logs the configuration with its secrets redacted; without it a
// JSON log handler would marshal the token and the registry password.
func (c PlaneConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("controller_url", redactURL(c.ControllerURL)), slog.String("token", redactToken(c.Token)),
		slog.String("image", c.Executable.Image), slog.String("cluster", c.Cluster),
		slog.String("pool", c.Pool), slog.String("namespace", c.Namespace),
	)
}

// The environment variables PlaneConfigFromEnv reads.
const (
	EnvPlaneURL       = "JAMSOCKET_PLANE_URL"
	EnvPlaneToken     = "JAMSOCKET_PLANE_TOKEN"
	EnvPlaneImage     = "JAMSOCKET_PLANE_IMAGE"
	EnvPlaneCluster   = "JAMSOCKET_PLANE_CLUSTER"
	EnvPlanePool      = "JAMSOCKET_PLANE_POOL"
	EnvPlaneNamespace = "JAMSOCKET_PLANE_NAMESPACE"
)

// PlaneConfigFromEnv reads a PlaneConfig from JAMSOCKET_PLANE_URL and
// JAMSOCKET_PLANE_IMAGE (both required) and the optional
// JAMSOCKET_PLANE_TOKEN, _CLUSTER, _POOL and _NAMESPACE.
func PlaneConfigFromEnv() (PlaneConfig, error) { return envPlaneConfig(os.Getenv) }

func envPlaneConfig(getenv func(string) string) (PlaneConfig, error) {
	cfg := PlaneConfig{
		ControllerURL: getenv(EnvPlaneURL),
		Token:         getenv(EnvPlaneToken),
		Executable:    PlaneExecutable{Image: getenv(EnvPlaneImage)},
		Cluster:       getenv(EnvPlaneCluster),
		Pool:          getenv(EnvPlanePool),
		Namespace:     getenv(EnvPlaneNamespace),
	}
	var missing []string
	if cfg.ControllerURL == "" {
		missing = append(missing, EnvPlaneURL)
	}
	if cfg.Executable.Image == "" {
		missing = append(missing, EnvPlaneImage)
	}
	if len(missing) > 0 {
		return PlaneConfig{}, fmt.Errorf("jamsocket: environment lacks %s", strings.Join(missing, ", "))
	}
	return cfg, nil
}

// NewPlane returns a Client for a self-hosted Plane controller. Its methods
// behave as against Jamsocket, translated to Plane's API; those Plane has no
// endpoint for return an error matching errors.ErrUnsupported.
func NewPlane(cfg PlaneConfig, opts ...Option) (*Client, error) {
	if cfg.ControllerURL == "" {
		return nil, errors.New("jamsocket: PlaneConfig is missing ControllerURL")
	}
	if cfg.Executable.Image == "" {
		return nil, errors.New("jamsocket: PlaneConfig is missing Executable.Image")
	}
	if cfg.MaxIdle > 0 && cfg.MaxIdle < time.Second || cfg.MaxIdle > math.MaxInt32*time.Second {
		return nil, fmt.Errorf("jamsocket: PlaneConfig.MaxIdle %v is not between 1s and %d seconds", cfg.MaxIdle, math.MaxInt32)
	}
	u, err := url.Parse(cfg.ControllerURL)
	if err != nil {
		return nil, fmt.Errorf("jamsocket: ControllerURL %q is not a URL", redactURL(cfg.ControllerURL))
	}
	token := cfg.Token
	if token == "" && u.User != nil {
		token = u.User.Username()
	}
	c, err := newCaller(cfg.ControllerURL, token, opts)
	if err != nil {
		return nil, err
	}
	return newClient(c, &planeDriver{c: c, cfg: cfg}), nil
}

// planeDriver translates the Client's calls to Plane's controller API:
// /ctrl/connect, /pub/b/{id}/status[-stream], /ctrl/b/{id}/*-terminate.
// Plane has no account API.
type planeDriver struct {
	c   *caller
	cfg PlaneConfig
}

func (p *planeDriver) name() string { return "a Plane controller" }

func (p *planeDriver) target() string { return "plane" }

func (p *planeDriver) describe() []slog.Attr {
	return []slog.Attr{slog.String("Plane", "true"), slog.String("Image", p.cfg.Executable.Image)}
}

func (p *planeDriver) describeLog() []slog.Attr {
	return []slog.Attr{slog.Bool("plane", true), slog.String("image", p.cfg.Executable.Image)}
}

func (p *planeDriver) connect(ctx context.Context, req *ConnectRequest, class retry.Class) (*ConnectResponse, error) {
	if err := checkPlaneRanges(req.Spawn); err != nil {
		return nil, err
	}
	body := p.connectRequest(req)
	var resp wire.PlaneConnectResponse
	err := p.c.do(ctx, request{method: http.MethodPost, path: pathOf("ctrl", "connect"), body: body, auth: true, class: class}, &resp)
	if err != nil {
		if req.NoSpawn && errors.Is(err, ErrKeyHeld) {
			return nil, fmt.Errorf("%w (Plane keys include the tag: a NoSpawn join must give the holder's Spawn.Tag)", err)
		}
		return nil, err
	}
	if resp.BackendID == "" || resp.Status == "" || resp.Token == "" || resp.URL == "" || resp.StatusURL == "" {
		return nil, &DecodeError{Method: http.MethodPost, Path: "/ctrl/connect", StatusCode: http.StatusOK,
			Err: errors.New("connect response lacks backend_id, status, token, url or status_url")}
	}
	out := &ConnectResponse{
		BackendID: resp.BackendID, Spawned: resp.Spawned, Status: resp.Status,
		Token: resp.Token, URL: resp.URL, StatusURL: resp.StatusURL,
		StatusStreamURL: strings.TrimSuffix(resp.StatusURL, "/status") + "/status-stream",
	}
	if resp.SecretToken != nil {
		out.SecretToken = *resp.SecretToken
	}
	return out, nil
}

// checkPlaneRanges refuses, before sending, the numbers Plane's types
// cannot hold: cpu_period_percent is a u8, cpu_period and cpu_time_limit
// are u64 (Plane's drone ends a backend given a negative one, terminated
// with no reason), the two time limits are i32 (Plane answers a plain-text
// 422).
func checkPlaneRanges(spawn *SpawnConfig) error {
	if spawn == nil {
		return nil
	}
	checks := []RangeError{
		{Field: "LifetimeLimitSeconds", Value: int64(spawn.LifetimeLimitSeconds), Max: math.MaxInt32},
		{Field: "MaxIdleSeconds", Value: int64(spawn.MaxIdleSeconds), Max: math.MaxInt32},
	}
	if e := spawn.Executable; e != nil && e.ResourceLimits != nil {
		limits := e.ResourceLimits
		checks = append(checks,
			RangeError{Field: "ResourceLimits.CPUPeriod", Value: limits.CPUPeriod, Max: math.MaxInt64},
			RangeError{Field: "ResourceLimits.CPUPeriodPercent", Value: limits.CPUPeriodPercent, Max: math.MaxUint8},
			RangeError{Field: "ResourceLimits.CPUTimeLimit", Value: limits.CPUTimeLimit, Max: math.MaxInt64},
		)
	}
	for _, c := range checks {
		if c.Value < c.Min || c.Value > c.Max {
			return &c
		}
	}
	return nil
}

func (p *planeDriver) status(ctx context.Context, backendID string) (*BackendState, error) {
	return p.c.status(ctx, pathOf("pub", "b", backendID, "status"))
}

func (p *planeDriver) statusStream(ctx context.Context, backendID string) iter.Seq2[*BackendState, error] {
	return p.c.statusStream(ctx, pathOf("pub", "b", backendID, "status-stream"))
}

// terminate posts soft- or hard-terminate. Plane answers 200 for a backend
// that already ended, which is what Terminate promises on every target.
func (p *planeDriver) terminate(ctx context.Context, backendID string, hard bool) error {
	action := "soft-terminate"
	if hard {
		action = "hard-terminate"
	}
	return p.c.do(ctx, request{
		method: http.MethodPost, path: pathOf("ctrl", "b", backendID, action),
		body: json.RawMessage("null"), auth: true, class: retry.Idempotent,
	}, nil)
}

// forgotten is false: Plane keeps every backend's record, and its 404 is
// an unknown id.
func (p *planeDriver) forgotten(error) bool { return false }

// maxIdleSeconds is the max_idle_seconds a spawn sends: its own, else the
// configured default, else none.
func (p *planeDriver) maxIdleSeconds(spawn *SpawnConfig) int {
	switch {
	case spawn.MaxIdleSeconds != 0:
		return spawn.MaxIdleSeconds
	case p.cfg.MaxIdle == 0:
		return DefaultPlaneMaxIdleSeconds
	case p.cfg.MaxIdle < 0:
		return 0
	}
	return int(p.cfg.MaxIdle / time.Second)
}

// connectRequest maps a Jamsocket connect onto Plane's: the key gains the
// namespace and the spawn tag, the spawn config gains the executable.
func (p *planeDriver) connectRequest(req *ConnectRequest) wire.PlaneConnectRequest {
	body := wire.PlaneConnectRequest{User: req.User, Auth: req.Auth}
	spawn := req.Spawn
	if spawn == nil {
		spawn = &SpawnConfig{}
	}
	if req.Key != "" {
		body.Key = &wire.PlaneKeyConfig{Name: req.Key, Namespace: p.cfg.Namespace, Tag: spawn.Tag}
	}
	if req.NoSpawn {
		return body
	}
	exe := p.cfg.Executable
	if spawn.Tag != "" {
		exe.Image = withImageTag(exe.Image, spawn.Tag)
	}
	if e := spawn.Executable; e != nil {
		if len(e.Env) > 0 {
			env := make(map[string]string, len(exe.Env)+len(e.Env))
			for k, v := range exe.Env {
				env[k] = v
			}
			for k, v := range e.Env {
				env[k] = v
			}
			exe.Env = env
		}
		if e.ResourceLimits != nil {
			exe.ResourceLimits = e.ResourceLimits
		}
		if e.Mount != nil {
			exe.Mount = e.Mount
		}
	}
	cluster := spawn.Cluster
	if cluster == "" {
		cluster = p.cfg.Cluster
	}
	body.SpawnConfig = &wire.PlaneSpawnConfig{
		Cluster: cluster, Pool: p.cfg.Pool, Executable: &exe,
		LifetimeLimitSeconds: spawn.LifetimeLimitSeconds, MaxIdleSeconds: p.maxIdleSeconds(spawn),
	}
	return body
}

// withImageTag replaces (or adds) the tag of an image reference; a digest
// ("sha256:…") replaces the tag with "@digest".
func withImageTag(image, tag string) string {
	repo := image
	if at := strings.IndexByte(repo, '@'); at >= 0 {
		repo = repo[:at]
	}
	if colon := strings.LastIndexByte(repo, ':'); colon > strings.LastIndexByte(repo, '/') {
		repo = repo[:colon]
	}
	if strings.HasPrefix(tag, "sha256:") {
		return repo + "@" + tag
	}
	return repo + ":" + tag
}
