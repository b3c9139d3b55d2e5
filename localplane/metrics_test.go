package localplane_test

import (
	"encoding/json"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

func TestMetricsStream(t *testing.T) {
	for name, cfg := range map[string]localplane.Config{
		"handler": {},
		"process": {Command: processCommand()},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Token = "tok"
			cfg.MetricsInterval = 20 * time.Millisecond
			p := startPlane(t, cfg)
			auth := []string{"Authorization", "Bearer tok"}
			code, body, _ := p.do("POST", "/v2/service/acct/svc/connect", map[string]any{}, auth...)
			require.Equal(t, http.StatusOK, code, string(body))
			var res types.ConnectResponse
			require.NoError(t, json.Unmarshal(body, &res))
			p.statusStream(res.BackendID).until(types.StatusReady)

			stream := p.openStream(p.APIURL()+"/v2/backend/"+res.BackendID+"/metrics/stream", auth...)
			var sysCPU float64
			for range 5 {
				ev, ok := stream.next()
				require.True(t, ok, "a sample every interval")
				var m types.Metrics
				require.NoError(t, json.Unmarshal([]byte(ev.data), &m), ev.data)
				assert.Equal(t, res.BackendID, m.BackendID)
				assert.Equal(t, "localplane", m.Cluster)
				assert.LessOrEqual(t, m.CPUUsed, m.SysCPU+1, "a share of the machine")
				if runtime.GOOS == "linux" {
					assert.Positive(t, m.MemUsed)
					assert.Positive(t, m.MemAvailable)
				}
				sysCPU += m.SysCPU
			}
			if runtime.GOOS == "linux" {
				assert.Positive(t, sysCPU, "five intervals of system CPU time")
			}

			require.NoError(t, p.Terminate(res.BackendID, true))
			for {
				if _, ok := stream.next(); !ok {
					break // the stream ends once the backend has terminated
				}
			}

			// A terminated backend's stream ends at once, with no sample.
			_, ok := p.openStream(p.APIURL()+"/v2/backend/"+res.BackendID+"/metrics/stream", auth...).next()
			assert.False(t, ok)
		})
	}
}

func TestMetricsStreamErrors(t *testing.T) {
	p := startPlane(t, localplane.Config{Token: "tok"})
	code, body, hdr := p.do("GET", "/v2/backend/nosuchbackend0/metrics/stream", nil, "Authorization", "Bearer tok")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	assert.Equal(t, "NotFound", errorCode(t, body))

	code, body, _ = p.do("GET", "/v2/backend/nosuchbackend0/metrics/stream", nil)
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, "Unauthorized", errorCode(t, body))
}
