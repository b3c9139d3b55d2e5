package wire

// ErrorBody is Jamsocket's error response: {"error": {...}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of Jamsocket's error response.
type ErrorDetail struct {
	// Message is a human-readable description.
	Message string `json:"message"`
	// Status is the HTTP status, as a number or a reason phrase depending on
	// the server; kept raw.
	Status any `json:"status,omitempty"`
	// Code names the error, e.g. "BackendNotRunning".
	Code string `json:"code"`
	// ID identifies the error in the server's logs.
	ID string `json:"id,omitempty"`
}

// CodeBackendNotRunning is the Jamsocket error code of a terminate of a
// backend that already ended.
const CodeBackendNotRunning = "BackendNotRunning"

// PlaneError is the error response of Plane's controller.
type PlaneError struct {
	// ID identifies the error in the controller's logs.
	ID string `json:"id"`
	// Kind names the error, e.g. "NotFound" or "KeyHeld".
	Kind string `json:"kind"`
	// Message is a human-readable description.
	Message string `json:"message"`
}

// The error kinds of Plane's controller.
const (
	PlaneKindFailedToAcquireKey     = "FailedToAcquireKey"
	PlaneKindKeyUnheldNoSpawnConfig = "KeyUnheldNoSpawnConfig"
	PlaneKindKeyHeldUnhealthy       = "KeyHeldUnhealthy"
	PlaneKindKeyHeld                = "KeyHeld"
	PlaneKindNoDroneAvailable       = "NoDroneAvailable"
	PlaneKindFailedToRemoveKey      = "FailedToRemoveKey"
	PlaneKindDatabaseError          = "DatabaseError"
	PlaneKindNoClusterProvided      = "NoClusterProvided"
	PlaneKindNotFound               = "NotFound"
	PlaneKindInvalidClusterName     = "InvalidClusterName"
	PlaneKindOther                  = "Other"
)

// TerminateRequest is the body of Jamsocket's terminate endpoint.
type TerminateRequest struct {
	Hard bool `json:"hard"`
}

// StatusOK is the {"status":"ok"} body many endpoints answer with.
type StatusOK struct {
	Status string `json:"status"`
}
