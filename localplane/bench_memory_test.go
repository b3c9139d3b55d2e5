package localplane_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// BenchmarkMemoryUnderLoad is issue 17's scenario: 10 backends, each
// writing 1,000 lines of 64 KiB, and 1,024 connects to each carrying 16 KiB
// of auth. It reports the plane's live heap (heap-MB) and the process's
// resident memory (rss-MB) with all of that held, beside what they were
// before (heap-MB-before, rss-MB-before). Run it once:
//
//	go test -run '^$' -bench MemoryUnderLoad -benchtime 1x ./localplane/
func BenchmarkMemoryUnderLoad(b *testing.B) {
	const backends, lines, connects = 10, 1000, 1024
	line := strings.Repeat("x", 64<<10-1) + "\n"
	auth, err := json.Marshal(map[string]any{"key": "k", "auth": map[string]string{"a": strings.Repeat("u", 16<<10-8)}})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		srv, _ := benchPlane(b, localplane.Config{Handler: func(be localplane.Backend) http.Handler {
			for range lines {
				io.WriteString(be.Output, line)
			}
			return okHandler(be)
		}})
		heapBefore, rssBefore := heapAndStacks(), residentBytes(b)
		refused := 0
		for i := range backends {
			body := bytes.Replace(auth, []byte(`"key":"k"`), []byte(`"key":"k`+strconv.Itoa(i)+`"`), 1)
			for range connects {
				resp, err := http.Post(srv.APIURL()+"/v2/service/bench/bench/connect", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
				case http.StatusServiceUnavailable:
					refused++
				default:
					b.Fatalf("connect: %s", resp.Status)
				}
			}
		}
		heap, rss := heapAndStacks(), residentBytes(b)
		b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
		b.ReportMetric(float64(rss)/(1<<20), "rss-MB")
		b.ReportMetric(float64(heapBefore)/(1<<20), "heap-MB-before")
		b.ReportMetric(float64(rssBefore)/(1<<20), "rss-MB-before")
		b.ReportMetric(float64(refused), "connects-refused")
		b.StopTimer()
		if err := srv.Close(); err != nil { // Cleanup closes it again, harmlessly
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// residentBytes is the process's resident set after the runtime has
// returned what it can to the OS (Linux; 0 elsewhere).
func residentBytes(b *testing.B) int64 {
	debug.FreeOSMemory()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for l := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscan(rest, &kb); err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	return 0
}
