package jamsocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/jamsocket-go/jamsocket/internal/retry"
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
}

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
func PlaneConfigFromEnv() (PlaneConfig, error) { return planeConfigFromEnv(os.Getenv) }

func planeConfigFromEnv(getenv func(string) string) (PlaneConfig, error) {
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
	u, err := url.Parse(cfg.ControllerURL)
	if err != nil {
		return nil, fmt.Errorf("jamsocket: ControllerURL %q is not a URL", redactURL(cfg.ControllerURL))
	}
	token := cfg.Token
	if token == "" && u.User != nil {
		token = u.User.Username()
	}
	c, err := newClient(Config{}, cfg.ControllerURL, token, opts)
	if err != nil {
		return nil, err
	}
	c.plane = &planeTarget{cfg: cfg}
	return c, nil
}

// planeTarget translates the Client's calls to Plane's controller API.
type planeTarget struct {
	cfg PlaneConfig
}

func (p *planeTarget) spawn(ctx context.Context, c *Client, req *ConnectRequest) (*ConnectResponse, error) {
	wire := p.connectRequest(req)
	class := retry.Create
	if wire.Key != nil {
		class = retry.Idempotent
	}
	var resp types.PlaneConnectResponse
	err := c.do(ctx, request{method: http.MethodPost, path: pathOf("ctrl", "connect"), body: wire, auth: true, class: class}, &resp)
	if err != nil {
		return nil, err
	}
	if resp.BackendID == "" || resp.Status == "" || resp.Token == "" || resp.URL == "" || resp.StatusURL == "" {
		return nil, &DecodeError{Method: http.MethodPost, Path: "/ctrl/connect", StatusCode: http.StatusOK,
			Err: errors.New("connect response lacks backend_id, status, token, url or status_url")}
	}
	out := &ConnectResponse{
		BackendID: resp.BackendID, Spawned: resp.Spawned, Status: resp.Status,
		Token: resp.Token, URL: resp.URL, StatusURL: resp.StatusURL,
	}
	if resp.SecretToken != nil {
		out.SecretToken = *resp.SecretToken
	}
	return out, nil
}

// connectRequest maps a Jamsocket connect onto Plane's: the key gains the
// namespace and the spawn tag, the spawn config gains the executable.
func (p *planeTarget) connectRequest(req *ConnectRequest) types.PlaneConnectRequest {
	wire := types.PlaneConnectRequest{User: req.User, Auth: req.Auth}
	spawn := req.Spawn
	if spawn == nil {
		spawn = &SpawnConfig{}
	}
	if req.Key != "" {
		wire.Key = &types.PlaneKeyConfig{Name: req.Key, Namespace: p.cfg.Namespace, Tag: spawn.Tag}
	}
	if req.NoSpawn {
		return wire
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
	wire.SpawnConfig = &types.PlaneSpawnConfig{
		Cluster: cluster, Pool: p.cfg.Pool, Executable: &exe,
		LifetimeLimitSeconds: spawn.LifetimeLimitSeconds, MaxIdleSeconds: spawn.MaxIdleSeconds,
	}
	return wire
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

func (p *planeTarget) terminate(ctx context.Context, c *Client, backendID string, hard bool) error {
	action := "soft-terminate"
	if hard {
		action = "hard-terminate"
	}
	return c.do(ctx, request{
		method: http.MethodPost, path: pathOf("ctrl", "b", backendID, action),
		body: json.RawMessage("null"), auth: true, class: retry.Idempotent,
	}, nil)
}

// unsupportedOnPlane is the error of a method Plane has no endpoint for.
func unsupportedOnPlane(method string) error {
	return fmt.Errorf("jamsocket: %s is not available on a Plane controller: %w", method, errors.ErrUnsupported)
}
