package localplane_test

import (
	"errors"
	"sync"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// testBuilder is a localplane.Builder a test drives by hand: what `jamsocket
// dev -f` does around a docker build, without building.
type testBuilder struct {
	rebuilds chan struct{} // receives each Rebuild, if not nil

	mu      sync.Mutex
	image   string
	hold    string
	build   uint64
	lines   []string
	changed chan struct{}
}

var _ localplane.Builder = (*testBuilder)(nil)

func newTestBuilder(image string) *testBuilder {
	return &testBuilder{image: image, changed: make(chan struct{})}
}

func (b *testBuilder) Image() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.hold != "" {
		return "", errors.New(b.hold)
	}
	return b.image, nil
}

func (b *testBuilder) Rebuild() {
	if b.rebuilds != nil {
		b.rebuilds <- struct{}{}
	}
}

func (b *testBuilder) Log(from int) localplane.BuildLog {
	b.mu.Lock()
	defer b.mu.Unlock()
	log := localplane.BuildLog{Build: b.build, Next: len(b.lines), Changed: b.changed}
	if from < len(b.lines) {
		log.Lines = append([]string(nil), b.lines[from:]...)
	}
	return log
}

// change changes the builder's state and wakes the plane's streams.
func (b *testBuilder) change(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f()
	close(b.changed)
	b.changed = make(chan struct{})
}

// holdSpawns holds spawns for reason ("" lifts the hold).
func (b *testBuilder) holdSpawns(reason string) { b.change(func() { b.hold = reason }) }

// started begins a new build, held while it runs.
func (b *testBuilder) started() {
	b.change(func() { b.build, b.lines, b.hold = b.build+1, nil, "the image is building" })
}

// output adds a line to the build's log.
func (b *testBuilder) output(line string) { b.change(func() { b.lines = append(b.lines, line) }) }

// built ends the build with image.
func (b *testBuilder) built(image string) { b.change(func() { b.image, b.hold = image, "" }) }
