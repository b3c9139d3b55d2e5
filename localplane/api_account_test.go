package localplane_test

import (
	"encoding/json"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/internal/wiretime"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

func TestTerminateBackendsInBatches(t *testing.T) {
	p := startPlane(t, localplane.Config{TerminateBatchSize: 2})
	spawn := func(path string) string {
		t.Helper()
		code, body, _ := p.do("POST", path, nil)
		require.Equal(t, http.StatusOK, code, string(body))
		var res types.ConnectResponse
		require.NoError(t, json.Unmarshal(body, &res))
		return res.BackendID
	}
	var ids []string
	for range 4 {
		ids = append(ids, spawn("/v2/service/acct/svc/connect"))
	}
	ids = append(ids, spawn("/v2/service/acct/svc/staging/connect")) // every environment counts
	other := spawn("/v2/service/acct/other/connect")                 // another service does not
	// Times are compared at millisecond precision: the next backend is
	// spawned in a later millisecond than before.
	before := time.Now()
	for time.Now().Truncate(time.Millisecond).Compare(before.Truncate(time.Millisecond)) <= 0 {
		runtime.Gosched()
	}
	later := spawn("/v2/service/acct/svc/connect")

	round := func(req wire.TerminateBackendsRequest) wire.TerminateBackendsResponse {
		t.Helper()
		code, body, hdr := p.do("POST", "/service/acct/svc/terminate-backends", req)
		require.Equal(t, http.StatusOK, code, string(body))
		assert.Equal(t, "application/json", hdr.Get("Content-Type"))
		var res wire.TerminateBackendsResponse
		require.NoError(t, json.Unmarshal(body, &res))
		return res
	}
	req := wire.TerminateBackendsRequest{Before: wiretime.Time(before), DryRun: true}
	assert.Equal(t, wire.TerminateBackendsResponse{BackendCount: 5, IsComplete: true}, round(req), "a dry run counts")
	req.DryRun = false
	assert.Equal(t, wire.TerminateBackendsResponse{BackendCount: 2, TerminatedCount: 2}, round(req))
	assert.Equal(t, wire.TerminateBackendsResponse{BackendCount: 2, TerminatedCount: 2}, round(req))
	assert.Equal(t, wire.TerminateBackendsResponse{BackendCount: 1, TerminatedCount: 1, IsComplete: true}, round(req))
	assert.Equal(t, wire.TerminateBackendsResponse{IsComplete: true}, round(req), "nothing left")

	for _, id := range ids {
		rest := p.statusStream(id).until(types.StatusTerminated)
		assert.Equal(t, types.ReasonExternal, rest[len(rest)-1].TerminationReason)
		assert.Equal(t, types.KindSoft, rest[len(rest)-1].TerminationKind)
	}
	for _, id := range []string{other, later} {
		sum, ok := p.Backend(id)
		require.True(t, ok)
		assert.False(t, sum.Status.IsEnding(), "another service, or spawned after before: spared")
	}

	// Hard, with no before (now): the rest of the service, at once.
	res := round(wire.TerminateBackendsRequest{Hard: true})
	assert.Equal(t, wire.TerminateBackendsResponse{BackendCount: 1, TerminatedCount: 1, IsComplete: true}, res)
	rest := p.statusStream(later).until(types.StatusTerminated)
	assert.Equal(t, types.KindHard, rest[len(rest)-1].TerminationKind)
}

func TestTerminateBackendsBadInput(t *testing.T) {
	p := startPlane(t, localplane.Config{Token: "tok"})
	code, body, _ := p.do("POST", "/service/acct/svc/terminate-backends", `{}`)
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, "Unauthorized", errorCode(t, body))
	code, body, _ = p.do("POST", "/service/acct/svc/terminate-backends", `{"before":`, "Authorization", "Bearer tok")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, "InvalidJson", errorCode(t, body))
	code, body, _ = p.do("POST", "/service/acct/svc/terminate-backends", `{"before":"yesterday"}`, "Authorization", "Bearer tok")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, "InvalidJson", errorCode(t, body))
}

func TestAuth(t *testing.T) {
	p := startPlane(t, localplane.Config{Token: "tok"})
	auth := []string{"Authorization", "Bearer tok"}
	code, body, hdr := p.do("GET", "/auth", nil, auth...)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	assert.JSONEq(t, `{"status":"ok","accounts":["local"],"is_admin":true}`, string(body), "fresh: an admin, with an account to log in as")

	for _, path := range []string{"/v2/service/zeta/svc/connect", "/v2/service/acct/svc/connect"} {
		code, body, _ = p.do("POST", path, nil, auth...)
		require.Equal(t, http.StatusOK, code, string(body))
	}
	code, _, _ = p.do("GET", "/v2/account/acct/backends", nil, auth...)
	require.Equal(t, http.StatusOK, code)
	code, _, _ = p.do("GET", "/v2/account/intruder/backends", nil) // refused: not seen
	require.Equal(t, http.StatusUnauthorized, code)
	_, body, _ = p.do("GET", "/auth", nil, auth...)
	assert.JSONEq(t, `{"status":"ok","accounts":["acct","zeta"],"is_admin":true}`, string(body))

	for _, header := range [][]string{nil, {"Authorization", "Bearer nope"}} {
		code, body, hdr = p.do("GET", "/auth", nil, header...)
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Equal(t, "application/json", hdr.Get("Content-Type"))
		assert.Equal(t, "Unauthorized", errorCode(t, body))
	}

	configured := startPlane(t, localplane.Config{Accounts: []string{"mine"}})
	_, body, _ = configured.do("GET", "/auth", nil)
	assert.JSONEq(t, `{"status":"ok","accounts":["mine"],"is_admin":false}`, string(body))
}

func TestImageName(t *testing.T) {
	p := startPlane(t, localplane.Config{Token: "tok", ImageRegistry: "127.0.0.1:5000"})
	code, resp, _ := p.do("GET", "/service/acct/my-svc/image-name", nil, "Authorization", "Bearer tok")
	require.Equal(t, http.StatusOK, code, string(resp))
	assert.JSONEq(t, `{"imageName":"127.0.0.1:5000/acct/my-svc"}`, string(resp))

	code, resp, _ = p.do("GET", "/service/acct/My_Svc/image-name", nil, "Authorization", "Bearer tok")
	assert.Equal(t, http.StatusBadRequest, code, "not a repository name")
	assert.Equal(t, "BadRequest", errorCode(t, resp))

	code, _, _ = p.do("GET", "/service/acct/my-svc/image-name", nil)
	assert.Equal(t, http.StatusUnauthorized, code)

	none := startPlane(t, localplane.Config{})
	code, resp, _ = none.do("GET", "/service/acct/my-svc/image-name", nil)
	assert.Equal(t, http.StatusNotImplemented, code, "no registry configured")
	assert.Equal(t, "NotAvailableOnLocalPlane", errorCode(t, resp))
}
