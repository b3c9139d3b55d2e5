package localplane

import (
	"context"
	"errors"

	"github.com/jamsocket-go/jamsocket/localplane/internal/osproc"
)

// errNotReadyToSpawn is why a connect that would spawn is refused while
// spawns are held (a build runs or failed) or a container runner has no
// image yet. Connects answer it with 503, code NotReadyToSpawn, on the
// Jamsocket surface and with Plane's 500, kind NoDroneAvailable, on Plane's.
var errNotReadyToSpawn = errors.New("not ready to spawn")

// sampler is a backend whose resource use is read from somewhere other
// than /proc (the engine's stats, for containers).
type sampler interface {
	sample(ctx context.Context) (osproc.Sample, error)
}

// HoldSpawns makes connects that would spawn a backend fail with a 503 "not
// ready to spawn" error that gives reason (e.g. "the image is building"), a
// 500 NoDroneAvailable on Plane's surface, until SetImage or
// HoldSpawns(""). Connects to running backends still succeed.
func (s *Server) HoldSpawns(reason string) {
	s.mu.Lock()
	s.hold = reason
	s.mu.Unlock()
	s.build.notify()
}

// SetImage makes later spawns of a container plane (Config.Container) run
// image, and lifts HoldSpawns. Running backends keep their image; terminate
// them to move them to the new one.
func (s *Server) SetImage(image string) error {
	r, ok := s.runner.(*containerRunner)
	if !ok {
		return errors.New("localplane: SetImage needs a Config.Container plane")
	}
	r.setImage(image)
	s.HoldSpawns("") // also tells the console
	return nil
}

// spawnHoldLocked is why a spawn may not happen now, or "". s.mu is held.
func (s *Server) spawnHoldLocked() string {
	if s.hold != "" {
		return s.hold
	}
	if r, ok := s.runner.(*containerRunner); ok && r.currentImage() == "" {
		return "no image to run yet"
	}
	return ""
}
