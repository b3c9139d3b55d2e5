package types

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
)

// ConnectRequest asks for a connection to a session backend, spawning one if
// needed. Every field is optional: the zero request spawns a fresh backend
// with no key.
type ConnectRequest struct {
	// Key names the backend: a connect with a key returns the live backend
	// holding it, or spawns one that holds it. Without a key every connect
	// spawns a new backend.
	Key string
	// Spawn configures the backend if one is spawned. Nil means the server's
	// defaults.
	Spawn *SpawnConfig
	// NoSpawn forbids spawning: the connect fails unless a live backend holds
	// Key. It is sent as "spawn": false and wins over Spawn.
	NoSpawn bool
	// User is bound to the returned token and reaches the backend as the
	// x-verified-username header.
	User string
	// Auth is bound to the returned token and reaches the backend, JSON
	// encoded, as the x-verified-user-data header. Nil is left out.
	Auth map[string]any
}

// connectRequestWire is ConnectRequest as it travels. Spawn holds false, a
// *SpawnConfig or nothing, so that the encoder writes it in the same pass
// as the rest of the body.
type connectRequestWire struct {
	Key   string         `json:"key,omitempty"`
	Spawn any            `json:"spawn,omitempty"`
	User  string         `json:"user,omitempty"`
	Auth  map[string]any `json:"auth,omitempty"`
}

// MarshalJSON writes spawn as false (NoSpawn), an object (Spawn) or nothing,
// and auth as an object or nothing, never null.
func (r ConnectRequest) MarshalJSON() ([]byte, error) {
	w := connectRequestWire{Key: r.Key, User: r.User, Auth: r.Auth}
	switch {
	case r.NoSpawn:
		w.Spawn = false
	case r.Spawn != nil:
		w.Spawn = r.Spawn
	}
	// omitempty drops a nil auth and an empty one alike (an empty object
	// means the same to the server as none), so auth is never null.
	return json.Marshal(w)
}

// UnmarshalJSON reads spawn as false, true, null or an object.
func (r *ConnectRequest) UnmarshalJSON(b []byte) error {
	var w struct {
		Key   string         `json:"key"`
		Spawn spawnField     `json:"spawn"`
		User  string         `json:"user"`
		Auth  map[string]any `json:"auth"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = ConnectRequest{Key: w.Key, User: w.User, Auth: w.Auth, NoSpawn: w.Spawn.no, Spawn: w.Spawn.config}
	return nil
}

// spawnField decodes the request's spawn: false forbids spawning, an object
// configures it, true and null mean the server's defaults.
type spawnField struct {
	no     bool
	config *SpawnConfig
}

func (f *spawnField) UnmarshalJSON(b []byte) error {
	spawn := bytes.TrimSpace(b)
	switch {
	case len(spawn) == 0, string(spawn) == "null", string(spawn) == "true":
		*f = spawnField{}
	case string(spawn) == "false":
		*f = spawnField{no: true}
	case spawn[0] == '{':
		*f = spawnField{config: new(SpawnConfig)}
		if err := json.Unmarshal(spawn, f.config); err != nil {
			return fmt.Errorf("spawn: %w", err)
		}
	default:
		return fmt.Errorf("spawn must be a boolean or an object, not %.40s", spawn)
	}
	return nil
}

// SpawnConfig configures a backend that a connect spawns.
type SpawnConfig struct {
	// Tag selects the most recent image with this tag (or an image digest).
	Tag string `json:"tag,omitempty"`
	// Cluster selects the cluster, for accounts with several.
	Cluster string `json:"cluster,omitempty"`
	// LifetimeLimitSeconds caps the backend's total run time; 0 = not set.
	LifetimeLimitSeconds int `json:"lifetime_limit_seconds,omitempty"`
	// MaxIdleSeconds terminates the backend after this long with no inbound
	// connection; 0 = not set.
	MaxIdleSeconds int `json:"max_idle_seconds,omitempty"`
	// Executable adjusts the process: environment, volume, resource limits.
	Executable *Executable `json:"executable,omitempty"`
}

// Executable adjusts the backend's process.
type Executable struct {
	// Mount asks for a persistent volume; nil = none.
	Mount *Mount `json:"mount,omitempty"`
	// Env holds extra environment variables. Reserved names (PORT,
	// SESSION_BACKEND_*, JAMSOCKET_SERVICE) are refused by the server.
	Env map[string]string `json:"env,omitempty"`
	// ResourceLimits caps CPU, memory and disk; nil = none.
	ResourceLimits *ResourceLimits `json:"resource_limits,omitempty"`
}

// Mount is a persistent volume request: on the wire true (a volume named after
// the backend's key) or a relative path. Build one with MountByKey or
// MountPath.
type Mount struct {
	// ByKey mounts the volume named after the key (the wire's true).
	ByKey bool
	// Path mounts this relative path (the wire's string). It wins over ByKey.
	Path string
}

// MountByKey returns the mount of the volume named after the backend's key.
func MountByKey() *Mount { return &Mount{ByKey: true} }

// MountPath returns the mount of a volume at a path relative to the server's
// mount base.
func MountPath(path string) *Mount { return &Mount{Path: path} }

// MarshalJSON writes a path string or a boolean.
func (m Mount) MarshalJSON() ([]byte, error) {
	if m.Path != "" {
		return json.Marshal(m.Path)
	}
	return json.Marshal(m.ByKey)
}

// UnmarshalJSON reads a path string or a boolean.
func (m *Mount) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*m = Mount{ByKey: v}
	case string:
		*m = Mount{Path: v}
	case nil:
		*m = Mount{}
	default:
		return fmt.Errorf("mount must be a boolean or a path, not %.40s", b)
	}
	return nil
}

// ResourceLimits caps a backend's resources. Zero fields are not set.
type ResourceLimits struct {
	// CPUPeriod is the CFS period in microseconds (server default 100000).
	CPUPeriod int64 `json:"cpu_period,omitempty"`
	// CPUPeriodPercent is the share of each period the backend may use; 100
	// is one full CPU.
	CPUPeriodPercent int64 `json:"cpu_period_percent,omitempty"`
	// CPUTimeLimit is the total CPU time in seconds (a cpu ulimit).
	CPUTimeLimit int64 `json:"cpu_time_limit,omitempty"`
	// MemoryLimitBytes caps memory.
	MemoryLimitBytes int64 `json:"memory_limit_bytes,omitempty"`
	// DiskLimitBytes caps disk.
	DiskLimitBytes int64 `json:"disk_limit_bytes,omitempty"`
}

// ConnectResponse is the answer to a connect: which backend, and how a client
// reaches it. Token, SecretToken and URL are secrets; the String and LogValue
// methods redact them.
type ConnectResponse struct {
	// BackendID names the backend.
	BackendID string `json:"backend_id"`
	// Spawned is true if this connect created the backend.
	Spawned bool `json:"spawned"`
	// Status is the backend's status when the server answered.
	Status BackendStatus `json:"status"`
	// Token is the connection token, also embedded in URL.
	Token string `json:"token"`
	// URL is the connection URL a browser uses to reach the backend.
	URL string `json:"url"`
	// SecretToken reaches the backend as x-verified-secret; empty with static
	// tokens (null on the wire).
	SecretToken string `json:"secret_token"`
	// StatusURL is the backend's public status endpoint. Its stream is
	// StatusStreamURL (on Jamsocket StatusURL + "/stream", not on Plane).
	StatusURL string `json:"status_url"`
	// ReadyURL is a page that waits for the backend and then redirects to
	// URL; may be empty.
	ReadyURL string `json:"ready_url"`
	// StatusStreamURL is the backend's public status stream (server-sent
	// events), right for the target the response came from, for code of
	// your own (the official browser libraries do not read it: they open
	// StatusURL + "/stream", which Plane does not serve). No server sends
	// it: the jamsocket Client fills it in (StatusURL + "/stream" on
	// Jamsocket, the status-stream sibling on Plane), so it is not part of
	// the JSON.
	StatusStreamURL string `json:"-"`
}

// connectResponseWire is ConnectResponse as the servers write it: an empty
// secret token is null.
type connectResponseWire struct {
	BackendID   string        `json:"backend_id"`
	Spawned     bool          `json:"spawned"`
	Status      BackendStatus `json:"status"`
	Token       string        `json:"token"`
	URL         string        `json:"url"`
	SecretToken *string       `json:"secret_token"`
	StatusURL   string        `json:"status_url"`
	ReadyURL    string        `json:"ready_url"`
}

// UnmarshalJSON requires the fields every server sends (backend_id, token,
// url, status, status_url) and accepts null for secret_token and ready_url.
// It checks the whole of data itself (json.Unmarshal), so it may be handed a
// whole body directly, sparing json.Unmarshal's scan before it.
func (r *ConnectResponse) UnmarshalJSON(data []byte) error {
	// Straight into r: a method-less copy of the type has the same fields
	// and tags, and null leaves a string empty.
	type plain ConnectResponse
	*r = ConnectResponse{}
	if err := json.Unmarshal(data, (*plain)(r)); err != nil {
		return err
	}
	if r.BackendID != "" && r.Status != "" && r.Token != "" && r.URL != "" && r.StatusURL != "" {
		return nil
	}
	var missing []string
	for _, f := range [...]struct{ name, value string }{
		{"backend_id", r.BackendID}, {"status", string(r.Status)}, {"token", r.Token},
		{"url", r.URL}, {"status_url", r.StatusURL},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	*r = ConnectResponse{}
	return fmt.Errorf("connect response lacks %v", missing)
}

// MarshalJSON writes the response as the servers do (an empty SecretToken
// as null).
func (r ConnectResponse) MarshalJSON() ([]byte, error) {
	w := connectResponseWire{
		BackendID: r.BackendID, Spawned: r.Spawned, Status: r.Status,
		Token: r.Token, URL: r.URL, StatusURL: r.StatusURL, ReadyURL: r.ReadyURL,
	}
	if r.SecretToken != "" {
		w.SecretToken = &r.SecretToken
	}
	return json.Marshal(w)
}

// Redacted is what String and LogValue show in place of a secret.
const Redacted = "[redacted]"

// String describes the response with its secrets redacted, so that %v and
// %+v never print a token.
func (r ConnectResponse) String() string {
	return fmt.Sprintf("{BackendID:%s Spawned:%t Status:%s Token:%s URL:%s SecretToken:%s StatusURL:%s ReadyURL:%s}",
		r.BackendID, r.Spawned, r.Status, Redacted, Redacted, Redacted, r.StatusURL, redactIfSet(r.ReadyURL))
}

// GoString is String, so that %#v redacts too.
func (r ConnectResponse) GoString() string { return "types.ConnectResponse" + r.String() }

// LogValue logs the response with its secrets redacted.
func (r ConnectResponse) LogValue() slog.Value {
	return slog.GroupValue(append(r.ForBrowser().logAttrs(),
		slog.String("secret_token", Redacted),
		slog.String("ready_url", redactIfSet(r.ReadyURL)),
	)...)
}

// redactIfSet hides a URL that may embed a token (the ready URL does).
func redactIfSet(s string) string {
	if s == "" {
		return ""
	}
	return Redacted
}

// BrowserConnectResponse is a ConnectResponse without its secret token:
// what a backend handler hands the browser (ConnectResponse.ForBrowser).
// Its JSON is the shape the official browser libraries (@jamsocket/client,
// @jamsocket/react, @jamsocket/socketio) accept: their isConnectResponse
// wants backend_id, spawned, status, token, url and status_url. They read
// url (to connect) and status_url (the status, and status_url + "/stream"
// for the stream). Token and URL are the browser's own secrets: String and
// LogValue redact them.
type BrowserConnectResponse struct {
	// BackendID names the backend.
	BackendID string `json:"backend_id"`
	// Spawned is true if the connect created the backend.
	Spawned bool `json:"spawned"`
	// Status is the backend's status when the server answered (a handler
	// that waited for ready may set the status it saw).
	Status BackendStatus `json:"status"`
	// Token is the connection token, also embedded in URL.
	Token string `json:"token"`
	// URL is the connection URL.
	URL string `json:"url"`
	// StatusURL is the backend's public status endpoint.
	StatusURL string `json:"status_url"`
}

// ForBrowser returns the response without its secret token (which only the
// session backend should see, as x-verified-secret), ready to be encoded
// for the browser.
func (r ConnectResponse) ForBrowser() BrowserConnectResponse {
	return BrowserConnectResponse{
		BackendID: r.BackendID, Spawned: r.Spawned, Status: r.Status,
		Token: r.Token, URL: r.URL, StatusURL: r.StatusURL,
	}
}

// String describes the response with its token and URL redacted.
func (r BrowserConnectResponse) String() string {
	return fmt.Sprintf("{BackendID:%s Spawned:%t Status:%s Token:%s URL:%s StatusURL:%s}",
		r.BackendID, r.Spawned, r.Status, Redacted, Redacted, r.StatusURL)
}

// GoString is String, so that %#v redacts too.
func (r BrowserConnectResponse) GoString() string { return "types.BrowserConnectResponse" + r.String() }

// LogValue logs the response with its token and URL redacted.
func (r BrowserConnectResponse) LogValue() slog.Value { return slog.GroupValue(r.logAttrs()...) }

// logAttrs are LogValue's attributes, which ConnectResponse's extend.
func (r BrowserConnectResponse) logAttrs() []slog.Attr {
	return []slog.Attr{
		slog.String("backend_id", r.BackendID),
		slog.Bool("spawned", r.Spawned),
		slog.String("status", string(r.Status)),
		slog.String("token", Redacted),
		slog.String("url", Redacted),
		slog.String("status_url", r.StatusURL),
	}
}
