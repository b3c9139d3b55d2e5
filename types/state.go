package types

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
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

// ISOTimeLayout is the layout of times on Jamsocket's wire, that of
// JavaScript's Date.toISOString.
const ISOTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// backendStateWire is BackendState as it travels, with time left raw.
type backendStateWire struct {
	Status            BackendStatus     `json:"status"`
	Time              WireTime          `json:"time"`
	TerminationReason TerminationReason `json:"termination_reason,omitempty"`
	TerminationKind   TerminationKind   `json:"termination_kind,omitempty"`
	ExitError         *bool             `json:"exit_error,omitempty"`
}

// UnmarshalJSON decodes a state from either server's form. A missing status
// is an error; every other field is optional and null is accepted for each.
func (s *BackendState) UnmarshalJSON(b []byte) error { return s.DecodeJSON(b) }

// DecodeJSON decodes a whole JSON document into s as UnmarshalJSON does.
// Use it on a whole response body: json.Unmarshal would scan the body, then
// hand it to UnmarshalJSON, which scans it again.
func (s *BackendState) DecodeJSON(data []byte) error {
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
		Time:              WireTime(s.Time),
		TerminationReason: s.TerminationReason,
		TerminationKind:   s.TerminationKind,
		ExitError:         s.ExitError,
	})
}

// WireTime is a time that decodes from an ISO-8601 string or from a number of
// milliseconds since the Unix epoch, and encodes as an ISO-8601 string in UTC
// with millisecond precision. Null or absent decodes to the zero time.
type WireTime time.Time

// UnmarshalJSON accepts a string or a number.
func (t *WireTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*t = WireTime{}
		return nil
	case b[0] == '"':
		// The decoder hands over a valid JSON string; only one with
		// escapes needs unquoting.
		s := string(b[1 : len(b)-1])
		if bytes.IndexByte(b, '\\') >= 0 {
			if err := json.Unmarshal(b, &s); err != nil {
				return err
			}
		}
		parsed, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("time %q is not ISO-8601: %w", s, err)
		}
		if err := checkYear(parsed); err != nil {
			return err
		}
		*t = WireTime(parsed)
		return nil
	default:
		ms, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return fmt.Errorf("time %.40s is neither a string nor epoch milliseconds", b)
		}
		// Beyond ±2^62 ms the conversion to int64 is undefined; checkYear
		// refuses far less than that anyway.
		if ms > 1<<62 || ms < -(1<<62) {
			return fmt.Errorf("time %.40s is out of range", b)
		}
		parsed := time.UnixMilli(int64(ms)).UTC()
		if err := checkYear(parsed); err != nil {
			return err
		}
		*t = WireTime(parsed)
		return nil
	}
}

// checkYear refuses a time that MarshalJSON could not write back as
// ISO-8601: its year in UTC must have four digits.
func checkYear(t time.Time) error {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("time %s is out of range (years 0000 to 9999)", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// MarshalJSON encodes the time as an ISO-8601 string in UTC.
func (t WireTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).UTC().Format(ISOTimeLayout))
}

// EpochMillis is a time that encodes as milliseconds since the Unix epoch, the
// form Plane writes. It decodes from either form, like WireTime.
type EpochMillis time.Time

// MarshalJSON encodes the time as an integer of milliseconds.
func (t EpochMillis) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, time.Time(t).UnixMilli(), 10), nil
}

// UnmarshalJSON accepts a string or a number.
func (t *EpochMillis) UnmarshalJSON(b []byte) error {
	return (*WireTime)(t).UnmarshalJSON(b)
}
