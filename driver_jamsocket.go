package jamsocket

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"log/slog"
	"net/http"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/retry"
	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/internal/wiretime"
)

// jamsocketDriver speaks Jamsocket's v2 API: the hosted API, the official
// dev server and the local plane. It has the account API too.
type jamsocketDriver struct {
	c   *caller
	cfg Config
	// connectPath is the service's connect endpoint, made once.
	connectPath string
}

func newJamsocketDriver(c *caller, cfg Config) *jamsocketDriver {
	segments := []string{"v2", "service", cfg.Account, cfg.Service}
	if cfg.Environment != "" {
		segments = append(segments, cfg.Environment)
	}
	return &jamsocketDriver{c: c, cfg: cfg, connectPath: pathOf(append(segments, "connect")...)}
}

func (d *jamsocketDriver) name() string { return "the Jamsocket API" }

func (d *jamsocketDriver) target() string { return "jamsocket" }

func (d *jamsocketDriver) describe() []slog.Attr {
	return []slog.Attr{slog.String("Account", d.cfg.Account), slog.String("Service", d.cfg.Service)}
}

func (d *jamsocketDriver) describeLog() []slog.Attr {
	return []slog.Attr{slog.String("account", d.cfg.Account), slog.String("service", d.cfg.Service)}
}

func (d *jamsocketDriver) connect(ctx context.Context, req *ConnectRequest, class retry.Class) (*ConnectResponse, error) {
	var resp ConnectResponse
	err := d.c.do(ctx, request{
		method: http.MethodPost, path: d.connectPath,
		body: req, auth: true, class: class,
	}, &resp)
	if err != nil {
		return nil, err
	}
	resp.StatusStreamURL = resp.StatusURL + "/stream"
	return &resp, nil
}

func (d *jamsocketDriver) status(ctx context.Context, backendID string) (*BackendState, error) {
	return d.c.status(ctx, pathOf("v2", "backend", backendID, "status"))
}

func (d *jamsocketDriver) statusStream(ctx context.Context, backendID string) iter.Seq2[*BackendState, error] {
	return d.c.statusStream(ctx, pathOf("v2", "backend", backendID, "status", "stream"))
}

func (d *jamsocketDriver) terminate(ctx context.Context, backendID string, hard bool) error {
	err := d.c.do(ctx, request{
		method: http.MethodPost, path: pathOf("v2", "backend", backendID, "terminate"),
		body: wire.TerminateRequest{Hard: hard}, auth: true, class: retry.Idempotent,
	}, nil)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Code == wire.CodeBackendNotRunning {
		// Already ended: what was asked for is so, whether on the first
		// attempt or on a retry after the first one acted.
		return nil
	}
	return err
}

// forgotten is false: the hosted API and the local plane forget no
// backend, and their 404 is an unknown id.
func (d *jamsocketDriver) forgotten(error) bool { return false }

func (d *jamsocketDriver) backend(ctx context.Context, backendID string) (*BackendInfo, error) {
	path := pathOf("v2", "backend", backendID)
	var info BackendInfo
	if err := d.c.do(ctx, request{method: http.MethodGet, path: path, auth: true, class: retry.Idempotent}, &info); err != nil {
		return nil, err
	}
	if info.ID == "" {
		return nil, invalid(http.MethodGet, path, "backend info has no id")
	}
	return &info, nil
}

func (d *jamsocketDriver) listBackends(ctx context.Context) ([]BackendSummary, error) {
	return getList[BackendSummary](ctx, d.c, pathOf("v2", "account", d.cfg.Account, "backends"), "running_backends")
}

func (d *jamsocketDriver) logs(ctx context.Context, backendID string) iter.Seq2[LogLine, error] {
	return func(yield func(LogLine, error) bool) {
		dedupe := &logDeduper{}
		s := eventStream[LogLine]{
			name:      "Logs",
			path:      pathOf("v2", "backend", backendID, "logs", "stream"),
			auth:      true,
			decode:    dedupe.decode,
			isLast:    func(LogLine) bool { return false },
			complete:  d.backendGone(backendID),
			onConnect: dedupe.reconnected,
		}
		s.run(ctx, d.c, yield)
	}
}

func (d *jamsocketDriver) metrics(ctx context.Context, backendID string) iter.Seq2[Metrics, error] {
	return func(yield func(Metrics, error) bool) {
		s := eventStream[Metrics]{
			name:     "Metrics",
			path:     pathOf("v2", "backend", backendID, "metrics", "stream"),
			auth:     true,
			decode:   decodeMetrics,
			isLast:   func(Metrics) bool { return false },
			complete: d.backendGone(backendID),
		}
		s.run(ctx, d.c, yield)
	}
}

// backendGone returns the completion check of the log and metrics streams:
// after a clean end of connection, the stream is over if the backend is
// terminated or no longer known.
func (d *jamsocketDriver) backendGone(backendID string) func(context.Context) bool {
	return func(ctx context.Context) bool {
		state, err := d.status(ctx, backendID)
		if err != nil {
			return errors.Is(err, ErrNotFound)
		}
		return state.Status.IsTerminal()
	}
}

func (d *jamsocketDriver) terminateBackends(ctx context.Context, before time.Time, hard, dryRun bool) (terminateRound, error) {
	path := pathOf("service", d.cfg.Account, d.cfg.Service, "terminate-backends")
	body := wire.TerminateBackendsRequest{Before: wiretime.Time(before), Hard: hard, DryRun: dryRun}
	var round struct {
		wire.TerminateBackendsResponse
		IsComplete *bool `json:"is_complete"`
	}
	if err := d.c.do(ctx, request{method: http.MethodPost, path: path, body: body, auth: true, class: retry.Idempotent}, &round); err != nil {
		return terminateRound{}, err
	}
	if round.IsComplete == nil {
		return terminateRound{}, invalid(http.MethodPost, path, "no is_complete")
	}
	return terminateRound{backendCount: round.BackendCount, terminatedCount: round.TerminatedCount,
		isComplete: *round.IsComplete}, nil
}

func (d *jamsocketDriver) checkAuth(ctx context.Context) (*AuthInfo, error) {
	const path = "/auth"
	var body struct {
		AuthInfo
		Accounts *[]string `json:"accounts"`
	}
	if err := d.c.do(ctx, request{method: http.MethodGet, path: path, auth: true, class: retry.Idempotent}, &body); err != nil {
		return nil, err
	}
	if body.Accounts == nil {
		return nil, invalid(http.MethodGet, path, "no accounts")
	}
	info := body.AuthInfo
	info.Accounts = *body.Accounts
	return &info, nil
}

func (d *jamsocketDriver) createService(ctx context.Context, name string) error {
	return d.c.do(ctx, request{
		method: http.MethodPost, path: pathOf("v2", "account", d.cfg.Account, "service"),
		body: wire.CreateServiceRequest{Name: name}, auth: true, class: retry.Create,
	}, nil)
}

func (d *jamsocketDriver) deleteService(ctx context.Context, name string) error {
	return d.c.do(ctx, request{
		method: http.MethodPost, path: pathOf("v2", "service", d.cfg.Account, name, "delete"),
		auth: true, class: retry.Create,
	}, nil)
}

func (d *jamsocketDriver) service(ctx context.Context, name string) (*ServiceInfo, error) {
	path := pathOf("v2", "service", d.cfg.Account, d.serviceName(name))
	var info ServiceInfo
	if err := d.c.do(ctx, request{method: http.MethodGet, path: path, auth: true, class: retry.Idempotent}, &info); err != nil {
		return nil, err
	}
	if info.Name == "" {
		return nil, invalid(http.MethodGet, path, "service info has no name")
	}
	return &info, nil
}

func (d *jamsocketDriver) listServices(ctx context.Context) ([]string, error) {
	return getList[string](ctx, d.c, pathOf("v2", "account", d.cfg.Account, "services"), "services")
}

func (d *jamsocketDriver) images(ctx context.Context, service string) ([]Image, error) {
	return getList[Image](ctx, d.c, pathOf("v2", "service", d.cfg.Account, d.serviceName(service), "images"), "images")
}

func (d *jamsocketDriver) imageName(ctx context.Context, service string) (string, error) {
	path := pathOf("service", d.cfg.Account, d.serviceName(service), "image-name")
	var res wire.ImageNameResponse
	if err := d.c.do(ctx, request{method: http.MethodGet, path: path, auth: true, class: retry.Idempotent}, &res); err != nil {
		return "", err
	}
	if res.ImageName == "" {
		return "", invalid(http.MethodGet, path, "no imageName")
	}
	return res.ImageName, nil
}

func (d *jamsocketDriver) updateEnvironment(ctx context.Context, environment, imageTag string) error {
	segments := []string{"v2", "service", d.cfg.Account, d.cfg.Service}
	if environment != "" {
		segments = append(segments, environment)
	}
	return d.c.do(ctx, request{
		method: http.MethodPost, path: pathOf(append(segments, "update")...),
		body: wire.UpdateEnvironmentRequest{ImageTag: imageTag}, auth: true, class: retry.Idempotent,
	}, nil)
}

// serviceName is name, or the configured service when name is empty.
func (d *jamsocketDriver) serviceName(name string) string {
	if name == "" {
		return d.cfg.Service
	}
	return name
}

// getList GETs path and returns the list its answer holds under field. An
// answer without the field is not the promised one: an empty list is [].
func getList[T any](ctx context.Context, c *caller, path, field string) ([]T, error) {
	var body map[string]json.RawMessage
	if err := c.do(ctx, request{method: http.MethodGet, path: path, auth: true, class: retry.Idempotent}, &body); err != nil {
		return nil, err
	}
	raw, ok := body[field]
	if !ok || string(raw) == "null" {
		return nil, invalid(http.MethodGet, path, "no "+field)
	}
	var list []T
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, &DecodeError{Method: http.MethodGet, Path: path, StatusCode: http.StatusOK, Err: err}
	}
	return list, nil
}
