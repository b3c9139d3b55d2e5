package jamsocket

import (
	"context"
	"errors"
	"net/http"

	"github.com/jamsocket-go/jamsocket/internal/retry"
	"github.com/jamsocket-go/jamsocket/types"
)

// The wire types of the service endpoints, re-exported from package types.
type (
	// ServiceInfo describes a service; see types.ServiceInfo.
	ServiceInfo = types.ServiceInfo
	// ServiceEnvironment is one environment of a service; see
	// types.ServiceEnvironment.
	ServiceEnvironment = types.ServiceEnvironment
	// Image is one image pushed for a service; see types.Image.
	Image = types.Image
)

// Which service the service methods address: Service and Images take a
// name, and an empty name means the Client's configured Service;
// UpdateEnvironment always addresses the configured Service (make a Client
// per service to update several). CreateService and DeleteService never
// default: they require the name, so that a missing argument cannot create
// or delete the wrong service.

// CreateService creates a service in the Client's account. Creating a
// service that exists is an error (an *APIError, usually ErrConflict).
// Because of that, CreateService is retried only when the request provably
// never reached the server or was refused with 429: a retry after the
// server acted would turn a success into an "already exists" error.
func (c *Client) CreateService(ctx context.Context, name string) error {
	if c.plane != nil {
		return unsupportedOnPlane("CreateService")
	}
	if name == "" {
		return errors.New("jamsocket: CreateService needs a service name")
	}
	return c.do(ctx, request{
		method: http.MethodPost, path: pathOf("v2", "account", c.cfg.Account, "service"),
		body: types.CreateServiceRequest{Name: name}, auth: true, class: retry.Create,
	}, nil)
}

// DeleteService deletes a service of the Client's account. Like
// CreateService it is retried only when the server cannot have acted, since
// a repeat after success would report ErrNotFound.
func (c *Client) DeleteService(ctx context.Context, name string) error {
	if c.plane != nil {
		return unsupportedOnPlane("DeleteService")
	}
	if name == "" {
		return errors.New("jamsocket: DeleteService needs a service name")
	}
	return c.do(ctx, request{
		method: http.MethodPost, path: pathOf("v2", "service", c.cfg.Account, name, "delete"),
		auth: true, class: retry.Create,
	}, nil)
}

// Service returns a service's details and environments; name "" means the
// Client's configured service.
func (c *Client) Service(ctx context.Context, name string) (*ServiceInfo, error) {
	if c.plane != nil {
		return nil, unsupportedOnPlane("Service")
	}
	path := pathOf("v2", "service", c.cfg.Account, c.serviceName(name))
	var info ServiceInfo
	if err := c.do(ctx, request{method: http.MethodGet, path: path, auth: true, class: retry.Idempotent}, &info); err != nil {
		return nil, err
	}
	if info.Name == "" {
		return nil, invalid(http.MethodGet, path, "service info has no name")
	}
	return &info, nil
}

// ListServices returns the names of the account's services.
func (c *Client) ListServices(ctx context.Context) ([]string, error) {
	if c.plane != nil {
		return nil, unsupportedOnPlane("ListServices")
	}
	return getList[string](ctx, c, pathOf("v2", "account", c.cfg.Account, "services"), "services")
}

// Images returns the images pushed for a service; service "" means the
// Client's configured service.
func (c *Client) Images(ctx context.Context, service string) ([]Image, error) {
	if c.plane != nil {
		return nil, unsupportedOnPlane("Images")
	}
	return getList[Image](ctx, c, pathOf("v2", "service", c.cfg.Account, c.serviceName(service), "images"), "images")
}

// ImageName returns the registry repository that images of a service are
// pushed to (GET /service/{account}/{service}/image-name), e.g.
// "registry.jamsocket.com/acme/editor"; service "" means the Client's
// configured service. The registry takes the account as user name and the
// API token as password.
func (c *Client) ImageName(ctx context.Context, service string) (string, error) {
	if c.plane != nil {
		return "", unsupportedOnPlane("ImageName")
	}
	path := pathOf("service", c.cfg.Account, c.serviceName(service), "image-name")
	var res types.ImageNameResponse
	if err := c.do(ctx, request{method: http.MethodGet, path: path, auth: true, class: retry.Idempotent}, &res); err != nil {
		return "", err
	}
	if res.ImageName == "" {
		return "", invalid(http.MethodGet, path, "no imageName")
	}
	return res.ImageName, nil
}

// UpdateEnvironment points an environment of the Client's service at an
// image tag or digest; backends spawned afterwards run it. environment ""
// is the service's default environment. Setting the same tag twice changes
// nothing, so it is retried like a read.
func (c *Client) UpdateEnvironment(ctx context.Context, environment, imageTag string) error {
	if c.plane != nil {
		return unsupportedOnPlane("UpdateEnvironment")
	}
	if imageTag == "" {
		return errors.New("jamsocket: UpdateEnvironment needs an image tag or digest")
	}
	segments := []string{"v2", "service", c.cfg.Account, c.cfg.Service}
	if environment != "" {
		segments = append(segments, environment)
	}
	return c.do(ctx, request{
		method: http.MethodPost, path: pathOf(append(segments, "update")...),
		body: types.UpdateEnvironmentRequest{ImageTag: imageTag}, auth: true, class: retry.Idempotent,
	}, nil)
}

// serviceName is name, or the Client's service when name is empty.
func (c *Client) serviceName(name string) string {
	if name == "" {
		return c.cfg.Service
	}
	return name
}
