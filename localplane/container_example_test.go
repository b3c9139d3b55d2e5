package localplane_test

import (
	"log"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// Container backends: each backend is a container of a local image, as on
// Plane. (Not run as a test: it needs a Docker engine.) To build the image
// while the plane serves, give it a Config.Builder instead of an Image (see
// the Builder example).
func ExampleContainerConfig() {
	srv, err := localplane.New(localplane.Config{
		Container: &localplane.ContainerConfig{Image: "my-backend:dev"}, // the engine from DOCKER_HOST
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(); err != nil { // removes containers a killed plane left behind
		log.Fatal(err)
	}
	defer srv.Close() // removes every container it started
}
