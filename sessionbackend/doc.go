// Package sessionbackend is for the other half of a Jamsocket app: the
// session backend itself, the server each spawn starts. It is the Go
// counterpart of the official @jamsocket/session-backend package, and adds
// what a Go backend otherwise writes by hand: the caller's verified
// identity, a listener on the right port, and a graceful drain on SIGTERM.
//
// # The order of a backend's start
//
//	sb := sessionbackend.New()              // PORT, SESSION_BACKEND_*, the control socket
//	ln, err := sb.Listen(ctx)               // listen first: the platform may send requests once Ready
//	a, err := sb.Assignment(ctx)            // which backend and key this is
//	app := newRoom(a.Key)                   // per-key initialisation
//	err = a.Ready()                         // now route requests here
//	err = sb.Serve(ctx, ln, app)            // until SIGTERM, then drain
//
// # Warm pools
//
// A platform with warm pools starts backends before anyone asks for one and
// hands a connect one of them. Such a backend starts without a key: it
// learns its assignment over a control socket. Without that socket (a plain
// spawn, the official dev server, Plane) Assignment answers at once from
// the environment and Ready does nothing, so the same program runs both
// ways.
//
// The socket is found, in this order, at the path in $JAMSOCKET_CONTROL_SOCKET
// (a backend that is a process of the host: the platform names a socket of
// its own per backend), then at /jamsocket-control/jamsocket-sdk.sock (a
// container: the path the official package uses). The protocol, for a
// platform implementing the other end:
//
//   - The platform listens on a unix stream socket before it starts the
//     backend, and gives each backend its own socket, so the connection says
//     which backend it is.
//   - The backend connects and sends {"message":"Warmed"} and a newline: it is
//     started and may be assigned. The platform sends, when a connect takes
//     this backend, one line {"message":{"BackendAssignment":{"backend_id":
//     "…","key":"…","fencing_token":N|null,"static_token":"…"|null,"env":
//     {"NAME":"value"}}}}; the backend merges env over its own environment
//     (a null value removes the name). Once it serves HTTP on PORT the
//     backend sends {"message":"Ready"}.
//   - Lines are JSON, at most 1 MiB; other well-formed lines are ignored by
//     both ends. A line that is not JSON, or an assignment without a string
//     backend_id or with fields of the wrong type, ends the wait with a
//     *ControlError.
//   - The backend keeps the connection open while it runs. A connection
//     that ends before the assignment means the backend gave up waiting (its
//     context ended); if it calls Assignment again it connects again and
//     sends Warmed again.
//
// # Requests
//
// Every request that reaches a backend came through the platform's proxy,
// which strips any x-verified-* header the client sent and sets its own:
// IdentityOf reads them, UserData decodes the connect's auth into a type of
// yours. The connection URL's token is the authorization, so a backend
// accepts WebSockets from any origin (the browser page's origin is the
// app's, never the backend's).
package sessionbackend
