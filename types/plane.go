package types

import "log/slog"

// What a client of a self-hosted Plane configures: the executable Plane's
// drone runs (jamsocket.PlaneConfig.Executable). The rest of Plane's wire is
// internal to the SDK and the local plane.

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
