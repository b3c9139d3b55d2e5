package jamsocket

import "github.com/jamsocket-go/jamsocket/types"

// The wire types, re-exported from package types so that one import serves.
type (
	// ConnectRequest asks for a connection to a backend; see types.ConnectRequest.
	ConnectRequest = types.ConnectRequest
	// SpawnConfig configures a backend a connect spawns; see types.SpawnConfig.
	SpawnConfig = types.SpawnConfig
	// Executable adjusts a backend's process; see types.Executable.
	Executable = types.Executable
	// Mount asks for a persistent volume; see types.Mount.
	Mount = types.Mount
	// ResourceLimits caps a backend's resources; see types.ResourceLimits.
	ResourceLimits = types.ResourceLimits
	// ConnectResponse says how to reach a backend; see types.ConnectResponse.
	ConnectResponse = types.ConnectResponse
	// BrowserConnectResponse is a ConnectResponse without its secret token,
	// in the shape the official browser libraries accept; see
	// types.BrowserConnectResponse and ConnectResponse.ForBrowser.
	BrowserConnectResponse = types.BrowserConnectResponse
	// BackendState is one status of a backend; see types.BackendState.
	BackendState = types.BackendState
	// BackendStatus is a lifecycle status; see types.BackendStatus.
	BackendStatus = types.BackendStatus
	// TerminationReason says why a backend ended; see types.TerminationReason.
	TerminationReason = types.TerminationReason
	// TerminationKind says how a backend was stopped; see types.TerminationKind.
	TerminationKind = types.TerminationKind
)

// The statuses of a backend, in lifecycle order.
const (
	StatusScheduled       = types.StatusScheduled
	StatusLoading         = types.StatusLoading
	StatusStarting        = types.StatusStarting
	StatusWaiting         = types.StatusWaiting
	StatusReady           = types.StatusReady
	StatusTerminating     = types.StatusTerminating
	StatusHardTerminating = types.StatusHardTerminating
	StatusTerminated      = types.StatusTerminated
)

// The termination reasons.
const (
	ReasonSwept          = types.ReasonSwept
	ReasonExternal       = types.ReasonExternal
	ReasonKeyExpired     = types.ReasonKeyExpired
	ReasonLost           = types.ReasonLost
	ReasonStartupTimeout = types.ReasonStartupTimeout
	ReasonInternalError  = types.ReasonInternalError
)

// The termination kinds.
const (
	KindSoft = types.KindSoft
	KindHard = types.KindHard
)

// MountByKey returns the mount of the volume named after the backend's key.
func MountByKey() *Mount { return types.MountByKey() }

// MountPath returns the mount of a volume at a relative path.
func MountPath(path string) *Mount { return types.MountPath(path) }
