package jamsocket_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
)

// bodyRecorder answers with status and body and keeps each request body.
type bodyRecorder struct {
	t      *testing.T
	status int
	answer string
	bodies []string
}

func (r *bodyRecorder) respond(req *http.Request) (*http.Response, error) {
	var b []byte
	if req.Body != nil {
		b, _ = io.ReadAll(req.Body)
	}
	r.bodies = append(r.bodies, string(b))
	return jsonResponder(r.t, r.status, r.answer)(req)
}

func TestCreateService(t *testing.T) {
	c, mock := newMockClient(t)
	rec := &bodyRecorder{t: t, status: http.StatusOK, answer: `{"status":"ok"}`}
	mock.RegisterResponder(http.MethodPost, testAPI+"/v2/account/acct/service", rec.respond)
	require.NoError(t, c.CreateService(t.Context(), "my service"))
	require.Len(t, rec.bodies, 1)
	assert.JSONEq(t, `{"name":"my service"}`, rec.bodies[0])
	assert.Error(t, c.CreateService(t.Context(), ""), "the name never defaults")
}

func TestCreateServiceNotRetriedAfter503(t *testing.T) {
	c, mock := newMockClient(t)
	rec := &bodyRecorder{t: t, status: http.StatusServiceUnavailable, answer: "busy"}
	mock.RegisterResponder(http.MethodPost, testAPI+"/v2/account/acct/service", rec.respond)
	err := c.CreateService(t.Context(), "new")
	var apiErr *jamsocket.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	assert.Len(t, rec.bodies, 1, "a create the server may have acted on is sent once")
}

func TestCreateServiceRetriedAfter429(t *testing.T) {
	c, mock := newMockClient(t)
	n := 0
	mock.RegisterResponder(http.MethodPost, testAPI+"/v2/account/acct/service", func(req *http.Request) (*http.Response, error) {
		n++
		if n == 1 {
			return jsonResponder(t, http.StatusTooManyRequests, `{"error":{"message":"slow down","code":"RateLimited"}}`)(req)
		}
		return jsonResponder(t, http.StatusOK, `{"status":"ok"}`)(req)
	})
	require.NoError(t, c.CreateService(t.Context(), "new"))
	assert.Equal(t, 2, n, "429 means the server did not act")
}

func TestDeleteService(t *testing.T) {
	c, mock := newMockClient(t)
	rec := &bodyRecorder{t: t, status: http.StatusOK, answer: `{"status":"ok"}`}
	mock.RegisterResponder(http.MethodPost, testAPI+"/v2/service/acct/a%2Fb/delete", rec.respond)
	require.NoError(t, c.DeleteService(t.Context(), "a/b"), "the name is one escaped segment")
	assert.Equal(t, []string{""}, rec.bodies, "delete has no body")
	assert.Error(t, c.DeleteService(t.Context(), ""), "the name never defaults")

	rec503 := &bodyRecorder{t: t, status: http.StatusServiceUnavailable, answer: "busy"}
	mock.RegisterResponder(http.MethodPost, testAPI+"/v2/service/acct/x/delete", rec503.respond)
	assert.Error(t, c.DeleteService(t.Context(), "x"))
	assert.Len(t, rec503.bodies, 1)
}

const serviceInfoJSON = `{
	"name": "svc", "account_name": "acct", "created_at": "2024-01-02T03:04:05.000Z",
	"last_spawned_at": null, "last_image_upload_time": "2024-02-03T04:05:06.000Z", "last_image_digest": "sha256:d",
	"image_name": "registry.jamsocket.com/acct/svc",
	"environments": [
		{"name": "default", "image_tag": "latest", "cluster": "c1", "created_at": "2024-01-02T03:04:05.000Z", "last_spawned_at": "2024-03-01T00:00:00.000Z"},
		{"name": "staging", "image_tag": "v2", "cluster": "c1", "created_at": "2024-01-03T03:04:05.000Z", "last_spawned_at": null}
	]}`

func TestService(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/service/acct/svc", jsonResponder(t, http.StatusOK, serviceInfoJSON))
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/service/acct/other", jsonResponder(t, http.StatusOK, `{"name":"other","environments":[]}`))

	info, err := c.Service(t.Context(), "")
	require.NoError(t, err)
	assert.Equal(t, "svc", info.Name, `"" is the configured service`)
	assert.Nil(t, info.LastSpawnedAt)
	require.NotNil(t, info.LastImageUploadTime)
	assert.Equal(t, time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC), info.LastImageUploadTime.UTC())
	assert.Equal(t, "sha256:d", info.LastImageDigest)
	assert.Equal(t, "registry.jamsocket.com/acct/svc", info.ImageName)
	require.Len(t, info.Environments, 2)
	assert.Equal(t, jamsocket.ServiceEnvironment{
		Name: "staging", ImageTag: "v2", Cluster: "c1", CreatedAt: time.Date(2024, 1, 3, 3, 4, 5, 0, time.UTC),
	}, normalise(info.Environments[1]))
	require.NotNil(t, info.Environments[0].LastSpawnedAt)

	other, err := c.Service(t.Context(), "other")
	require.NoError(t, err)
	assert.Equal(t, "other", other.Name)
}

func normalise(e jamsocket.ServiceEnvironment) jamsocket.ServiceEnvironment {
	e.CreatedAt = e.CreatedAt.UTC()
	return e
}

func TestServiceInfoRoundTrips(t *testing.T) {
	var info jamsocket.ServiceInfo
	require.NoError(t, json.Unmarshal([]byte(serviceInfoJSON), &info))
	b, err := json.Marshal(info)
	require.NoError(t, err)
	var again jamsocket.ServiceInfo
	require.NoError(t, json.Unmarshal(b, &again))
	assert.Equal(t, info.Name, again.Name)
	assert.Equal(t, info.Environments[1].ImageTag, again.Environments[1].ImageTag)
	assert.Contains(t, string(b), `"last_spawned_at":null`)
}

func TestListServices(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/account/acct/services", jsonResponder(t, http.StatusOK, `{"services":["a","b"]}`))
	names, err := c.ListServices(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, names)

	for _, body := range []string{`{"services":null}`, `{"services":"a"}`, `{"services":[1]}`} {
		mock.RegisterResponder(http.MethodGet, testAPI+"/v2/account/acct/services", jsonResponder(t, http.StatusOK, body))
		_, err := c.ListServices(t.Context())
		assert.ErrorIs(t, err, jamsocket.ErrInvalidResponse, body)
	}
}

func TestImages(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/service/acct/svc/images", jsonResponder(t, http.StatusOK, `{"images":[
		{"repository":"registry.jamsocket.com/acct/svc","digest":"sha256:1","tag":"latest","upload_time":"2024-02-03T04:05:06.000Z"}]}`))
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/service/acct/empty/images", jsonResponder(t, http.StatusOK, `{"images":[]}`))
	images, err := c.Images(t.Context(), "")
	require.NoError(t, err)
	require.Len(t, images, 1)
	assert.Equal(t, "sha256:1", images[0].Digest)
	assert.Equal(t, "latest", images[0].Tag)
	assert.Equal(t, time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC), images[0].UploadTime.UTC())

	images, err = c.Images(t.Context(), "empty")
	require.NoError(t, err)
	assert.Empty(t, images)
}

func TestImagesRetriedAfter503(t *testing.T) {
	c, mock := newMockClient(t)
	n := 0
	mock.RegisterResponder(http.MethodGet, testAPI+"/v2/service/acct/svc/images", func(req *http.Request) (*http.Response, error) {
		n++
		if n == 1 {
			return jsonResponder(t, http.StatusServiceUnavailable, "busy")(req)
		}
		return jsonResponder(t, http.StatusOK, `{"images":[]}`)(req)
	})
	_, err := c.Images(t.Context(), "")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

func TestUpdateEnvironment(t *testing.T) {
	c, mock := newMockClient(t)
	def := &bodyRecorder{t: t, status: http.StatusOK, answer: `{"status":"ok"}`}
	env := &bodyRecorder{t: t, status: http.StatusOK, answer: `{"status":"ok"}`}
	mock.RegisterResponder(http.MethodPost, testAPI+"/v2/service/acct/svc/update", def.respond)
	mock.RegisterResponder(http.MethodPost, testAPI+"/v2/service/acct/svc/staging/update", env.respond)

	require.NoError(t, c.UpdateEnvironment(t.Context(), "", "v1"))
	require.NoError(t, c.UpdateEnvironment(t.Context(), "staging", "sha256:abc"))
	assert.Equal(t, []string{`{"image_tag":"v1"}`}, def.bodies)
	assert.Equal(t, []string{`{"image_tag":"sha256:abc"}`}, env.bodies)
	assert.Error(t, c.UpdateEnvironment(t.Context(), "", ""))
}

func TestUpdateEnvironmentRetriedAfter503(t *testing.T) {
	c, mock := newMockClient(t)
	n := 0
	mock.RegisterResponder(http.MethodPost, testAPI+"/v2/service/acct/svc/update", func(req *http.Request) (*http.Response, error) {
		n++
		b, _ := io.ReadAll(req.Body)
		assert.JSONEq(t, `{"image_tag":"v1"}`, string(b), "each attempt sends the body")
		if n == 1 {
			return jsonResponder(t, http.StatusServiceUnavailable, "busy")(req)
		}
		return jsonResponder(t, http.StatusOK, `{"status":"ok"}`)(req)
	})
	require.NoError(t, c.UpdateEnvironment(t.Context(), "", "v1"))
	assert.Equal(t, 2, n)
}

func TestImageName(t *testing.T) {
	c, mock := newMockClient(t)
	mock.RegisterResponder(http.MethodGet, testAPI+"/service/acct/svc/image-name", func(req *http.Request) (*http.Response, error) {
		assert.Equal(t, "Bearer "+testToken, req.Header.Get("Authorization"))
		return jsonResponder(t, http.StatusOK, `{"imageName":"registry.jamsocket.com/acct/svc"}`)(req)
	})
	mock.RegisterResponder(http.MethodGet, testAPI+"/service/acct/other/image-name", jsonResponder(t, http.StatusOK, `{}`))
	name, err := c.ImageName(t.Context(), "")
	require.NoError(t, err)
	assert.Equal(t, "registry.jamsocket.com/acct/svc", name)

	_, err = c.ImageName(t.Context(), "other")
	assert.ErrorIs(t, err, jamsocket.ErrInvalidResponse, "an answer without imageName")
}
