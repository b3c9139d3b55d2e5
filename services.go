package jamsocket

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/trace"

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

// CreateService creates a service in the Client's account. Creating a
// service that exists is an error (an *APIError, usually ErrConflict).
// Because of that, CreateService is retried only when the request provably
// never reached the server or was refused with 429: a retry after the
// server acted would turn a success into an "already exists" error.
func (c *Client) CreateService(ctx context.Context, name string) (err error) {
	ctx, op := c.begin(ctx, "jamsocket.CreateService", trace.SpanKindClient)
	defer func() { op.end(ctx, err) }()
	op.setService(name)
	d, err := c.account("CreateService")
	if err != nil {
		return err
	}
	if name == "" {
		return errors.New("jamsocket: CreateService needs a service name")
	}
	return d.createService(ctx, name)
}

// DeleteService deletes a service of the Client's account. Like
// CreateService it is retried only when the server cannot have acted, since
// a repeat after success would report ErrNotFound.
func (c *Client) DeleteService(ctx context.Context, name string) (err error) {
	ctx, op := c.begin(ctx, "jamsocket.DeleteService", trace.SpanKindClient)
	defer func() { op.end(ctx, err) }()
	op.setService(name)
	d, err := c.account("DeleteService")
	if err != nil {
		return err
	}
	if name == "" {
		return errors.New("jamsocket: DeleteService needs a service name")
	}
	return d.deleteService(ctx, name)
}

// Service returns a service's details and environments; name "" means the
// Client's configured service.
func (c *Client) Service(ctx context.Context, name string) (_ *ServiceInfo, err error) {
	ctx, op := c.begin(ctx, "jamsocket.Service", trace.SpanKindClient)
	defer func() { op.end(ctx, err) }()
	op.setService(name)
	d, err := c.account("Service")
	if err != nil {
		return nil, err
	}
	return d.service(ctx, name)
}

// ListServices returns the names of the account's services.
func (c *Client) ListServices(ctx context.Context) (_ []string, err error) {
	ctx, op := c.begin(ctx, "jamsocket.ListServices", trace.SpanKindClient)
	defer func() { op.end(ctx, err) }()
	d, err := c.account("ListServices")
	if err != nil {
		return nil, err
	}
	return d.listServices(ctx)
}

// Images returns the images pushed for a service; service "" means the
// Client's configured service.
func (c *Client) Images(ctx context.Context, service string) (_ []Image, err error) {
	ctx, op := c.begin(ctx, "jamsocket.Images", trace.SpanKindClient)
	defer func() { op.end(ctx, err) }()
	op.setService(service)
	d, err := c.account("Images")
	if err != nil {
		return nil, err
	}
	return d.images(ctx, service)
}

// ImageName returns the registry repository that images of a service are
// pushed to (GET /service/{account}/{service}/image-name), e.g.
// "registry.jamsocket.com/acme/editor"; service "" means the Client's
// configured service. The registry takes the account as user name and the
// API token as password.
func (c *Client) ImageName(ctx context.Context, service string) (_ string, err error) {
	ctx, op := c.begin(ctx, "jamsocket.ImageName", trace.SpanKindClient)
	defer func() { op.end(ctx, err) }()
	op.setService(service)
	d, err := c.account("ImageName")
	if err != nil {
		return "", err
	}
	return d.imageName(ctx, service)
}

// UpdateEnvironment points an environment of the Client's service at an
// image tag or digest; backends spawned afterwards run it. environment ""
// is the service's default environment. Setting the same tag twice changes
// nothing, so it is retried like a read.
func (c *Client) UpdateEnvironment(ctx context.Context, environment, imageTag string) (err error) {
	ctx, op := c.begin(ctx, "jamsocket.UpdateEnvironment", trace.SpanKindClient)
	defer func() { op.end(ctx, err) }()
	d, err := c.account("UpdateEnvironment")
	if err != nil {
		return err
	}
	if imageTag == "" {
		return errors.New("jamsocket: UpdateEnvironment needs an image tag or digest")
	}
	return d.updateEnvironment(ctx, environment, imageTag)
}
