package wire

import (
	"encoding/json"

	"github.com/jamsocket-go/jamsocket/internal/wiretime"
	"github.com/jamsocket-go/jamsocket/types"
)

// The wire of Plane's controller API (/ctrl and /pub) beyond the
// executable, which users configure (types.PlaneExecutorConfig).

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
	ID                   string                     `json:"id,omitempty"`
	Cluster              string                     `json:"cluster,omitempty"`
	Pool                 string                     `json:"pool,omitempty"`
	Executable           *types.PlaneExecutorConfig `json:"executable"`
	LifetimeLimitSeconds int                        `json:"lifetime_limit_seconds,omitempty"`
	MaxIdleSeconds       int                        `json:"max_idle_seconds,omitempty"`
	UseStaticToken       bool                       `json:"use_static_token,omitempty"`
	Subdomain            string                     `json:"subdomain,omitempty"`
}

// PlaneConnectResponse is the answer of POST /ctrl/connect.
type PlaneConnectResponse struct {
	BackendID   string              `json:"backend_id"`
	Spawned     bool                `json:"spawned"`
	Status      types.BackendStatus `json:"status"`
	Token       string              `json:"token"`
	URL         string              `json:"url"`
	Subdomain   *string             `json:"subdomain"`
	SecretToken *string             `json:"secret_token"`
	StatusURL   string              `json:"status_url"`
	Drone       *string             `json:"drone"`
}

// PlaneBackendState is a status entry as Plane writes it: like types.BackendState,
// with the time in epoch milliseconds.
type PlaneBackendState struct {
	Status            types.BackendStatus     `json:"status"`
	Time              wiretime.EpochMillis    `json:"time"`
	TerminationReason types.TerminationReason `json:"termination_reason,omitempty"`
	TerminationKind   types.TerminationKind   `json:"termination_kind,omitempty"`
	ExitError         *bool                   `json:"exit_error,omitempty"`
}
