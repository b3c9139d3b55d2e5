package localplane_test

import (
	"bufio"
	"net/http"
	"testing"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// BenchmarkStatus GETs a ready backend's public status from parallel
// goroutines: the plane's cheapest read.
func BenchmarkStatus(b *testing.B) {
	hc, url := benchStatusURL(b, "/status")
	benchParallel(b, func() (*http.Response, error) { return hc.Get(url) })
}

// BenchmarkStatusStream opens a ready backend's status stream and reads
// its replayed history (scheduled to ready), then closes it: the cost of
// one stream through the plane's event-stream path.
func BenchmarkStatusStream(b *testing.B) {
	hc, url := benchStatusURL(b, "/status/stream")
	b.ReportAllocs()
	for b.Loop() {
		resp, err := hc.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		for events := 0; events < 5 && sc.Scan(); { // scheduled, loading, starting, waiting, ready
			if len(sc.Bytes()) > 0 {
				events++
			}
		}
		resp.Body.Close()
	}
}

// benchStatusURL is a client and the URL of a ready handler backend's
// status route ending in suffix.
func benchStatusURL(b *testing.B, suffix string) (*http.Client, string) {
	srv, client := benchPlane(b, localplane.Config{Handler: okHandler})
	conn := readyBackend(b, client)
	return benchClient(b), srv.APIURL() + "/v2/backend/" + conn.BackendID + suffix
}
