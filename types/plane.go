package types

import (
	"encoding/json"
	"log/slog"
)

// The wire types of Plane's controller API (/ctrl and /pub), for a client of
// a self-hosted Plane and for servers that speak it.

// PlaneConnectRequest is the body of POST /ctrl/connect.
type PlaneConnectRequest struct {
	// Key names the backend; nil = a random key, so the connect always spawns.
	Key *PlaneKeyConfig `json:"key,omitempty"`
	// SpawnConfig, when nil, forbids spawning.
	SpawnConfig *PlaneSpawnConfig `json:"spawn_config,omitempty"`
	// User reaches the backend as x-verified-username.
	User string `json:"user,omitempty"`
	// Auth reaches the backend as x-verified-user-data. Plane refuses null,
	// so it is always sent as an object ({} when empty).
	Auth map[string]any `json:"auth"`
}

// MarshalJSON sends a nil Auth as {}.
func (r PlaneConnectRequest) MarshalJSON() ([]byte, error) {
	type plain PlaneConnectRequest
	if r.Auth == nil {
		r.Auth = map[string]any{}
	}
	return json.Marshal(plain(r))
}

// PlaneKeyConfig is a key on Plane: a name within a namespace, with a tag that
// must match the holder's for a connect to join it.
type PlaneKeyConfig struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Tag       string `json:"tag"`
}

// PlaneSpawnConfig configures a backend that /ctrl/connect spawns.
type PlaneSpawnConfig struct {
	ID                   string               `json:"id,omitempty"`
	Cluster              string               `json:"cluster,omitempty"`
	Pool                 string               `json:"pool,omitempty"`
	Executable           *PlaneExecutorConfig `json:"executable"`
	LifetimeLimitSeconds int                  `json:"lifetime_limit_seconds,omitempty"`
	MaxIdleSeconds       int                  `json:"max_idle_seconds,omitempty"`
	UseStaticToken       bool                 `json:"use_static_token,omitempty"`
	Subdomain            string               `json:"subdomain,omitempty"`
}

// PlaneExecutorConfig is the executable of Plane's Docker runtime.
type PlaneExecutorConfig struct {
	Image          string            `json:"image"`
	PullPolicy     PullPolicy        `json:"pull_policy,omitempty"`
	Credentials    *RegistryAuth     `json:"credentials,omitempty"`
	Env            map[string]string `json:"env,omitempty"`
	ResourceLimits *ResourceLimits   `json:"resource_limits,omitempty"`
	Mount          *Mount            `json:"mount,omitempty"`
	NetworkName    string            `json:"network_name,omitempty"`
}

// LogValue logs the executable with its registry password redacted;
// without it a JSON log handler would marshal the password.
func (e PlaneExecutorConfig) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("image", e.Image), slog.String("pull_policy", string(e.PullPolicy))}
	if e.Credentials != nil {
		attrs = append(attrs, slog.Any("credentials", *e.Credentials))
	}
	if e.NetworkName != "" {
		attrs = append(attrs, slog.String("network_name", e.NetworkName))
	}
	return slog.GroupValue(attrs...)
}

// PullPolicy says when Plane's drone pulls the image.
type PullPolicy string

// The pull policies.
const (
	PullIfNotPresent PullPolicy = "IfNotPresent"
	PullAlways       PullPolicy = "Always"
	PullNever        PullPolicy = "Never"
)

// RegistryAuth holds credentials for a private image registry. The password
// is a secret: String and LogValue never show it.
type RegistryAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// String shows the username only.
func (a RegistryAuth) String() string {
	return "{Username:" + a.Username + " Password:" + Redacted + "}"
}

// GoString is String, so that %#v redacts too.
func (a RegistryAuth) GoString() string { return "types.RegistryAuth" + a.String() }

// LogValue logs the username only; without it a JSON log handler would
// marshal the password.
func (a RegistryAuth) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", a.Username), slog.String("password", Redacted))
}

// PlaneConnectResponse is the answer of POST /ctrl/connect.
type PlaneConnectResponse struct {
	BackendID   string        `json:"backend_id"`
	Spawned     bool          `json:"spawned"`
	Status      BackendStatus `json:"status"`
	Token       string        `json:"token"`
	URL         string        `json:"url"`
	Subdomain   *string       `json:"subdomain"`
	SecretToken *string       `json:"secret_token"`
	StatusURL   string        `json:"status_url"`
	Drone       *string       `json:"drone"`
}

// PlaneBackendState is a status entry as Plane writes it: like BackendState,
// with the time in epoch milliseconds.
type PlaneBackendState struct {
	Status            BackendStatus     `json:"status"`
	Time              EpochMillis       `json:"time"`
	TerminationReason TerminationReason `json:"termination_reason,omitempty"`
	TerminationKind   TerminationKind   `json:"termination_kind,omitempty"`
	ExitError         *bool             `json:"exit_error,omitempty"`
}
