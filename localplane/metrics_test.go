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

func TestMetricsParsers(t *testing.T) {
	ticks, err := localplane.ParseProcStat([]byte("42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 17 5 0 0 20 0 1 0 123 4096 300 0"))
	require.NoError(t, err)
	assert.EqualValues(t, 22, ticks, "utime 17 + stime 5, after a command name holding ') '")
	_, err = localplane.ParseProcStat([]byte("42 (a) S 1"))
	assert.Error(t, err)

	total, err := localplane.ParseSystemCPU([]byte("cpu  10 1 5 100 2 0 3 4 7 0\ncpu0 5 0 2 50 1 0 1 2 3 0\n"))
	require.NoError(t, err)
	assert.EqualValues(t, 125, total, "user..steal; guest is already in user")
	_, err = localplane.ParseSystemCPU([]byte("intr 1\n"))
	assert.Error(t, err)

	n, ok := localplane.ParseKB([]byte("MemTotal:  100 kB\nMemAvailable:    2048 kB\n"), "MemAvailable")
	assert.True(t, ok)
	assert.EqualValues(t, 2048*1024, n)
	_, ok = localplane.ParseKB([]byte("VmPeak: 1 kB\n"), "VmRSS")
	assert.False(t, ok)
}
