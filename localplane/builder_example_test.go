package localplane_test

import (
	"context"
	"errors"
	"log"
	"os/exec"
	"strings"
	"sync"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// dockerBuild is a Builder that builds the Dockerfile in the current
// directory once; `jamsocket dev -f` has a fuller one (rebuilds, a log).
type dockerBuild struct {
	mu    sync.Mutex
	image string
	err   error
	done  chan struct{} // closed when the build ends
}

func (b *dockerBuild) run(ctx context.Context) {
	out, err := exec.CommandContext(ctx, "docker", "build", "-q", ".").Output()
	b.mu.Lock()
	b.image, b.err = strings.TrimSpace(string(out)), err
	b.mu.Unlock()
	close(b.done)
}

func (b *dockerBuild) Image() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.err != nil:
		return "", errors.New("the build failed: " + b.err.Error())
	case b.image == "":
		return "", errors.New("the image is building")
	}
	return b.image, nil
}

func (b *dockerBuild) Rebuild() {} // builds once

func (b *dockerBuild) Log(from int) localplane.BuildLog {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.image == "" && b.err == nil {
		return localplane.BuildLog{Build: 1, Changed: b.done}
	}
	return localplane.BuildLog{Build: 1}
}

// A plane can serve before its image exists: connects that would spawn
// answer "not ready to spawn" with the Builder's reason until it names an
// image, which is how `jamsocket dev -f Dockerfile` builds while it serves.
// (Not run as a test: it needs a Docker engine.)
func ExampleBuilder() {
	build := &dockerBuild{done: make(chan struct{})}
	srv, err := localplane.New(localplane.Config{
		Container: &localplane.ContainerConfig{}, // the image comes from the builder
		Builder:   build,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	build.run(context.Background()) // spawns wait for it, then run its image
}
