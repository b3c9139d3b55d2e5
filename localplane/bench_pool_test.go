package localplane_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

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
			benchConnectToReady(b, localplane.Config{Command: []string{bin}, WarmPool: pool})
		})
	}
	cli := dockertest.Client(b)
	image := dockertest.GoImage(b, cli, warmBackendPkg)
	for _, pool := range []int{1, 0} {
		b.Run("container/"+warmOrCold(pool), func(b *testing.B) {
			benchConnectToReady(b, localplane.Config{Container: &localplane.ContainerConfig{Image: image, Client: cli}, WarmPool: pool})
		})
	}
}

func warmOrCold(pool int) string {
	if pool > 0 {
		return "warm"
	}
	return "cold"
}

// benchConnectToReady times Spawn + WaitReady, one backend at a time; off
// the clock each is hard-terminated and the pool, if any, refilled.
func benchConnectToReady(b *testing.B, cfg localplane.Config) {
	srv, client := benchPlane(b, cfg)
	ctx := b.Context()
	full := func() {
		for srv.WarmPool().Ready < cfg.WarmPool {
			time.Sleep(time.Millisecond) // a benchmark's wait, off the clock
		}
	}
	full()
	var samples []time.Duration
	for b.Loop() {
		start := time.Now()
		conn, err := client.Spawn(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := client.WaitReady(ctx, conn.BackendID); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(start))

		b.StopTimer()
		if err := srv.Terminate(conn.BackendID, true); err != nil {
			b.Fatal(err)
		}
		for _, err := range client.StatusStream(ctx, conn.BackendID) { // ends after terminated
			if err != nil {
				b.Fatal(err)
			}
		}
		full()
		b.StartTimer()
	}
	slices.Sort(samples)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(samples[len(samples)/2]), "ms-median")
	b.ReportMetric(ms(samples[min(len(samples)-1, len(samples)*99/100)]), "ms-p99")
}
