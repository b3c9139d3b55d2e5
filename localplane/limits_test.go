package localplane_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// Seconds fields are range-checked at decode (Plane's i32): a value that
// would overflow a Duration (18446744074 s wraps to 0.29 s) is refused,
// naming the field, instead of sweeping the backend at once.
func TestSecondsFieldsAreRangeChecked(t *testing.T) {
	p := startPlane(t, localplane.Config{})
	for _, field := range []string{"max_idle_seconds", "lifetime_limit_seconds"} {
		for _, n := range []string{"18446744074", "2147483648", "-1"} {
			code, body, _ := p.do("POST", "/v2/service/a/s/connect", `{"spawn":{"`+field+`":`+n+`}}`)
			assert.Equal(t, http.StatusBadRequest, code, "%s=%s: %s", field, n, body)
			assert.Contains(t, string(body), "spawn."+field)
			assert.Equal(t, "BadRequest", errorCode(t, body))

			code, body, _ = p.do("POST", "/ctrl/connect", `{"spawn_config":{"executable":{"image":"x"},"`+field+`":`+n+`}}`)
			assert.Equal(t, http.StatusUnprocessableEntity, code, "%s=%s: %s", field, n, body)
			var perr wire.PlaneError
			require.NoError(t, json.Unmarshal(body, &perr), "a JSON error: %s", body)
			assert.Contains(t, perr.Message, "spawn_config."+field)
		}
	}
	assert.Empty(t, p.Backends(), "nothing spawned")

	res := p.connect(map[string]any{"spawn": map[string]any{"max_idle_seconds": 2147483647, "lifetime_limit_seconds": 2147483647}})
	p.statusStream(res.BackendID).until(types.StatusReady)

	_, err := localplane.New(localplane.Config{Handler: handlerBackends, DefaultMaxIdleSeconds: 1 << 40})
	assert.Error(t, err)
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// No sequence of requests grows the plane's memory without bound: names are
// capped in length and remembered accounts in number, and a backend keeps
// a bounded number of tokens.
func TestStateIsBounded(t *testing.T) {
	p := startPlane(t, localplane.Config{})

	huge := strings.Repeat("a", 200<<10)
	for range 20 {
		code, _, _ := p.do("GET", "/v2/account/"+huge+"/backends", nil)
		assert.Equal(t, http.StatusBadRequest, code)
	}
	before := heapInUse()
	for i := range 2000 {
		code, _, _ := p.do("GET", fmt.Sprintf("/v2/account/acct-%0120d/backends", i), nil)
		require.Equal(t, http.StatusOK, code)
	}
	growth := int64(heapInUse()) - int64(before)
	t.Logf("heap growth after 2000 distinct accounts: %d bytes", growth)
	assert.Less(t, growth, int64(1<<20), "2000 distinct 125-byte accounts keep less than 1 MiB")
	_, body, _ := p.do("GET", "/auth", nil)
	var auth types.AuthInfo
	require.NoError(t, json.Unmarshal(body, &auth))
	assert.Len(t, auth.Accounts, 64)

	// Identity is bounded in size; tokens in number.
	code, _, _ := p.do("POST", "/v2/service/a/s/connect", map[string]any{"key": "k", "user": strings.Repeat("u", 2<<10)})
	assert.Equal(t, http.StatusBadRequest, code)
	code, _, _ = p.do("POST", "/v2/service/a/s/connect", map[string]any{"key": "k", "auth": map[string]any{"x": strings.Repeat("u", 20<<10)}})
	assert.Equal(t, http.StatusBadRequest, code)
	first := p.connect(map[string]any{"key": "k", "auth": map[string]any{"x": strings.Repeat("u", 4<<10)}})
	p.statusStream(first.BackendID).until(types.StatusReady)
	before = heapInUse()
	refused := 0
	for range 3000 {
		code, _, _ := p.do("POST", "/v2/service/acct/svc/connect", map[string]any{"key": "k", "auth": map[string]any{"x": strings.Repeat("u", 4<<10)}})
		if code == http.StatusServiceUnavailable {
			refused++
		}
	}
	growth = int64(heapInUse()) - int64(before)
	t.Logf("heap growth after 3000 more connects with 4 KiB auth: %d bytes", growth)
	assert.Less(t, growth, int64(2<<20), "a backend keeps at most 1 MiB of user and auth, not 12 MiB")
	assert.Equal(t, 3000-(1<<20)/len(`{"x":"`+strings.Repeat("u", 4<<10)+`"}`)+1, refused, "the connects beyond 1 MiB are refused")
	code, _, _ = get(t, first.URL)
	assert.Equal(t, http.StatusOK, code, "the first token still opens the backend")
}

// The live and retained backends are bounded in number: a connect beyond
// the live bound is refused (503; Plane's surface: 500), and the oldest terminated backend is
// forgotten early beyond the retained bound.
func TestBackendsAreBoundedInNumber(t *testing.T) {
	p := startPlane(t, localplane.Config{}, func(s *localplane.Server) { localplane.SetBounds(s, 3, 2, 1024) })
	var ids []string
	for i := range 3 {
		ids = append(ids, p.connect(map[string]any{"key": fmt.Sprint(i)}).BackendID)
	}
	code, body, _ := p.do("POST", "/v2/service/a/s/connect", map[string]any{"key": "one too many"})
	assert.Equal(t, http.StatusServiceUnavailable, code, string(body))
	code, _, _ = p.do("POST", "/ctrl/connect", map[string]any{"spawn_config": map[string]any{"executable": map[string]any{"image": "x"}}})
	assert.Equal(t, http.StatusInternalServerError, code, "Plane's NoDroneAvailable")
	again := p.connect(map[string]any{"key": "0"})
	assert.False(t, again.Spawned, "a connect to a held key still works")

	for _, id := range ids {
		stream := p.statusStream(id)
		require.NoError(t, p.Terminate(id, true))
		stream.until(types.StatusTerminated)
	}
	require.Eventually(t, func() bool { return len(p.Backends()) == 2 }, 10*time.Second, 5*time.Millisecond,
		"two terminated backends are retained")
	_, kept := p.Backend(ids[0])
	assert.False(t, kept, "the oldest is forgotten early")
	p.connect(map[string]any{"key": "room again"})
}
