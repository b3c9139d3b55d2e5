package jamsocket

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/wire"
)

// Sentinel errors, matched with errors.Is against the errors the Client
// returns.
var (
	// ErrNotFound: the backend, service or route does not exist (404).
	ErrNotFound = errors.New("jamsocket: not found")
	// ErrUnauthorized: the token is missing, invalid or not allowed (401,
	// 403, 407).
	ErrUnauthorized = errors.New("jamsocket: unauthorized")
	// ErrRateLimited: too many requests (429), after any retries.
	ErrRateLimited = errors.New("jamsocket: rate limited")
	// ErrConflict: the request conflicts with the backend's state (409), for
	// example a key held by another tag, or spawn forbidden for a free key.
	ErrConflict = errors.New("jamsocket: conflict")
	// ErrBackendTerminated: the backend ended before the awaited status.
	ErrBackendTerminated = errors.New("jamsocket: backend terminated")
	// ErrInvalidResponse: a success response whose body is not what the API
	// promises.
	ErrInvalidResponse = errors.New("jamsocket: invalid response")
	// ErrKeyNotHeld: a connect with NoSpawn found no live backend holding
	// the key, on every target (Jamsocket's 404, Plane's 409
	// KeyUnheldNoSpawnConfig, the dev server's pass-through of it).
	ErrKeyNotHeld = errors.New("jamsocket: no backend holds the key")
	// ErrKeyHeld: the key is held by a backend spawned with another tag
	// (Plane's 409 KeyHeld; Plane keys include the tag, so a NoSpawn join
	// must give the holder's tag).
	ErrKeyHeld = errors.New("jamsocket: the key is held by a backend with another tag")
	// ErrEventTooLarge: a stream sent an event whose data lines together
	// exceed the limit (1 MiB). The stream ends with a *StreamError wrapping
	// it, since what follows cannot be trusted to be a new event.
	ErrEventTooLarge = errors.New("jamsocket: stream event too large")
	// ErrRedirected: the server answered with a redirect, which the Client
	// refuses (a *RedirectError): the APIs never send one.
	ErrRedirected = errors.New("jamsocket: redirect refused")
)

// APIError is a response with a non-2xx status. It is built from the error
// body of either server (Jamsocket's {"error":{...}}, Plane's {id, kind,
// message}) or, when the body is not JSON, from its text.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code names the error: Jamsocket's error code or Plane's kind, e.g.
	// "BackendNotRunning", "KeyHeld", "NotFound". Empty when the body had none.
	Code string
	// Message is the server's description, or the body's text.
	Message string
	// RequestID is the server's id for the error, for its logs.
	RequestID string
	// RetryAfter is the wait the server asked for, if any.
	RetryAfter time.Duration
	// Method and Path locate the failed request (the path holds no secret).
	Method, Path string
	// NoSpawn is set on the answer to a Spawn with ConnectRequest.NoSpawn:
	// there, a 404 (Jamsocket's dialect) or a 409 without a code (the
	// official dev server passing Plane's through as text) means that no
	// backend holds the key.
	NoSpawn bool
}

// Error reads like "jamsocket: POST /v2/…/connect: 409 KeyHeld: message (id: x)".
func (e *APIError) Error() string {
	msg := fmt.Sprintf("jamsocket: %s %s: %d", e.Method, e.Path, e.StatusCode)
	if text := http.StatusText(e.StatusCode); text != "" && e.Code == "" {
		msg += " " + text
	}
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.RequestID != "" {
		msg += " (id: " + e.RequestID + ")"
	}
	return msg
}

// Is matches the sentinel errors by status code, and the semantic ones by
// what the fields say, in either dialect: ErrKeyHeld by the code KeyHeld,
// ErrKeyNotHeld by Plane's code KeyUnheldNoSpawnConfig or by a NoSpawn
// answer that says the same in Jamsocket's dialect. So an *APIError built by
// hand (in a fake, say) matches exactly as one the Client returns.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrKeyHeld:
		return e.Code == wire.PlaneKindKeyHeld
	case ErrKeyNotHeld:
		return e.Code == wire.PlaneKindKeyUnheldNoSpawnConfig || e.NoSpawn &&
			(e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusConflict && e.Code == "")
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden ||
			e.StatusCode == http.StatusProxyAuthRequired
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	}
	return false
}

// DecodeError is a success response whose body is not the JSON the API
// promises. It matches ErrInvalidResponse.
type DecodeError struct {
	Method, Path string
	StatusCode   int
	// Err says what did not decode.
	Err error
}

// Error says which response did not decode, and why.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("jamsocket: %s %s: %d response is not the expected JSON: %v", e.Method, e.Path, e.StatusCode, e.Err)
}

// Unwrap returns the decoding error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Is matches ErrInvalidResponse.
func (e *DecodeError) Is(target error) bool { return target == ErrInvalidResponse }

// BackendTerminatedError says that a backend ended (terminating,
// hard-terminating or terminated) before it became ready. It matches
// ErrBackendTerminated.
type BackendTerminatedError struct {
	BackendID string
	// State is the ending status that was seen.
	State *BackendState
}

// Error names the backend and the ending status it reached.
func (e *BackendTerminatedError) Error() string {
	if e.State == nil {
		return fmt.Sprintf("jamsocket: backend %s ended and will not become ready", e.BackendID)
	}
	msg := fmt.Sprintf("jamsocket: backend %s is %s", e.BackendID, e.State.Status)
	if e.State.TerminationReason != "" {
		msg += " (" + string(e.State.TerminationReason) + ")"
	}
	return msg + " and will not become ready"
}

// Is matches ErrBackendTerminated.
func (e *BackendTerminatedError) Is(target error) bool { return target == ErrBackendTerminated }

// WaitError says that waiting for a backend stopped before an answer: the
// context ended, or the status could no longer be read. It unwraps to the
// cause, so errors.Is(err, context.DeadlineExceeded) works.
type WaitError struct {
	BackendID string
	// LastState is the last status seen, or nil if none was.
	LastState *BackendState
	// Err is the cause.
	Err error
}

// Error names the backend, the last status seen and the cause.
func (e *WaitError) Error() string {
	last := "none"
	if e.LastState != nil {
		last = string(e.LastState.Status)
	}
	return fmt.Sprintf("jamsocket: waiting for backend %s to be ready (last status: %s): %v", e.BackendID, last, e.Err)
}

// Unwrap returns the cause.
func (e *WaitError) Unwrap() error { return e.Err }

// StreamError says that a stream was given up: it kept dropping without
// delivering anything new, or the server refused it. It unwraps to the last
// failure.
type StreamError struct {
	// Path is the stream's path.
	Path string
	// Attempts is how many connections were tried in a row without progress.
	Attempts int
	// Err is the last failure.
	Err error
}

// Error names the stream, the attempts made and the last failure.
func (e *StreamError) Error() string {
	return fmt.Sprintf("jamsocket: stream %s given up after %d attempt(s): %v", e.Path, e.Attempts, e.Err)
}

// Unwrap returns the last failure.
func (e *StreamError) Unwrap() error { return e.Err }

// RangeError is a number in a spawn that Plane's types cannot hold, refused
// by the Plane driver before anything is sent.
type RangeError struct {
	// Field names the SpawnConfig field, e.g. "ResourceLimits.CPUPeriod".
	Field string
	// Value is what was asked for; Min and Max bound what the target takes.
	Value, Min, Max int64
}

// Error names the field, its value and the range Plane takes.
func (e *RangeError) Error() string {
	return fmt.Sprintf("jamsocket: %s %d is outside Plane's range %d-%d", e.Field, e.Value, e.Min, e.Max)
}

// RedirectError is a redirect the Client refused. The Jamsocket and Plane
// APIs never send one; following it would resend the API token and the
// request's body to wherever it points, perhaps over plain http. Nothing
// was sent there. It matches ErrRedirected; it is not retried.
type RedirectError struct {
	// Method and Path locate the request that was redirected.
	Method, Path string
	// StatusCode is the redirect's status (301, 302, 303, 307 or 308).
	StatusCode int
	// Location is where it pointed, without user part, query or fragment.
	Location string
}

// Error names the request, the redirect's status and its target.
func (e *RedirectError) Error() string {
	return fmt.Sprintf("jamsocket: %s %s: refused a %d redirect to %s (the API never redirects; the token and body were not resent)",
		e.Method, e.Path, e.StatusCode, e.Location)
}

// Is matches ErrRedirected.
func (e *RedirectError) Is(target error) bool { return target == ErrRedirected }
