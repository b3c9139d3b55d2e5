//go:build !linux && !darwin

package localplane

// bootID is unknown here: no other server's container is removed.
func bootID() string { return "" }

// pidNamespace is unknown here.
func pidNamespace() string { return "" }
