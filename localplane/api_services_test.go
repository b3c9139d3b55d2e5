package localplane_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// The service endpoints keep a catalog: create, list, info, update of an
// environment, images, delete; every one needs the token.
func TestServiceCatalog(t *testing.T) {
	p := startPlane(t, localplane.Config{Token: "tok", ImageRegistry: "127.0.0.1:5000"})
	auth := []string{"Authorization", "Bearer tok"}
	do := func(method, path string, body any) (int, []byte) {
		t.Helper()
		code, resp, hdr := p.do(method, path, body, auth...)
		assert.Equal(t, "application/json", hdr.Get("Content-Type"), path)
		return code, resp
	}

	code, resp := do("POST", "/v2/account/acct/service", `{"name":"svc"}`)
	require.Equal(t, http.StatusOK, code, string(resp))
	code, resp = do("POST", "/v2/account/acct/service", `{"name":"svc"}`)
	assert.Equal(t, http.StatusConflict, code)
	assert.Equal(t, "ServiceExists", errorCode(t, resp))
	code, resp = do("POST", "/v2/account/acct/service", `{"name":"Bad Name\u001b[2J"}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.NotContains(t, string(resp), "\x1b", "request text is not echoed raw")
	require.Equal(t, http.StatusOK, first(do("POST", "/v2/account/other/service", `{"name":"theirs"}`)))

	code, resp = do("GET", "/v2/account/acct/services", nil)
	require.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"services":["svc"]}`, string(resp), "per account")

	require.Equal(t, http.StatusOK, first(do("POST", "/v2/service/acct/svc/update", `{"image_tag":"v2"}`)))
	require.Equal(t, http.StatusOK, first(do("POST", "/v2/service/acct/svc/staging/update", `{"image_tag":"sha256:9"}`)))
	assert.Equal(t, http.StatusBadRequest, first(do("POST", "/v2/service/acct/svc/update", `{}`)))
	assert.Equal(t, http.StatusNotFound, first(do("POST", "/v2/service/acct/nope/update", `{"image_tag":"v2"}`)))

	code, resp = do("GET", "/v2/service/acct/svc", nil)
	require.Equal(t, http.StatusOK, code)
	var info types.ServiceInfo
	require.NoError(t, json.Unmarshal(resp, &info))
	assert.Equal(t, "svc", info.Name)
	assert.Equal(t, "acct", info.AccountName)
	assert.Equal(t, "127.0.0.1:5000/acct/svc", info.ImageName)
	require.Len(t, info.Environments, 2)
	assert.Equal(t, "default", info.Environments[0].Name)
	assert.Equal(t, "v2", info.Environments[0].ImageTag)
	assert.Equal(t, "staging", info.Environments[1].Name)
	assert.Equal(t, "sha256:9", info.Environments[1].ImageTag)

	code, resp = do("GET", "/v2/service/acct/svc/images", nil)
	require.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"images":[]}`, string(resp))

	require.Equal(t, http.StatusOK, first(do("POST", "/v2/service/acct/svc/delete", nil)))
	code, resp = do("GET", "/v2/service/acct/svc", nil)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "NotFound", errorCode(t, resp))
	assert.Equal(t, http.StatusNotFound, first(do("POST", "/v2/service/acct/svc/delete", nil)))
	assert.Equal(t, http.StatusNotFound, first(do("GET", "/v2/service/acct/svc/images", nil)))

	for _, path := range []string{"/v2/account/acct/services", "/v2/service/acct/theirs"} {
		code, _, _ := p.do("GET", path, nil)
		assert.Equal(t, http.StatusUnauthorized, code, path)
	}
	// Backend routes are not shadowed by the service ones.
	code, resp = do("GET", "/v2/backend/nosuchbackend0", nil)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "NotFound", errorCode(t, resp))
}

func first(code int, _ []byte) int { return code }
