package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/jamsocket-go/jamsocket"
)

// otlpCollector is an OTLP/HTTP trace receiver: it keeps the name of every
// span it is sent, and each resource's service.name.
type otlpCollector struct {
	mu       sync.Mutex
	spans    []string
	services map[string]bool
}

func (c *otlpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	if r.URL.Path != "/v1/traces" || err != nil {
		http.Error(w, "not an OTLP/HTTP trace export", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				c.services[kv.GetValue().GetStringValue()] = true
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.spans = append(c.spans, s.Name)
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

// `jamsocket dev --otel` exports the plane's spans to the collector
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT names, as service jamsocket-dev; the
// spans still buffered are sent when it stops.
func TestDevExportsSpans(t *testing.T) {
	collector := &otlpCollector{services: map[string]bool{}}
	srv := httptest.NewServer(collector)
	defer srv.Close()
	// The exporter reads the standard variables from the process.
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", srv.URL+"/v1/traces")

	d := startDev(t, "--otel", "--cmd", "'"+os.Args[0]+"' "+devBackendArg)
	port, err := strconv.Atoi(d.wait(`^  API:   http://127\.0\.0\.1:(\d+)$`)[1])
	require.NoError(t, err)
	client, err := jamsocket.New(jamsocket.Config{Dev: true, DevPort: port})
	require.NoError(t, err)
	resp, err := client.Spawn(t.Context(), &jamsocket.ConnectRequest{Key: "doc-otel"})
	require.NoError(t, err)
	_, err = client.WaitReady(t.Context(), resp.BackendID)
	require.NoError(t, err)
	require.Equal(t, 0, d.stop(), d.stderr.String())
	assert.Empty(t, d.stderr.String())

	collector.mu.Lock()
	defer collector.mu.Unlock()
	for _, name := range []string{"POST /v2/service/{account}/{service}/connect", "localplane.backend.start",
		"localplane.runner.start", "localplane.probe"} {
		assert.Contains(t, collector.spans, name)
	}
	assert.Equal(t, map[string]bool{"jamsocket-dev": true}, collector.services)
}
