package localplane_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// A backend's output costs the plane at most 1 MiB, however much it
// writes: a line over 64 KiB is cut and marked (the rest of it dropped, not
// made into more lines), and the oldest lines are forgotten beyond 1 MiB
// or 1,000 lines. (1,000 lines of 64 KiB once kept 112 MB per backend.)
func TestBackendLogsAreBoundedInBytes(t *testing.T) {
	const lineLen = 64 << 10
	p := startPlane(t, localplane.Config{Handler: func(b localplane.Backend) http.Handler {
		for i := range 1000 {
			fmt.Fprintf(b.Output, "%05d%s\n", i, strings.Repeat("é", lineLen/2)) // 5 bytes over, cut inside an é
		}
		// A long line written in pieces, no newline until the end.
		for range 10 {
			fmt.Fprint(b.Output, strings.Repeat("p", 20<<10))
		}
		fmt.Fprint(b.Output, "tail of the long line\nlast\n")
		return echoHandler(b.Env)
	}})
	res := p.connect(nil)
	p.statusStream(res.BackendID).until(types.StatusReady)
	require.NoError(t, p.Terminate(res.BackendID, true))

	logs := p.openStream(p.APIURL() + "/v2/backend/" + res.BackendID + "/logs/stream")
	var lines []string
	total := 0
	for {
		ev, ok := logs.next()
		if !ok {
			break
		}
		lines = append(lines, ev.data)
		total += len(ev.data)
	}
	require.GreaterOrEqual(t, len(lines), 3)
	assert.LessOrEqual(t, total, 1<<20, "at most 1 MiB of output is kept")
	assert.Equal(t, "last", lines[len(lines)-1], "the newest line is kept")
	long := lines[len(lines)-2]
	assert.Equal(t, strings.Repeat("p", lineLen)+" [line cut at 64 KiB]", long, "a long line written in pieces is one cut line")
	for _, l := range lines[:len(lines)-2] {
		assert.True(t, strings.HasSuffix(l, "é [line cut at 64 KiB]"), "cut on a character boundary and marked: …%q", l[max(0, len(l)-30):])
		assert.LessOrEqual(t, len(l), lineLen+len(" [line cut at 64 KiB]"))
	}
	assert.True(t, strings.HasPrefix(lines[0], fmt.Sprintf("%05d", 1000-(len(lines)-2))), "the latest lines, in order: %.8q", lines[0])
}
