package sessionbackend_test

import (
	"io"
	"log/slog"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/sessionbackend"
)

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// Without a control socket the assignment is the environment's, as the
// official package reads it: the four SESSION_BACKEND_* variables, and the
// rest as Env.
func TestAssignmentFromTheEnvironment(t *testing.T) {
	sb := &sessionbackend.Backend{Env: map[string]string{
		"SESSION_BACKEND_ID": "b-9", "SESSION_BACKEND_KEY": "doc", "SESSION_BACKEND_FENCING_TOKEN": "1700000000123",
		"SESSION_BACKEND_STATIC_TOKEN": "s.tok", "PORT": "8080", "SESSION_BACKEND_OTHER": "kept",
	}}
	a, err := sb.Assignment(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "b-9", a.BackendID)
	assert.Equal(t, "doc", a.Key)
	assert.Equal(t, int64(1700000000123), a.FencingToken)
	assert.Equal(t, "s.tok", a.StaticToken)
	assert.Equal(t, map[string]string{"PORT": "8080", "SESSION_BACKEND_OTHER": "kept"}, a.Env)
	assert.Len(t, sb.Env, 6, "the backend's own is untouched")
	require.NoError(t, a.Ready(), "nothing to tell")
	require.NoError(t, sb.Close())

	var zero sessionbackend.Backend
	a, err = zero.Assignment(t.Context())
	require.NoError(t, err, "the zero Backend is one started with an empty environment")
	assert.Equal(t, sessionbackend.Assignment{Env: map[string]string{}}.Env, a.Env)
	assert.Zero(t, a.FencingToken)
	require.NoError(t, a.Ready())
}

func TestAssignmentRefusesABadFencingToken(t *testing.T) {
	sb := &sessionbackend.Backend{Env: map[string]string{"SESSION_BACKEND_ID": "b", "SESSION_BACKEND_FENCING_TOKEN": "12abc"}}
	_, err := sb.Assignment(t.Context())
	var ee *sessionbackend.EnvError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "SESSION_BACKEND_FENCING_TOKEN", ee.Name)
	assert.ErrorIs(t, err, strconv.ErrSyntax)
}

func TestNewReadsTheEnvironment(t *testing.T) {
	t.Setenv("PORT", "9123")
	t.Setenv("SESSION_BACKEND_ID", "b-env")
	t.Setenv("JAMSOCKET_CONTROL_SOCKET", "/run/plane/b-env.sock")
	sb := sessionbackend.New()
	assert.Equal(t, 9123, sb.Port)
	assert.Equal(t, "/run/plane/b-env.sock", sb.ControlSocket, "a process backend's socket")
	assert.Equal(t, "b-env", sb.Env["SESSION_BACKEND_ID"])

	t.Setenv("PORT", "")
	t.Setenv("JAMSOCKET_CONTROL_SOCKET", "")
	sb = sessionbackend.New()
	assert.Equal(t, sessionbackend.DefaultPort, sb.Port)
	assert.Empty(t, sb.ControlSocket, "no variable, no /jamsocket-control: not in a warm pool")
	a, err := sb.Assignment(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "b-env", a.BackendID)

	for _, bad := range []string{"http", "70000", "-1"} {
		t.Setenv("PORT", bad)
		_, err := sessionbackend.New().Listen(t.Context())
		var ee *sessionbackend.EnvError
		require.ErrorAs(t, err, &ee, bad)
		assert.Equal(t, "PORT", ee.Name)
		assert.Contains(t, err.Error(), `PORT="`+bad+`"`)
	}
}
