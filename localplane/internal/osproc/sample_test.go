package osproc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetricsParsers(t *testing.T) {
	ticks, err := parseProcStat([]byte("42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 17 5 0 0 20 0 1 0 123 4096 300 0"))
	require.NoError(t, err)
	assert.EqualValues(t, 22, ticks, "utime 17 + stime 5, after a command name holding ') '")
	_, err = parseProcStat([]byte("42 (a) S 1"))
	assert.Error(t, err)

	total, err := parseSystemCPU([]byte("cpu  10 1 5 100 2 0 3 4 7 0\ncpu0 5 0 2 50 1 0 1 2 3 0\n"))
	require.NoError(t, err)
	assert.EqualValues(t, 125, total, "user..steal; guest is already in user")
	_, err = parseSystemCPU([]byte("intr 1\n"))
	assert.Error(t, err)

	n, ok := parseKB([]byte("MemTotal:  100 kB\nMemAvailable:    2048 kB\n"), "MemAvailable")
	assert.True(t, ok)
	assert.EqualValues(t, 2048*1024, n)
	_, ok = parseKB([]byte("VmPeak: 1 kB\n"), "VmRSS")
	assert.False(t, ok)
}
