package localplane_test

import (
	"path/filepath"
	"testing"

	"github.com/jamsocket-go/jamsocket/internal/dockertest"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// BenchmarkWarmPoolConnectToReady (issue 20): the time from a connect
// (Spawn) to WaitReady's answer through the SDK, for a backend taken from
// a warm pool and for a cold start of the same program in the same run,
// as a process and as a container (internal/dockertest/warmbackend,
// written with sessionbackend). Reported as ms-median and ms-p99; the
// goal for warm is 2 ms median, 10 ms p99, 100x faster than a cold
// container. Between samples, off the clock, the backend is terminated and
// the pool refills.
//
//	DOCKER_HOST=… go test -run '^$' -bench WarmPool -benchtime 200x ./localplane/
func BenchmarkWarmPoolConnectToReady(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "warmbackend")
	dockertest.GoBinary(b, warmBackendPkg, bin)
	for _, pool := range []int{1, 0} {
		b.Run("process/"+warmOrCold(pool), func(b *testing.B) {
			benchSpawnToReady(b, localplane.Config{Command: []string{bin}, WarmPool: pool})
		})
	}
	cli := dockertest.Client(b)
	image := dockertest.GoImage(b, cli, warmBackendPkg)
	for _, pool := range []int{1, 0} {
		b.Run("container/"+warmOrCold(pool), func(b *testing.B) {
			benchSpawnToReady(b, localplane.Config{Container: &localplane.ContainerConfig{Image: image, Client: cli}, WarmPool: pool})
		})
	}
}

func warmOrCold(pool int) string {
	if pool > 0 {
		return "warm"
	}
	return "cold"
}
