package jamsocket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// driver is one target's dialect: how a portable call becomes that
// target's requests. Every target implements the core below; the account
// API (backend info, lists, logs, metrics, services, auth) is an optional
// capability, accountDriver. Adding a target means adding a driver and
// touching nothing else.
type driver interface {
	// connect spawns a backend or joins the one holding req.Key. req is
	// never nil, and a NoSpawn request has a key.
	connect(ctx context.Context, req *ConnectRequest) (*ConnectResponse, error)
	// statusPath and statusStreamPath are the public status endpoints.
	statusPath(backendID string) string
	statusStreamPath(backendID string) string
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
	logsPath(backendID string) string
	metricsPath(backendID string) string
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
