package localplane_test

import (
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
