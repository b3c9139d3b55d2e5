package localplane_test

import (
	"context"
	"log"
	"os/exec"
	"strings"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// Container backends: each backend is a container of a local image, as on
// Plane. A plane can start before its image exists (spawns answer "not ready
// to spawn" until SetImage), which is how `jamsocket dev -f Dockerfile`
// builds while it serves. (Not run as a test: it needs a Docker engine.)
func ExampleContainerConfig() {
	srv, err := localplane.New(localplane.Config{
		Container: &localplane.ContainerConfig{}, // no image yet; the engine from DOCKER_HOST
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(); err != nil { // removes containers a killed plane left behind
		log.Fatal(err)
	}
	defer srv.Close() // removes every container it started

	srv.HoldSpawns("the image is building")
	out, err := exec.CommandContext(context.Background(), "docker", "build", "-q", ".").Output()
	if err != nil {
		srv.HoldSpawns("the build failed: " + err.Error())
		return
	}
	if err := srv.SetImage(strings.TrimSpace(string(out))); err != nil { // later spawns run it
		log.Fatal(err)
	}
}
