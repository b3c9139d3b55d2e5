package types

import (
	"encoding/json"
	"strings"
)

// TerminationReason says why a backend was terminated. The wire spelling is
// lowercase without underscores; older Jamsocket builds wrote "key_expired",
// "startup_timeout" and "internal_error", which decode to the same constants.
// A reason this package does not know is kept as its string.
type TerminationReason string

// The termination reasons.
const (
	ReasonSwept          TerminationReason = "swept"          // idle or lifetime limit reached
	ReasonExternal       TerminationReason = "external"       // a terminate API call
	ReasonKeyExpired     TerminationReason = "keyexpired"     // the drone lost its key lease
	ReasonLost           TerminationReason = "lost"           // the drone no longer knew the backend
	ReasonStartupTimeout TerminationReason = "startuptimeout" // not ready within the startup timeout
	ReasonInternalError  TerminationReason = "internalerror"  // failure while waiting for the backend
)

// ParseTerminationReason returns the canonical reason for s, accepting both
// wire spellings. An unknown reason is returned unchanged.
func ParseTerminationReason(s string) TerminationReason {
	switch r := TerminationReason(strings.ReplaceAll(s, "_", "")); r {
	case ReasonSwept, ReasonExternal, ReasonKeyExpired, ReasonLost, ReasonStartupTimeout, ReasonInternalError:
		return r
	}
	return TerminationReason(s)
}

// UnmarshalJSON accepts both spellings of each reason.
func (r *TerminationReason) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*r = ParseTerminationReason(s)
	return nil
}

// String returns the wire spelling.
func (r TerminationReason) String() string { return string(r) }

// TerminationKind says how a backend was asked to stop.
type TerminationKind string

// The termination kinds.
const (
	KindSoft TerminationKind = "soft" // SIGTERM, then a kill after a grace period
	KindHard TerminationKind = "hard" // an immediate kill
)

// String returns the wire spelling.
func (k TerminationKind) String() string { return string(k) }
