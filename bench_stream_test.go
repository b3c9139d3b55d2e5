package jamsocket_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/jamsocket-go/jamsocket"
)

// plainStatusStream is the hand-written reader the SDK's streams are
// measured against: one GET, a bufio.Scanner over the body, encoding/json
// for each data: line. It calls each with every state until the body ends.
func plainStatusStream(ctx context.Context, hc *http.Client, url string, each func(jamsocket.BackendState)) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	setPlainHeaders(req.Header, "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data:"))
		if !ok {
			continue
		}
		var st jamsocket.BackendState
		if err := json.Unmarshal(data, &st); err != nil {
			return err
		}
		each(st)
	}
	return sc.Err()
}

// BenchmarkStatusStream measures events per second through StatusStream
// and through the plain reader: each op is one event decoded and yielded.
func BenchmarkStatusStream(b *testing.B) {
	const eventsPerStream = 1000
	var body strings.Builder
	for i := range eventsPerStream - 1 {
		fmt.Fprintf(&body, "data: {\"status\":\"x-custom-%d\",\"time\":1730752941123}\nid: %d\n\n", i, i)
	}
	body.WriteString("data: {\"status\":\"terminated\",\"time\":1730752941123}\n\n")
	payload := body.String()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, payload)
	}))
	b.Cleanup(srv.Close)
	ctx := context.Background()
	b.Run("impl=sdk", func(b *testing.B) {
		c := benchClient(b, srv)
		b.ReportAllocs()
		events := 0
		for b.Loop() {
			for _, err := range c.StatusStream(ctx, "bench") {
				if err != nil {
					b.Fatal(err)
				}
				events++
			}
		}
		reportEvents(b, events)
	})
	b.Run("impl=plain", func(b *testing.B) {
		hc := plainClient()
		b.ReportAllocs()
		events := 0
		for b.Loop() {
			if err := plainStatusStream(ctx, hc, srv.URL+"/v2/backend/bench/status/stream", func(jamsocket.BackendState) { events++ }); err != nil {
				b.Fatal(err)
			}
		}
		reportEvents(b, events)
	})
}

func reportEvents(b *testing.B, events int) {
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(events, 1)), "ns/event")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkStreamMemory opens 1,000 and 10,000 status streams at once, each
// read by its own goroutine until it has yielded its first state, and
// reports the heap and goroutine stacks each open stream holds
// (bytes/stream, after a GC) and the goroutines it runs (goroutines/stream),
// through the SDK and through the plain reader. The server runs in a
// process of its own (internal/benchsse), so only the client is measured.
//
//	go test -run '^$' -bench StreamMemory -benchtime 1x .
func BenchmarkStreamMemory(b *testing.B) {
	addr := startBenchSSE(b)
	url := "http://" + addr
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("impl=sdk/streams=%d", n), func(b *testing.B) {
			c, err := jamsocket.New(jamsocket.Config{Account: "a", Service: "s", Token: "t", APIURL: url},
				jamsocket.WithHTTPClient(&http.Client{Transport: &http.Transport{}}))
			if err != nil {
				b.Fatal(err)
			}
			benchStreams(b, n, func(ctx context.Context, first func()) error {
				for _, err := range c.StatusStream(ctx, "bench") {
					if err != nil {
						return err
					}
					first()
				}
				return nil
			})
		})
		b.Run(fmt.Sprintf("impl=plain/streams=%d", n), func(b *testing.B) {
			hc := &http.Client{Transport: &http.Transport{}}
			benchStreams(b, n, func(ctx context.Context, first func()) error {
				return plainStatusStream(ctx, hc, url+"/v2/backend/bench/status/stream", func(jamsocket.BackendState) { first() })
			})
		})
	}
}

// benchStreams runs n copies of read, each in its own goroutine, waits until
// every one has seen its first state, measures, then cancels them all.
func benchStreams(b *testing.B, n int, read func(ctx context.Context, first func()) error) {
	var perStream, goroutines float64
	for b.Loop() {
		runtime.GC()
		before, beforeG := heapAndStacks(), runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		var opened, done sync.WaitGroup
		opened.Add(n)
		errs := make(chan error, n)
		for range n {
			done.Go(func() {
				var once sync.Once
				err := read(ctx, func() { once.Do(opened.Done) })
				once.Do(opened.Done) // a stream that failed before its first state
				if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
					errs <- err
				}
			})
		}
		opened.Wait()
		after, afterG := heapAndStacks(), runtime.NumGoroutine()
		cancel()
		done.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		perStream = float64(after-before) / float64(n)
		goroutines = float64(afterG-beforeG) / float64(n)
	}
	b.ReportMetric(perStream, "bytes/stream")
	b.ReportMetric(goroutines, "goroutines/stream")
	b.ReportMetric(0, "ns/op")
}

// heapAndStacks is the live heap and the goroutine stacks after a GC.
func heapAndStacks() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse)
}

// startBenchSSE builds and starts internal/benchsse and returns its address;
// it stops when b ends.
func startBenchSSE(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "benchsse")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/jamsocket-go/jamsocket/internal/benchsse").CombinedOutput(); err != nil {
		b.Fatalf("building the stream server: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close() // the server exits when its stdin closes
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("reading the stream server's address: %v", err)
	}
	return strings.TrimSpace(addr)
}
