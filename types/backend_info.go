package types

import (
	"encoding/json"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/wiretime"
)

// V2State is one entry of a backend's status history as the authenticated
// endpoints (backend info, backend list) return it. It is BackendState
// except that a terminated state carries the process's exit code instead of
// exit_error, and every state names the status before it.
type V2State struct {
	Status BackendStatus `json:"status"`
	// Time is when the backend entered Status. It decodes from an ISO-8601
	// string or epoch milliseconds, like BackendState.Time.
	Time time.Time `json:"time"`
	// TerminationReason is set on terminating, hard-terminating and, usually,
	// terminated states.
	TerminationReason TerminationReason `json:"termination_reason,omitempty"`
	// TerminationKind is set on terminated states.
	TerminationKind TerminationKind `json:"termination_kind,omitempty"`
	// ExitCode is the process's exit code on terminated states, when known.
	ExitCode *int `json:"exit_code,omitempty"`
	// LastStatus is the status the backend was in before this one (for a
	// terminated state, the last status before termination).
	LastStatus BackendStatus `json:"last_status,omitempty"`
}

// UnmarshalJSON decodes the state, accepting either form of time.
func (s *V2State) UnmarshalJSON(b []byte) error {
	type plain V2State
	w := struct {
		*plain
		Time wiretime.Time `json:"time"`
	}{plain: (*plain)(s)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	s.Time = time.Time(w.Time)
	return nil
}

// MarshalJSON encodes the state as the servers write it: an ISO-8601 time,
// and on a terminated state exit_code even when it is unknown (null).
func (s V2State) MarshalJSON() ([]byte, error) {
	type plain V2State
	w := struct {
		plain
		Time wiretime.Time `json:"time"`
		// ExitCode holds a *int, nil or not, when the field is written.
		ExitCode any `json:"exit_code,omitempty"`
	}{plain: plain(s), Time: wiretime.Time(s.Time)}
	if s.ExitCode != nil || s.Status == StatusTerminated {
		w.ExitCode = s.ExitCode
	}
	return json.Marshal(w)
}

// BackendState returns the state in the public form of the status endpoint:
// ExitError is true when ExitCode is known and not zero.
func (s V2State) BackendState() BackendState {
	st := BackendState{Status: s.Status, Time: s.Time, TerminationReason: s.TerminationReason, TerminationKind: s.TerminationKind}
	if s.ExitCode != nil {
		failed := *s.ExitCode != 0
		st.ExitError = &failed
	}
	return st
}

// BackendInfo describes one backend: the answer of GET /v2/backend/{id}.
type BackendInfo struct {
	ID string `json:"id"`
	// CreatedAt is when the backend was created. It decodes from an ISO-8601
	// string or epoch milliseconds and encodes as ISO-8601.
	CreatedAt   time.Time `json:"created_at"`
	ServiceName string    `json:"service_name"`
	ClusterName string    `json:"cluster_name"`
	AccountName string    `json:"account_name"`
	// Statuses is the backend's whole status history. The Client sorts it by
	// time, oldest first.
	Statuses    []V2State `json:"statuses"`
	ImageDigest string    `json:"image_digest"`
	// Key is the key the backend holds, if any (null on the wire when
	// none).
	Key NullableString `json:"key"`
	// EnvironmentName is the service environment ("default" for the default
	// one), if the server says (null when not).
	EnvironmentName NullableString `json:"environment_name"`
	// MaxMemBytes is the backend's memory limit, if it has one (null when
	// not).
	MaxMemBytes *int64 `json:"max_mem_bytes"`
}

// UnmarshalJSON decodes the info, accepting either form of time.
func (b *BackendInfo) UnmarshalJSON(data []byte) error {
	type plain BackendInfo
	*b = BackendInfo{}
	w := struct {
		*plain
		CreatedAt *wiretime.Time `json:"created_at"`
	}{plain: (*plain)(b), CreatedAt: (*wiretime.Time)(&b.CreatedAt)}
	return json.Unmarshal(data, &w)
}

// MarshalJSON encodes the info as the servers write it (ISO-8601 times).
func (b BackendInfo) MarshalJSON() ([]byte, error) {
	type plain BackendInfo
	return json.Marshal(struct {
		plain
		CreatedAt wiretime.Time `json:"created_at"`
	}{plain: plain(b), CreatedAt: wiretime.Time(b.CreatedAt)})
}

// LastState returns the latest entry of Statuses, or nil if there is none.
func (b *BackendInfo) LastState() *V2State {
	if len(b.Statuses) == 0 {
		return nil
	}
	return &b.Statuses[len(b.Statuses)-1]
}

// BackendSummary is one running backend in the account's list: an item of
// running_backends in the answer of GET /v2/account/{account}/backends
// (Jamsocket's BackendWithStatus).
type BackendSummary struct {
	ID string `json:"id"`
	// CreatedAt is when the backend was created. It decodes from an ISO-8601
	// string or epoch milliseconds and encodes as ISO-8601.
	CreatedAt   time.Time `json:"created_at"`
	ServiceName string    `json:"service_name"`
	ClusterName string    `json:"cluster_name"`
	AccountName string    `json:"account_name"`
	// Status is the backend's latest status, if the server sent it.
	Status *V2State `json:"status,omitempty"`
	// Key is the key the backend holds, if any (absent on the wire when
	// none).
	Key string `json:"key,omitempty"`
}

// UnmarshalJSON decodes the summary, accepting either form of time.
func (b *BackendSummary) UnmarshalJSON(data []byte) error {
	type plain BackendSummary
	*b = BackendSummary{}
	w := struct {
		*plain
		CreatedAt *wiretime.Time `json:"created_at"`
	}{plain: (*plain)(b), CreatedAt: (*wiretime.Time)(&b.CreatedAt)}
	return json.Unmarshal(data, &w)
}

// MarshalJSON encodes the summary as the servers write it (ISO-8601 times).
func (b BackendSummary) MarshalJSON() ([]byte, error) {
	type plain BackendSummary
	return json.Marshal(struct {
		plain
		CreatedAt wiretime.Time `json:"created_at"`
	}{plain: plain(b), CreatedAt: wiretime.Time(b.CreatedAt)})
}

// NullableString is a string that is null on the wire when empty, for the
// fields a server sends as a string or null (a backend's key, its
// environment). Null and absent decode to "".
type NullableString string

// MarshalJSON writes null for "" and the string otherwise.
func (s NullableString) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(s))
}

// String returns the string.
func (s NullableString) String() string { return string(s) }

// Metrics is one sample of a backend's resource use, one event of the
// metrics stream.
type Metrics struct {
	Cluster   string `json:"cluster"`
	BackendID string `json:"backend_id"`
	// MemUsed and MemAvailable are in bytes.
	MemUsed      float64 `json:"mem_used"`
	MemAvailable float64 `json:"mem_available"`
	// CPUUsed is the CPU time the backend used and SysCPU the system's CPU
	// time over the same sample, in the same unit; see CPUPercent.
	CPUUsed float64 `json:"cpu_used"`
	SysCPU  float64 `json:"sys_cpu"`
}

// CPUPercent is the backend's share of the system's CPU time over the
// sample, cpu_used / sys_cpu * 100, as Jamsocket's CLI shows it; 0 when
// SysCPU is 0.
func (m Metrics) CPUPercent() float64 {
	if m.SysCPU == 0 {
		return 0
	}
	return m.CPUUsed / m.SysCPU * 100
}

// LogLine is one line of a backend's output, one event of the logs stream.
type LogLine struct {
	// Text is the line, without its line ending.
	Text string `json:"text"`
	// ID is the server's id for the line (the event's id: field), when it
	// sends one.
	ID string `json:"id,omitempty"`
}

// AuthInfo is the answer of GET /auth: who the token speaks for.
type AuthInfo struct {
	Status string `json:"status"`
	// Accounts are the accounts the token may act on.
	Accounts []string `json:"accounts"`
	// IsAdmin is true for Jamsocket staff tokens.
	IsAdmin bool `json:"is_admin"`
}
