// Package jamsocket is a Go client for session backends: the processes that
// Jamsocket, and Plane under it, spawn one per user session or document.
//
// # The story
//
// A backend handler configures a Client once, then for each session asks
// for a backend, waits until it is ready, hands its connection URL to the
// browser, and terminates it when done:
//
//	client, err := jamsocket.New(jamsocket.Config{Account: "acme", Token: token, Service: "editor"})
//	// or jamsocket.FromEnv(), or jamsocket.Config{Dev: true} for a local dev server
//
//	conn, err := client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-42", User: "alice"})
//	ready, err := client.WaitReady(ctx, conn.BackendID)
//	// give conn.URL (it embeds a secret token) and conn.StatusURL to the browser
//	err = client.Terminate(ctx, conn.BackendID, nil)
//
// With a Key, Spawn is get-or-create: the backend holding the key is
// returned, or one is spawned to hold it. Status reads the current status;
// StatusStream follows every change as an iter.Seq2, reconnecting on its own.
//
// The rest of the API follows the same shape: Backend and ListBackends
// describe backends, Logs and Metrics stream them (iter.Seq2, reconnecting
// like StatusStream), TerminateAll stops a service's backends, CheckAuth
// checks the token, and CreateService, Service, ListServices, Images and
// UpdateEnvironment manage services. Service and Images take a service name,
// and an empty name means the Client's configured Service; UpdateEnvironment
// always addresses the configured Service (make a Client per service to
// update several); CreateService and DeleteService require the name, so that
// a missing argument cannot create or delete the wrong service.
//
// # Targets
//
// The same Client speaks to Jamsocket's hosted API (New), a local dev server
// or the local plane of package localplane (Config.Dev), and a self-hosted
// Plane controller (NewPlane). Inside, each target is a driver behind one
// unexported interface, in the manner of database/sql: the Client's methods,
// streams included, ask the driver and never which target they are on,
// every driver sends through one request path (retries, error mapping,
// redaction, logging, streams), and an operation a target lacks (the
// account API on Plane) is the driver's answer, an error matching
// errors.ErrUnsupported.
//
// # Testing
//
// Package jamsockettest starts a real local plane inside a test and hands back
// a Client for it, so code that uses this package is tested against the real
// protocol rather than a mock.
//
// # Errors
//
// A non-2xx response is an *APIError; errors.Is matches ErrNotFound,
// ErrUnauthorized, ErrRateLimited and ErrConflict by status, and the
// semantic ErrKeyNotHeld (a NoSpawn connect to a free key) and ErrKeyHeld
// (a key held under another tag) the same way on every target, whichever
// dialect's status and code carried them. A success response with a body
// that is not the promised JSON is a *DecodeError (ErrInvalidResponse).
// WaitReady returns a *BackendTerminatedError (ErrBackendTerminated) when the
// backend ends before it is ready, and a *WaitError, which unwraps to the
// cause, for every other failure. A stream that gives up yields a
// *StreamError (an event over 1 MiB: ErrEventTooLarge). Terminate of a
// backend that already ended is success. A context that ends always wins:
// its error is what the call returns, wrapped.
//
// # Retries
//
// Requests are retried, with jittered exponential backoff and Retry-After
// honoured up to RetryPolicy.MaxWait, on connection errors, 429, 502, 503 and
// 504 — when repeating them cannot do harm. Reads, Terminate and a Spawn with
// a Key are safe to repeat. A Spawn without a key creates a backend each time,
// so it is repeated only when the request provably never reached the server
// (the connection was refused) or was refused with 429: a retry never spawns a
// second backend. Streams treat a quiet connection (200, then silence or a
// clean end) as healthy and keep following while the context lives; only
// failed connections count towards StreamPolicy.MaxReconnects. A zero field of
// RetryPolicy or StreamPolicy means its default, and a negative one turns the
// thing off: MaxRetries: -1 never retries, MaxReconnects: -1 gives up at the
// first failed connection.
//
// # Secrets
//
// The API token is sent only to endpoints that need it (never to the public
// status endpoints), and never appears in an error, a log line, or the %v of
// a Config or Client. A ConnectResponse's token, secret token and URL are
// redacted when printed or logged. New refuses to send a token over plain
// http:// to a host that is not loopback unless WithInsecureHTTP is given.
//
// # Tracing and metrics
//
// Each operation is an OpenTelemetry span (jamsocket.Spawn, …), with an event
// per retry, reconnect and status WaitReady passed through, and the Client
// records operation durations, retries, reconnects and spawn-to-ready times
// (telemetry.go). It uses the global providers unless WithTracerProvider or
// WithMeterProvider says otherwise, and requests carry the W3C trace context.
// No attribute holds a token, a URL, the user or auth; the key is recorded
// unless WithTelemetryKey(false).
package jamsocket
