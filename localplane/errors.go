package localplane

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/jamsocket-go/jamsocket/internal/wire"
)

// Errors of Server.Terminate.
var (
	// ErrNotFound means no backend has the id (or it was forgotten).
	ErrNotFound = errors.New("localplane: backend not found")
	// ErrNotRunning means the backend has already terminated.
	ErrNotRunning = errors.New("localplane: backend is not running")
	// ErrClosed means the server is closed.
	ErrClosed = errors.New("localplane: server closed")
)

// Codes of Jamsocket-shaped errors.
const (
	codeNotFound          = "NotFound"
	codeBadRequest        = "BadRequest"
	codeInvalidJSON       = "InvalidJson"
	codeUnauthorized      = "Unauthorized"
	codeBackendNotRunning = "BackendNotRunning"
	codePayloadTooLarge   = "PayloadTooLarge"
	codeUnavailable       = "ServiceUnavailable"
	codeMethodNotAllowed  = "MethodNotAllowed"
	codeNotReadyToSpawn   = "NotReadyToSpawn"
)

// writeJSON answers with status and v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"encoding failed","code":"Internal"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// jamsocketError answers in Jamsocket's error shape.
func jamsocketError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, wire.ErrorBody{Error: wire.ErrorDetail{
		Message: message, Status: status, Code: code, ID: randomID(14),
	}})
}

// planeError answers in Plane's ApiError shape.
func planeError(w http.ResponseWriter, status int, kind, message string) {
	writeJSON(w, status, wire.PlaneError{ID: randomID(14), Kind: kind, Message: message})
}

// planeBodyError answers a body that could not be decoded the way axum's Json
// extractor does: plain text.
func planeBodyError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(message))
}
