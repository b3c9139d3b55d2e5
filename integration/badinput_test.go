package integration_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/jamsockettest"
)

// Bad input (issue 3) gets the right status and error body, and the plane
// keeps serving. The Jamsocket surface answers every error in its JSON
// shape; Plane's controller answers a body it cannot decode as axum does,
// in plain text, and everything else in its {id, kind, message} JSON.
func TestBadInput(t *testing.T) {
	t.Parallel()
	forTargets(t, func(t *testing.T, tg target) {
		srv := newServer(t, tg, runner{}, nil)
		ctx := testContext(t)
		connectURL := srv.APIURL + "/v2/service/" + jamsockettest.Account + "/" + jamsockettest.Service + "/connect"
		if tg.plane {
			connectURL = srv.APIURL + "/ctrl/connect"
		}

		// Raw HTTP: a body that is not JSON, and one over the 1 MiB limit.
		huge := `{"user":"` + strings.Repeat("x", 1<<20) // just over the 1 MiB limit + `"}`
		for _, c := range []struct {
			name, body string
			status     int
			code       string // Jamsocket's error code
		}{
			{"malformed JSON", `{"key": "k"`, http.StatusBadRequest, "InvalidJson"},
			{"oversized body", huge, http.StatusRequestEntityTooLarge, "PayloadTooLarge"},
		} {
			code, ctype, body := post(t, connectURL, "Bearer test-token", c.body)
			assert.Equal(t, c.status, code, c.name)
			if tg.plane {
				assert.Equal(t, "text/plain; charset=utf-8", ctype, c.name)
				assert.NotEmpty(t, body, c.name)
			} else {
				assert.Equal(t, "application/json", ctype, c.name)
				var e wire.ErrorBody
				require.NoError(t, json.Unmarshal(body, &e), "%s: %s", c.name, body)
				assert.Equal(t, c.code, e.Error.Code, c.name)
				assert.NotEmpty(t, e.Error.Message, c.name)
			}
		}

		// Through the SDK: the same oversized body becomes an *APIError.
		_, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "k", Auth: map[string]any{"blob": huge}})
		assert.Equal(t, http.StatusRequestEntityTooLarge, apiError(t, err).StatusCode)

		// Reserved environment names are refused with 400 in JSON.
		for _, name := range []string{"PORT", "SESSION_BACKEND_ID", "SESSION_BACKEND_KEY", "JAMSOCKET_SERVICE"} {
			_, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Spawn: &jamsocket.SpawnConfig{
				Executable: &jamsocket.Executable{Env: map[string]string{name: "1"}},
			}})
			apiErr := apiError(t, err)
			assert.Equal(t, http.StatusBadRequest, apiErr.StatusCode, name)
			assert.NotEmpty(t, apiErr.Code, "%s: a JSON error with a code", name)
			assert.NotEmpty(t, apiErr.RequestID, "%s: a JSON error with an id", name)
			assert.Contains(t, apiErr.Message, name)
		}

		// Unknown ids are ErrNotFound, whatever the method.
		const unknown = "nosuchbackend0"
		_, err = srv.Client.Status(ctx, unknown)
		assert.ErrorIs(t, err, jamsocket.ErrNotFound)
		_, err = srv.Client.WaitReady(ctx, unknown)
		assert.ErrorIs(t, err, jamsocket.ErrNotFound)
		err = srv.Client.Terminate(ctx, unknown, nil)
		assert.ErrorIs(t, err, jamsocket.ErrNotFound)
		assert.NotEmpty(t, apiError(t, err).RequestID, "a JSON error")

		// A wrong token is ErrUnauthorized on the control endpoints.
		wrong := clientWithToken(t, tg, srv, "wrong-token")
		_, err = wrong.Spawn(ctx, &jamsocket.ConnectRequest{Key: "k"})
		assert.ErrorIs(t, err, jamsocket.ErrUnauthorized)
		assert.NotEmpty(t, apiError(t, err).RequestID, "a JSON error")
		err = wrong.Terminate(ctx, unknown, nil)
		assert.ErrorIs(t, err, jamsocket.ErrUnauthorized, "the token is checked before the id")
		assert.Empty(t, srv.Backends(), "no bad request spawned anything")

		// And the plane keeps serving.
		conn := spawnReady(t, srv.Client, &jamsocket.ConnectRequest{Key: "k"})
		assert.Equal(t, conn.BackendID, echo(t, http.MethodGet, conn.URL).BackendID)
	})
}

// post sends a JSON body with an Authorization header and returns the status,
// content type and body of the answer.
func post(t *testing.T, url, authorization, body string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodPost, url, bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", authorization)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), data
}

// clientWithToken is a Client for srv's surface that sends token.
func clientWithToken(t *testing.T, tg target, srv *jamsockettest.Server, token string) *jamsocket.Client {
	t.Helper()
	var c *jamsocket.Client
	var err error
	if tg.plane {
		c, err = jamsocket.NewPlane(jamsocket.PlaneConfig{
			ControllerURL: srv.APIURL, Token: token, Executable: jamsocket.PlaneExecutable{Image: "jamsockettest"},
		})
	} else {
		c, err = jamsocket.New(jamsocket.Config{
			Account: jamsockettest.Account, Service: jamsockettest.Service, Token: token, APIURL: srv.APIURL,
		})
	}
	require.NoError(t, err)
	return c
}
