package jamsocket

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/retry"
)

// driver is one target's dialect: how a portable call becomes that
// target's requests. Every call of the Client, streams included, goes
// through its driver, and every driver sends through one caller (the
// request path, request.go; its event streams, stream.go). Every target
// implements the core below; the account API (backend info, lists, logs,
// metrics, services, auth) is an optional capability, accountDriver. Adding
// a target means adding a driver and touching nothing else.
type driver interface {
	// connect spawns a backend or joins the one holding req.Key, sending
	// the request with the retry class Spawn chose. req is never nil, and a
	// NoSpawn request has a key.
	connect(ctx context.Context, req *ConnectRequest, class retry.Class) (*ConnectResponse, error)
	// status reads a backend's current status, from the public endpoint
	// (no token).
	status(ctx context.Context, backendID string) (*BackendState, error)
	// statusStream is the public status stream, as StatusStream describes
	// it.
	statusStream(ctx context.Context, backendID string) iter.Seq2[*BackendState, error]
	// terminate stops a backend; one that already ended is success.
	terminate(ctx context.Context, backendID string, hard bool) error
	// forgotten reports whether err, the answer to a status read, says
	// that the server does not know the backend now but may have known it:
	// it forgets backends that ended, and its status stream may still
	// replay them. Only the official dev server does (devDriver).
	forgotten(err error) bool
	// name names the target in errors ("the Jamsocket API").
	name() string
	// target names the target in telemetry: "jamsocket", "dev" or "plane".
	target() string
	// describe and describeLog describe the configuration, without
	// secrets, for the Client's String and LogValue.
	describe() []slog.Attr
	describeLog() []slog.Attr
}

// accountDriver is the account API: what a hosted Jamsocket account can
// answer beyond the backend lifecycle.
type accountDriver interface {
	backend(ctx context.Context, backendID string) (*BackendInfo, error)
	listBackends(ctx context.Context) ([]BackendSummary, error)
	// logs and metrics are the streams Logs and Metrics describe.
	logs(ctx context.Context, backendID string) iter.Seq2[LogLine, error]
	metrics(ctx context.Context, backendID string) iter.Seq2[Metrics, error]
	// terminateBackends is one round of TerminateAll.
	terminateBackends(ctx context.Context, before time.Time, hard, dryRun bool) (terminateRound, error)
	checkAuth(ctx context.Context) (*AuthInfo, error)
	createService(ctx context.Context, name string) error
	deleteService(ctx context.Context, name string) error
	service(ctx context.Context, name string) (*ServiceInfo, error)
	listServices(ctx context.Context) ([]string, error)
	images(ctx context.Context, service string) ([]Image, error)
	imageName(ctx context.Context, service string) (string, error)
	updateEnvironment(ctx context.Context, environment, imageTag string) error
}

// terminateRound is the answer of one round of TerminateAll.
type terminateRound struct {
	backendCount, terminatedCount int
	isComplete                    bool
}

// account returns the driver's account API, or, when the target has none,
// the error of every method that needs it: the one place "unsupported" is
// decided.
func (c *Client) account(method string) (accountDriver, error) {
	if d, ok := c.driver.(accountDriver); ok {
		return d, nil
	}
	return nil, fmt.Errorf("jamsocket: %s is not available on %s: %w", method, c.driver.name(), errors.ErrUnsupported)
}
