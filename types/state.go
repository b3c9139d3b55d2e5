package types

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/wiretime"
)

// BackendState is one entry of a backend's status history, as returned by the
// status endpoint and carried by each event of the status stream.
type BackendState struct {
	Status BackendStatus `json:"status"`
	// Time is when the backend entered Status. It decodes from an ISO-8601
	// string (Jamsocket) or from epoch milliseconds (Plane) and encodes as an
	// ISO-8601 string with millisecond precision.
	Time time.Time `json:"time"`
	// TerminationReason is set on terminating, hard-terminating and, usually,
	// terminated states.
	TerminationReason TerminationReason `json:"termination_reason,omitempty"`
	// TerminationKind is set on terminated states (and by Plane on the
	// terminating ones).
	TerminationKind TerminationKind `json:"termination_kind,omitempty"`
	// ExitError is set on terminated states when the exit is known: true if
	// the process exited with a non-zero code.
	ExitError *bool `json:"exit_error,omitempty"`
}

// backendStateWire is BackendState as it travels, with time left raw.
type backendStateWire struct {
	Status            BackendStatus     `json:"status"`
	Time              wiretime.Time     `json:"time"`
	TerminationReason TerminationReason `json:"termination_reason,omitempty"`
	TerminationKind   TerminationKind   `json:"termination_kind,omitempty"`
	ExitError         *bool             `json:"exit_error,omitempty"`
}

// UnmarshalJSON decodes a state from either server's form. A missing status
// is an error; every other field is optional and null is accepted for each.
// It checks the whole of data itself (json.Unmarshal), so it may be handed a
// whole body directly, sparing json.Unmarshal's scan before it.
func (s *BackendState) UnmarshalJSON(data []byte) error {
	// The wire form differs only in its time field, which accepts either
	// form of time by itself.
	var w backendStateWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	if w.Status == "" {
		// Not quoting the data: it may hold anything, secrets included,
		// and the error reaches logs.
		return fmt.Errorf("backend state of %d bytes has no status", len(data))
	}
	*s = BackendState{
		Status:            w.Status,
		Time:              time.Time(w.Time),
		TerminationReason: w.TerminationReason,
		TerminationKind:   w.TerminationKind,
		ExitError:         w.ExitError,
	}
	return nil
}

// MarshalJSON encodes the state in Jamsocket's form (ISO-8601 time).
func (s BackendState) MarshalJSON() ([]byte, error) {
	return json.Marshal(backendStateWire{
		Status:            s.Status,
		Time:              wiretime.Time(s.Time),
		TerminationReason: s.TerminationReason,
		TerminationKind:   s.TerminationKind,
		ExitError:         s.ExitError,
	})
}
