package jamsocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTokenNeverInErrors(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	echo := errors.New("proxy said: bad header Authorization: Bearer " + testToken)
	mock.RegisterResponder("POST", connectURL, failing(echo))
	mock.RegisterResponder("GET", statusURL, jsonResponder(401, `{"error":{"message":"token `+testToken+` is revoked","code":"Unauthorized"}}`))
	mock.RegisterResponder("POST", testAPI+"/v2/backend/b1/terminate", jsonResponder(500, "invalid token "+testToken))
	mock.RegisterResponder("GET", streamURL, failing(echo))
	ctx := context.Background()

	_, err := c.Spawn(ctx, &ConnectRequest{Key: "k"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testToken)
	assert.ErrorIs(t, err, echo, "the scrubbed error still unwraps to its cause")
	assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), testToken)

	_, err = c.Status(ctx, "b1")
	require.ErrorIs(t, err, ErrUnauthorized)
	assert.NotContains(t, err.Error(), testToken)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.NotContains(t, apiErr.Message, testToken)

	err = c.Terminate(ctx, "b1", nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testToken)

	_, err = collect(t, c.StatusStream(ctx, "b1"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testToken)
}

func TestTokenNeverPrinted(t *testing.T) {
	cfg := Config{Account: "acme", Token: testToken, Service: "editor"}
	c, err := New(cfg)
	require.NoError(t, err)
	pcfg := PlaneConfig{ControllerURL: "https://" + testToken + "@plane.example", Token: testToken,
		Executable: PlaneExecutable{Image: "img", Credentials: &RegistryAuth{Username: "bot", Password: testToken}}}
	pc, err := NewPlane(pcfg)
	require.NoError(t, err)
	badURL := PlaneConfig{ControllerURL: "https://" + testToken + "@plane.example:port/", Executable: PlaneExecutable{Image: "img"}}

	for name, v := range map[string]any{"Config": cfg, "*Config": &cfg, "*Client": c, "Client": *c, "plane *Client": pc,
		"PlaneConfig": pcfg, "*PlaneConfig": &pcfg, "unparsable PlaneConfig": badURL} {
		out := fmt.Sprintf("%v %+v %#v %s", v, v, v, v)
		assert.NotContains(t, out, testToken, name)
		var jsonBuf, textBuf bytes.Buffer
		slog.New(slog.NewJSONHandler(&jsonBuf, nil)).Info("x", "v", v)
		slog.New(slog.NewTextHandler(&textBuf, nil)).Info("x", "v", v)
		assert.NotContains(t, jsonBuf.String(), testToken, name+" in JSON log")
		assert.NotContains(t, textBuf.String(), testToken, name+" in text log")
	}
	assert.Contains(t, fmt.Sprint(cfg), "acme")
	assert.Contains(t, fmt.Sprint(c), "editor")

	_, err = NewPlane(badURL)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testToken)
}

func TestConnectResponseNeverLogged(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	mock.RegisterResponder("POST", connectURL, jsonResponder(200, connectBody))
	resp, err := c.Spawn(context.Background(), nil)
	require.NoError(t, err)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("spawned", "conn", resp, "value", *resp)
	out := buf.String() + fmt.Sprintf("%v %+v %#v %v", resp, resp, resp, *resp)
	for _, secret := range []string{resp.Token, resp.SecretToken, resp.URL, resp.ReadyURL} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, out, "knrv5")
}

func TestLogsDuringRetries(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock, WithLogger(logger))
	mock.RegisterResponder("POST", connectURL, sequence(jsonResponder(503, "busy "+testToken), failing(errReset), jsonResponder(200, connectBody)))
	mock.RegisterResponder("GET", streamURL, sequence(failing(errors.New("reset with "+testToken)),
		sseResponder("data: garbage "+testToken+"\n\n"+events(StatusReady, StatusTerminated), false)))
	_, err := c.Spawn(context.Background(), &ConnectRequest{Key: "k", Auth: map[string]any{"pw": testToken}})
	require.NoError(t, err)
	_, err = collect(t, c.StatusStream(context.Background(), "b1"))
	require.NoError(t, err)

	out := buf.String()
	assert.NotContains(t, out, testToken)
	assert.NotContains(t, out, "Bearer")
	assert.NotContains(t, out, "4ahosrz8D53AmXj", "no response body")
	assert.Contains(t, out, `"method":"POST"`)
	assert.Contains(t, out, `"path":"/v2/service/acme/editor/connect"`)
	assert.Contains(t, out, `"status":503`)
	assert.Contains(t, out, "stream reconnecting")
	assert.Contains(t, out, `"level":"DEBUG"`)
}

func TestNilLogger(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock, WithLogger(nil))
	mock.RegisterResponder("GET", statusURL, sequence(jsonResponder(503, ""), jsonResponder(200, readyBody)))
	_, err := c.Status(context.Background(), "b1")
	require.NoError(t, err)
}

// A status body that does not decode is an error that does not quote it.
func TestUndecodableStatusErrorHoldsNoPayload(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	mock.RegisterResponder("GET", statusURL, jsonResponder(200, `{"time":"2024-11-04T20:42:21Z","secret":"s3cr3t-payload"}`))
	_, err := c.Status(context.Background(), "b1")
	require.ErrorIs(t, err, ErrInvalidResponse)
	assert.NotContains(t, err.Error(), "s3cr3t-payload")
}
