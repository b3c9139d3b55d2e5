package localplane

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
