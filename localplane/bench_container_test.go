package localplane_test

import (
	"context"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/jamsocket-go/jamsocket/internal/dockertest"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// The container runner's benchmarks (issue 11), against the real engine:
//
//   - BenchmarkContainerSpawnToReady: the median time from Spawn to
//     WaitReady of a container backend (plane), beside a bare engine-API
//     create + start of the same image with the same port publish, and an
//     HTTP poll loop with the plane's probe intervals (docker-run), as
//     ms-median; goal: plane within 1.25x of docker-run.
//   - BenchmarkContainerMemoryPerBackend: the plane's heap and stacks per
//     live container backend, 10 of them, as bytes/backend.
//
//	DOCKER_HOST=… go test -run '^$' -bench Container -benchmem -count 5 ./localplane/

func BenchmarkContainerSpawnToReady(b *testing.B) {
	cli := dockertest.Client(b)
	image := dockertest.GoImage(b, cli, testBackendPkg)
	b.Run("plane", func(b *testing.B) {
		benchSpawnToReady(b, localplane.Config{Container: &localplane.ContainerConfig{Image: image, Client: cli}})
	})
	b.Run("docker-run", func(b *testing.B) {
		var samples []time.Duration
		for b.Loop() {
			start := time.Now()
			id := bareDockerRun(b, cli, image)
			samples = append(samples, time.Since(start))
			b.StopTimer()
			if _, err := cli.ContainerRemove(context.Background(), id, client.ContainerRemoveOptions{Force: true}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		slices.Sort(samples)
		b.ReportMetric(float64(samples[len(samples)/2])/float64(time.Millisecond), "ms-median")
	})
}

// bareDockerRun is `docker run -d -p 127.0.0.1::8080 -e PORT=8080 image`
// through the engine API, then an HTTP poll of the published port until it
// answers, with the plane's probe schedule (5 ms, doubling, at most 100 ms).
func bareDockerRun(b *testing.B, cli *client.Client, image string) string {
	ctx := context.Background()
	port := network.MustParsePort("8080/tcp")
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: image, Env: []string{"PORT=8080"}, ExposedPorts: network.PortSet{port: {}}},
		HostConfig: &container.HostConfig{PortBindings: network.PortMap{
			port: {{HostIP: netip.MustParseAddr("127.0.0.1")}},
		}},
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		b.Fatal(err)
	}
	inspect, err := cli.ContainerInspect(ctx, created.ID, client.ContainerInspectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	hostPort := inspect.Container.NetworkSettings.Ports[port][0].HostPort
	probe := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer probe.CloseIdleConnections()
	delay := 5 * time.Millisecond
	for {
		resp, err := probe.Head("http://127.0.0.1:" + hostPort + "/")
		if err == nil {
			resp.Body.Close()
			return created.ID
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}

func BenchmarkContainerMemoryPerBackend(b *testing.B) {
	cli := dockertest.Client(b)
	image := dockertest.GoImage(b, cli, testBackendPkg)
	const n = 10
	var perBackend []float64
	for b.Loop() {
		var ready atomic.Int64
		allReady := make(chan struct{})
		var once sync.Once
		srv, client := benchPlane(b, localplane.Config{
			Container: &localplane.ContainerConfig{Image: image, Client: cli},
			OnChange: func(s localplane.BackendView) {
				if s.Status == types.StatusReady && ready.Add(1) == n+1 { // +1: the warm-up backend
					once.Do(func() { close(allReady) })
				}
			},
		})
		ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
		if _, err := client.Spawn(ctx, nil); err != nil {
			b.Fatal(err)
		}
		before := heapAndStacks()
		for i := range n {
			if _, err := client.Spawn(ctx, nil); err != nil {
				b.Fatal(err, i)
			}
		}
		select {
		case <-allReady:
		case <-ctx.Done():
			b.Fatalf("only %d of %d backends became ready", ready.Load(), n+1)
		}
		perBackend = append(perBackend, float64(heapAndStacks()-before)/n)
		cancel()
		b.StopTimer()
		if err := srv.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(slices.Max(perBackend), "bytes/backend")
}
