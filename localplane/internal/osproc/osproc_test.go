package osproc

import (
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// collect gathers a process's output.
type collect struct {
	mu  sync.Mutex
	out map[Stream]*strings.Builder
}

func (c *collect) output(stream Stream, p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.out == nil {
		c.out = map[Stream]*strings.Builder{}
	}
	if c.out[stream] == nil {
		c.out[stream] = &strings.Builder{}
	}
	c.out[stream].Write(p)
}

func (c *collect) text(stream Stream) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.out[stream] == nil {
		return ""
	}
	return c.out[stream].String()
}

func TestStartRunsSpecWithItsEnvironmentOnly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs /bin/sh")
	}
	t.Setenv("OSPROC_SECRET", "leaked")
	s := NewStarter()
	defer s.Close()
	var c collect
	p, err := s.Start(Spec{
		Argv: []string{"/bin/sh", "-c", `echo "a=$A secret=$OSPROC_SECRET"; echo oops >&2; exit 3`},
		Env:  []string{"A=1"},
	}, c.output)
	require.NoError(t, err)
	assert.Positive(t, p.PID())
	exit := <-p.Exited()
	assert.Equal(t, Exit{Code: 3}, exit)
	assert.Equal(t, "a=1 secret=\n", c.text(Stdout))
	assert.Equal(t, "oops\n", c.text(Stderr))
}

func TestSignalKillsTheGroup(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs /bin/sh")
	}
	s := NewStarter()
	defer s.Close()
	var c collect
	p, err := s.Start(Spec{Argv: []string{"/bin/sh", "-c", `trap '' TERM; sleep 60 & echo started; wait`}}, c.output)
	require.NoError(t, err)
	p.Signal(true)
	exit := <-p.Exited()
	assert.Equal(t, 137, exit.Code)
	assert.Equal(t, "killed", exit.Signal)
}

func TestStartErrors(t *testing.T) {
	s := NewStarter()
	_, err := s.Start(Spec{Argv: []string{"/nonexistent/backend"}}, func(Stream, []byte) {})
	assert.Error(t, err)
	s.Close()
	_, err = s.Start(Spec{Argv: []string{"/bin/sh"}}, func(Stream, []byte) {})
	assert.ErrorIs(t, err, ErrClosed)
}

func TestLookPath(t *testing.T) {
	assert.NoError(t, LookPath("sh", ""))
	assert.Error(t, LookPath("/nonexistent/backend", ""))
	assert.Error(t, LookPath("no-such-command-anywhere", ""))
	assert.Error(t, LookPath("/", ""), "a directory")
	assert.Error(t, LookPath("./osproc.go.missing", t.TempDir()))
}
