package localplane

import (
	"context"
	"errors"

	"github.com/jamsocket-go/jamsocket/localplane/internal/osproc"
)

// errNotReadyToSpawn is why a connect that would spawn is refused while
// spawns are held (Config.Builder is building, or its last build failed)
// or a container plane has no image. Connects answer it with 503, code
// NotReadyToSpawn, on the Jamsocket surface and with Plane's 500, kind
// NoDroneAvailable, on Plane's.
var errNotReadyToSpawn = errors.New("not ready to spawn")

// sampler is a backend whose resource use is read from somewhere other
// than /proc (the engine's stats, for containers).
type sampler interface {
	sample(ctx context.Context) (osproc.Sample, error)
}

// spawnGate is the plane's answer to "may a spawn start now?", from the
// Builder and the runner's image. It answers at once, so it may be asked
// under a lock.
type spawnGate struct {
	builder Builder     // nil without one
	images  imageRunner // nil when the runner runs no image
}

func newSpawnGate(builder Builder, r runner) spawnGate {
	images, _ := r.(imageRunner)
	return spawnGate{builder: builder, images: images}
}

// hold is why a spawn may not start now, or "" when it may.
func (g spawnGate) hold() string {
	_, hold := g.state()
	return hold
}

// state is the image spawns run now ("" when none) and why spawns are
// held ("" when they are not).
func (g spawnGate) state() (image, hold string) {
	var err error
	switch {
	case g.images != nil:
		image, err = g.images.image()
	case g.builder != nil:
		_, err = g.builder.Image()
	}
	if err != nil {
		return "", err.Error()
	}
	return image, ""
}
