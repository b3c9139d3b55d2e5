package localplane

import (
	"errors"
	"net/http"
	"strings"

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

// Errors of the core's connect (beside ErrClosed, errNotReadyToSpawn and
// a bad spawn configuration's), each answered on both surfaces as
// connectErrors says.
var (
	errKeyUnheld = errors.New("no backend holds the key and spawning is not allowed")
	errKeyHeld   = errors.New("the key is held by a backend with another tag")
	errIDTaken   = errors.New("a backend with this id already exists")
	errTooMany   = errors.New("the local plane runs as many backends as it may; terminate some first")
	// errTokensFull refuses a token beyond a backend's bounds: a live
	// token is never dropped to make room.
	errTokensFull = errors.New("the backend holds as many connection tokens as it may (1,024, or 1 MiB of user and auth); " +
		"connect again once some expire (Config.TokenTTL), or spawn another backend")
)

// refusal is how one surface answers an error: a status, Jamsocket's code
// or Plane's kind, and a message, in which "{err}" stands for the error's
// own text.
type refusal struct {
	status  int
	code    string
	message string
}

// noDrone is Plane's message for a connect that cannot spawn now, as its
// controller answers one that finds no drone (controller/connect.rs
// connect_error_to_response), with why the local plane cannot.
const noDrone = "No active drone available. (local plane: {err})"

// connectErrors is the one table from the core's connect errors to the
// answers of both surfaces. An error it does not list is a bad request
// (badConnect).
var connectErrors = []struct {
	err              error
	jamsocket, plane refusal
}{
	{errTokensFull,
		refusal{http.StatusServiceUnavailable, codeUnavailable, "{err}"},
		refusal{http.StatusServiceUnavailable, wire.PlaneKindOther, "{err}"}},
	{errKeyUnheld,
		refusal{http.StatusNotFound, codeNotFound, "no running backend holds this key and spawn is false"},
		refusal{http.StatusConflict, wire.PlaneKindKeyUnheldNoSpawnConfig, "Key is not held and no spawn config was provided"}},
	{errKeyHeld, // a tag: Plane only
		badConnect.jamsocket,
		refusal{http.StatusConflict, wire.PlaneKindKeyHeld, "Key is held by a backend with a different tag"}},
	{errIDTaken, // a requested id: Plane only
		badConnect.jamsocket,
		refusal{http.StatusConflict, wire.PlaneKindOther, "A backend with this id already exists"}},
	{ErrClosed,
		refusal{http.StatusServiceUnavailable, codeUnavailable, "the local plane is shutting down"},
		refusal{http.StatusInternalServerError, wire.PlaneKindNoDroneAvailable, strings.ReplaceAll(noDrone, "{err}", "the local plane is shutting down")}},
	{errTooMany,
		refusal{http.StatusServiceUnavailable, codeUnavailable, "{err}"},
		refusal{http.StatusInternalServerError, wire.PlaneKindNoDroneAvailable, noDrone}},
	{errNotReadyToSpawn,
		refusal{http.StatusServiceUnavailable, codeNotReadyToSpawn, "{err}"},
		refusal{http.StatusInternalServerError, wire.PlaneKindNoDroneAvailable, noDrone}},
}

// badConnect answers every other connect error: the request was wrong.
var badConnect = struct{ jamsocket, plane refusal }{
	refusal{http.StatusBadRequest, codeBadRequest, "{err}"},
	refusal{http.StatusBadRequest, wire.PlaneKindOther, "{err}"},
}

// connectRefusals are the answers of both surfaces to a connect error.
func connectRefusals(err error) (jamsocket, plane refusal) {
	for _, row := range connectErrors {
		if errors.Is(err, row.err) {
			return row.jamsocket, row.plane
		}
	}
	return badConnect.jamsocket, badConnect.plane
}

// text is the refusal's message for err.
func (r refusal) text(err error) string {
	return strings.ReplaceAll(r.message, "{err}", err.Error())
}

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
