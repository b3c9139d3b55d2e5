package types

import "cmp"

// BackendStatus is the lifecycle status of a session backend, as the wire
// spells it. Statuses only move forward, in the order of the constants below,
// though any of them may be skipped. A status this package does not know is
// kept as its string.
type BackendStatus string

// The statuses of a backend, in lifecycle order.
const (
	StatusScheduled       BackendStatus = "scheduled"
	StatusLoading         BackendStatus = "loading"
	StatusStarting        BackendStatus = "starting"
	StatusWaiting         BackendStatus = "waiting"
	StatusReady           BackendStatus = "ready"
	StatusTerminating     BackendStatus = "terminating"
	StatusHardTerminating BackendStatus = "hard-terminating"
	StatusTerminated      BackendStatus = "terminated"
)

// statusRank is Plane's numeric order of the statuses; 0 means unknown.
var statusRank = map[BackendStatus]int{
	StatusScheduled:       10,
	StatusLoading:         20,
	StatusStarting:        30,
	StatusWaiting:         40,
	StatusReady:           50,
	StatusTerminating:     60,
	StatusHardTerminating: 65,
	StatusTerminated:      70,
}

// Rank is the status's place in the lifecycle: Plane's number for it (10 for
// scheduled up to 70 for terminated), or 0 for a status this package does not
// know.
func (s BackendStatus) Rank() int { return statusRank[s] }

// IsKnown reports whether s is one of the statuses defined by this package.
func (s BackendStatus) IsKnown() bool { return s.Rank() != 0 }

// IsTerminal reports whether s is terminated, the only status a backend never
// leaves.
func (s BackendStatus) IsTerminal() bool { return s == StatusTerminated }

// IsEnding reports whether the backend is on its way out or gone: terminating,
// hard-terminating or terminated. An ending backend will never become ready.
func (s BackendStatus) IsEnding() bool { return s.Rank() >= StatusTerminating.Rank() }

// Compare orders two statuses by lifecycle: -1 if s comes before other, 0 if
// they rank the same, +1 if s comes after. Unknown statuses rank first.
func (s BackendStatus) Compare(other BackendStatus) int {
	return cmp.Compare(s.Rank(), other.Rank())
}

// String returns the wire spelling.
func (s BackendStatus) String() string { return string(s) }
