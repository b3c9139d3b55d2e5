package wire

import (
	"github.com/jamsocket-go/jamsocket/internal/wiretime"
	"github.com/jamsocket-go/jamsocket/types"
)

// TerminateBackendsRequest is the body of POST
// /service/{account}/{service}/terminate-backends.
type TerminateBackendsRequest struct {
	// Before limits the call to backends spawned before this time.
	Before wiretime.Time `json:"before"`
	Hard   bool          `json:"hard"`
	DryRun bool          `json:"dry_run"`
}

// TerminateBackendsResponse is the answer of one terminate-backends call.
// When IsComplete is false the same request must be sent again.
type TerminateBackendsResponse struct {
	BackendCount    int  `json:"backend_count"`
	TerminatedCount int  `json:"terminated_count"`
	IsComplete      bool `json:"is_complete"`
}

// ServiceList is the body of GET /v2/account/{account}/services.
type ServiceList struct {
	Services []string `json:"services"`
}

// ImageList is the body of GET /v2/service/{account}/{service}/images.
type ImageList struct {
	Images []types.Image `json:"images"`
}

// ImageNameResponse is the body of GET
// /service/{account}/{service}/image-name (no /v2; camelCase, unlike the
// rest of the API).
type ImageNameResponse struct {
	// ImageName is the registry repository to push the service's images
	// to, without a tag.
	ImageName string `json:"imageName"`
}

// CreateServiceRequest is the body of POST /v2/account/{account}/service.
type CreateServiceRequest struct {
	Name string `json:"name"`
}

// UpdateEnvironmentRequest is the body of POST
// /v2/service/{account}/{service}[/{environment}]/update.
type UpdateEnvironmentRequest struct {
	// ImageTag is a tag or an image digest.
	ImageTag string `json:"image_tag"`
}
