//go:build !linux

package localplane

// applyLimits logs resource limits: only Linux applies them.
func applyLimits(b *backend, pid int) {
	if b.spec.limits != nil {
		b.srv.log.Info("resource limits are not applied on this OS", "backend", b.id)
	}
}
