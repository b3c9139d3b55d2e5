package localplane

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConsoleHubReplaysOnlyWhatItKeeps(t *testing.T) {
	var h consoleHub
	ids, wake, seq, ok := h.since(0)
	require.True(t, ok)
	require.Empty(t, ids)
	require.Zero(t, seq)

	for i := range consoleHubSize + 1 {
		h.publish(strconv.Itoa(i))
	}
	select {
	case <-wake:
	default:
		t.Fatal("publish did not wake the stream")
	}
	_, _, seq, ok = h.since(0)
	require.False(t, ok, "change 1 is no longer kept")
	require.Equal(t, uint64(consoleHubSize+1), seq)

	ids, _, _, ok = h.since(1)
	require.True(t, ok)
	require.Len(t, ids, consoleHubSize)
	require.Equal(t, "1", ids[0])
	require.Equal(t, strconv.Itoa(consoleHubSize), ids[len(ids)-1])

	_, _, _, ok = h.since(seq + 1)
	require.False(t, ok, "an id from another run of the plane")
}
