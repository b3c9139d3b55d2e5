package localplane_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

func TestExpiredTokenIsGone(t *testing.T) {
	p := startPlane(t, localplane.Config{TokenTTL: time.Nanosecond})
	res := p.connect(map[string]any{"key": "short-lived"})
	p.statusStream(res.BackendID).until(types.StatusReady)

	code, _, _ := get(t, res.URL)
	assert.Equal(t, http.StatusGone, code, "a token past its TTL opens nothing")
	st, _, _ := p.do("GET", "/v2/backend/"+res.BackendID+"/status", nil)
	assert.Equal(t, http.StatusOK, st, "the backend itself lives on")
}

func TestTokensLiveAnHourByDefault(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	res := p.connect(map[string]any{"key": "long-lived"})
	p.statusStream(res.BackendID).until(types.StatusReady)
	code, _, _ := get(t, res.URL)
	assert.Equal(t, http.StatusOK, code)
}

func TestKeyLengthIsCountedInCharacters(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	ok := strings.Repeat("é", 128) // 256 bytes, 128 characters
	code, body, _ := p.do("POST", "/v2/service/acct/svc/connect", map[string]any{"key": ok})
	require.Equal(t, http.StatusOK, code, string(body))
	code, body, _ = p.do("POST", "/v2/service/acct/svc/connect", map[string]any{"key": ok + "x"})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, string(body), "128 characters")
}

// A connect beyond a backend's token bounds is refused with 503, on both
// surfaces and the console's Open, and never evicts a live token: the
// first user's connection URL keeps working. (It used to be replaced,
// its URL turning 410.)
func TestTokenCapRefusesInsteadOfEvicting(t *testing.T) {
	p := startPlane(t, localplane.Config{}, func(s *localplane.Server) { localplane.SetBounds(s, 1000, 1000, 3) })
	key := map[string]any{"name": "room"}
	first := p.planeConnect(map[string]any{"key": key, "spawn_config": planeSpawn(nil), "user": "first"})
	p.statusStream(first.BackendID).until(types.StatusReady)
	p.planeConnect(map[string]any{"key": key})
	p.planeConnect(map[string]any{"key": key})

	code, body, _ := p.do("POST", "/ctrl/connect", map[string]any{"key": key})
	assert.Equal(t, http.StatusServiceUnavailable, code, string(body))
	assert.Equal(t, "Other", planeKind(t, body))
	code, body, _ = p.do("POST", "/console/backends/"+first.BackendID+"/open", map[string]any{})
	assert.Equal(t, http.StatusServiceUnavailable, code, string(body))

	code, body, _ = get(t, first.URL)
	require.Equal(t, http.StatusOK, code, "the first user's URL still opens the backend")
	var e echoed
	require.NoError(t, json.Unmarshal(body, &e))
	assert.Equal(t, "first", e.Headers["x-verified-username"])

	// The Jamsocket surface, bounded in bytes of user and auth: 1 MiB.
	p = startPlane(t, localplane.Config{})
	auth := map[string]any{"x": strings.Repeat("u", 16000)}
	one := p.connect(map[string]any{"key": "k", "user": "first", "auth": auth})
	size := len("first") + len(`{"x":"`+strings.Repeat("u", 16000)+`"}`)
	for range (1<<20)/size - 1 {
		p.connect(map[string]any{"key": "k", "user": "first", "auth": auth})
	}
	code, body, _ = p.do("POST", "/v2/service/acct/svc/connect", map[string]any{"key": "k", "user": "first", "auth": auth})
	assert.Equal(t, http.StatusServiceUnavailable, code, string(body))
	assert.Equal(t, "ServiceUnavailable", errorCode(t, body))
	assert.Contains(t, string(body), "1 MiB of user and auth")
	p.statusStream(one.BackendID).until(types.StatusReady)
	code, _, _ = get(t, one.URL)
	assert.Equal(t, http.StatusOK, code, "the first user's URL still opens the backend")
	code, _, _ = p.do("POST", "/v2/service/acct/svc/connect", map[string]any{"key": "other"})
	assert.Equal(t, http.StatusOK, code, "other backends have their own bounds")
}

// Expired tokens make room: they are dropped before the bound is checked.
func TestExpiredTokensMakeRoom(t *testing.T) {
	p := startPlane(t, localplane.Config{TokenTTL: time.Nanosecond}, func(s *localplane.Server) { localplane.SetBounds(s, 1000, 1000, 1) })
	for range 5 {
		p.connect(map[string]any{"key": "k"})
	}
}
