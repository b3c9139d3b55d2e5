package sessionbackend

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
)

// The headers the platform's proxy sets on every request it passes to a
// backend, after removing any the client sent (Plane's proxy; Jamsocket's
// is Plane's).
const (
	// HeaderUser is the connect's user.
	HeaderUser = "X-Verified-Username"
	// HeaderUserData is the connect's auth, as JSON ({} when it had none).
	HeaderUserData = "X-Verified-User-Data"
	// HeaderSecret is the secret token of the connection token used.
	HeaderSecret = "X-Verified-Secret"
	// HeaderBackend is the backend's id.
	HeaderBackend = "X-Verified-Backend"
	// HeaderPath is the request's original path, token included.
	HeaderPath = "X-Verified-Path"
)

// Identity is who a request comes from, as the platform's proxy verified
// it: the user and auth of the connect that minted the connection token the
// request came with.
type Identity struct {
	// User is the connect's user; empty when it named none.
	User string
	// UserData is the connect's auth as JSON, unchecked; nil when the header
	// is absent (static tokens carry none). UserData decodes it.
	UserData json.RawMessage
	// Secret is the connection token's secret (empty with a static token).
	// Identity's String and LogValue leave it out.
	Secret string
	// BackendID is the backend the proxy routed the request to.
	BackendID string
	// Path is the original path, connection token included.
	Path string
}

// IdentityOf reads the verified headers of r.
func IdentityOf(r *http.Request) Identity {
	id := Identity{
		User:      r.Header.Get(HeaderUser),
		Secret:    r.Header.Get(HeaderSecret),
		BackendID: r.Header.Get(HeaderBackend),
		Path:      r.Header.Get(HeaderPath),
	}
	if values := r.Header.Values(HeaderUserData); len(values) > 0 {
		id.UserData = json.RawMessage(values[0])
	}
	return id
}

// String shows the identity without the secret, the user data or the path
// (which holds the connection token).
func (id Identity) String() string {
	return fmt.Sprintf("user=%q backend=%q user_data=%dB secret=%t", id.User, id.BackendID, len(id.UserData), id.Secret != "")
}

// GoString is String, so that %#v leaks no secret either.
func (id Identity) GoString() string { return "sessionbackend.Identity{" + id.String() + "}" }

// LogValue logs what String shows.
func (id Identity) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", id.User), slog.String("backend", id.BackendID),
		slog.Int("user_data_bytes", len(id.UserData)), slog.Bool("secret", id.Secret != ""))
}

// ErrNoUserData: the request has no x-verified-user-data header (it did
// not come through the proxy, or with a static token).
var ErrNoUserData = errors.New("sessionbackend: the request has no " + HeaderUserData)

// UserDataError is user data that does not decode into the type asked for.
// Its text names the position or the field, never the data.
type UserDataError struct {
	// Type is the Go type asked for.
	Type string
	// Offset is where the JSON is broken, for data that is not JSON.
	Offset int64
	// Field is the field whose value has the wrong type, if that is the
	// trouble; empty otherwise.
	Field string
	Err   error
}

func (e *UserDataError) Error() string {
	msg := "sessionbackend: " + HeaderUserData + " does not decode into " + e.Type
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(e.Err, &syntax):
		return fmt.Sprintf("%s: not JSON (error at byte %d)", msg, e.Offset)
	case errors.As(e.Err, &typeErr):
		return fmt.Sprintf("%s: field %q is a JSON %s, not %s", msg, e.Field, typeErr.Value, typeErr.Type)
	}
	return msg
}

func (e *UserDataError) Unwrap() error { return e.Err }

// UserData decodes the request's user data (the connect's auth) into a T.
// It fails with ErrNoUserData when the header is absent, and with a
// *UserDataError when the data does not decode.
func UserData[T any](r *http.Request) (T, error) {
	var v T
	data := IdentityOf(r).UserData
	if data == nil {
		return v, ErrNoUserData
	}
	if err := json.Unmarshal(data, &v); err != nil {
		e := &UserDataError{Type: reflect.TypeFor[T]().String(), Err: err}
		var syntax *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &syntax) {
			e.Offset = syntax.Offset
		}
		if errors.As(err, &typeErr) {
			e.Field = typeErr.Field
		}
		var zero T // not the half-decoded value
		return zero, e
	}
	return v, nil
}
