package types

import "time"

// ServiceInfo describes a service: the answer of GET
// /v2/service/{account}/{service}.
type ServiceInfo struct {
	Name        string    `json:"name"`
	AccountName string    `json:"account_name"`
	CreatedAt   time.Time `json:"created_at"`
	// LastSpawnedAt is when a backend of the service was last spawned; nil
	// if never.
	LastSpawnedAt *time.Time `json:"last_spawned_at"`
	// LastImageUploadTime is when an image was last pushed; nil if never.
	LastImageUploadTime *time.Time `json:"last_image_upload_time"`
	// LastImageDigest is the digest of the last image pushed; "" if none.
	LastImageDigest string `json:"last_image_digest,omitempty"`
	// ImageName is the registry path to push the service's images to.
	ImageName string `json:"image_name"`
	// Environments are the service's environments, the default one included.
	Environments []ServiceEnvironment `json:"environments"`
}

// ServiceEnvironment is one environment of a service: which image tag its
// backends run, and where.
type ServiceEnvironment struct {
	Name      string    `json:"name"`
	ImageTag  string    `json:"image_tag"`
	Cluster   string    `json:"cluster"`
	CreatedAt time.Time `json:"created_at"`
	// LastSpawnedAt is when a backend of the environment was last spawned;
	// nil if never.
	LastSpawnedAt *time.Time `json:"last_spawned_at"`
}

// Image is one image pushed for a service.
type Image struct {
	Repository string    `json:"repository"`
	Digest     string    `json:"digest"`
	Tag        string    `json:"tag"`
	UploadTime time.Time `json:"upload_time"`
}
