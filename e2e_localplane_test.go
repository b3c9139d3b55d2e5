package jamsocket_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/jamsockettest"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// e2eContext bounds a test. The tests in this file are end-to-end tests of
// the account-level methods (Metrics, TerminateAll, CheckAuth and the
// service methods) against the local plane, through jamsockettest. The
// backends are in-process handlers; the metrics of process backends are
// tested in package localplane.
func e2eContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitTerminated follows a backend's status stream to its end and returns
// the last status.
func waitTerminated(ctx context.Context, t *testing.T, c *jamsocket.Client, id string) *jamsocket.BackendState {
	t.Helper()
	var last *jamsocket.BackendState
	for st, err := range c.StatusStream(ctx, id) {
		require.NoError(t, err)
		last = st
	}
	require.NotNil(t, last)
	return last
}

func TestE2EMetrics(t *testing.T) {
	srv := jamsockettest.NewServer(t, &jamsockettest.Options{
		Configure: func(cfg *localplane.Config) { cfg.MetricsInterval = 20 * time.Millisecond },
	})
	ctx := e2eContext(t)
	c := srv.Client
	conn, err := c.Spawn(ctx, &jamsocket.ConnectRequest{Key: "metrics"})
	require.NoError(t, err)
	_, err = c.WaitReady(ctx, conn.BackendID)
	require.NoError(t, err)

	samples := 0
	for m, err := range c.Metrics(ctx, conn.BackendID) {
		require.NoError(t, err)
		assert.Equal(t, conn.BackendID, m.BackendID)
		assert.Equal(t, "localplane", m.Cluster)
		samples++
		if samples == 2 {
			require.NoError(t, c.Terminate(ctx, conn.BackendID, &jamsocket.TerminateOptions{Hard: true}))
		}
	}
	assert.GreaterOrEqual(t, samples, 2, "samples until terminate, then the stream ends by itself")
	assert.Equal(t, jamsocket.StatusTerminated, waitTerminated(ctx, t, c, conn.BackendID).Status)

	assert.ErrorIs(t, onlyError(t, c.Metrics(ctx, "nosuchbackend0")), jamsocket.ErrNotFound)
}

func TestE2ETerminateAll(t *testing.T) {
	srv := jamsockettest.NewServer(t, &jamsockettest.Options{
		Configure: func(cfg *localplane.Config) { cfg.TerminateBatchSize = 2 },
	})
	ctx := e2eContext(t)
	c := srv.Client
	var ids []string
	for range 5 {
		conn, err := c.Spawn(ctx, nil)
		require.NoError(t, err)
		ids = append(ids, conn.BackendID)
	}

	dry, err := c.TerminateAll(ctx, jamsocket.TerminateAllRequest{DryRun: true})
	require.NoError(t, err)
	assert.Equal(t, &jamsocket.TerminateAllResult{BackendCount: 5, Rounds: 1, IsComplete: true}, dry)
	list, err := c.ListBackends(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 5, "a dry run terminates nothing")

	res, err := c.TerminateAll(ctx, jamsocket.TerminateAllRequest{})
	require.NoError(t, err)
	assert.Equal(t, &jamsocket.TerminateAllResult{BackendCount: 5, TerminatedCount: 5, Rounds: 3, IsComplete: true}, res,
		"batches of 2: is_complete false twice, then true; the counts add up to the dry run's")

	for _, id := range ids {
		last := waitTerminated(ctx, t, c, id)
		assert.Equal(t, jamsocket.StatusTerminated, last.Status)
		assert.Equal(t, jamsocket.ReasonExternal, last.TerminationReason)
	}
	list, err = c.ListBackends(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)

	again, err := c.TerminateAll(ctx, jamsocket.TerminateAllRequest{Hard: true})
	require.NoError(t, err)
	assert.Equal(t, &jamsocket.TerminateAllResult{Rounds: 1, IsComplete: true}, again, "nothing left")
}

func TestE2ECheckAuth(t *testing.T) {
	srv := jamsockettest.NewServer(t, nil)
	ctx := e2eContext(t)
	_, err := srv.Client.Spawn(ctx, nil)
	require.NoError(t, err)

	info, err := srv.Client.CheckAuth(ctx)
	require.NoError(t, err)
	assert.Equal(t, "ok", info.Status)
	assert.Equal(t, []string{jamsockettest.Account}, info.Accounts)
	assert.True(t, info.IsAdmin, "the local plane takes any account")

	wrong, err := jamsocket.New(jamsocket.Config{
		Account: jamsockettest.Account, Service: jamsockettest.Service, Token: "wrong-token", APIURL: srv.APIURL,
	})
	require.NoError(t, err)
	_, err = wrong.CheckAuth(ctx)
	require.ErrorIs(t, err, jamsocket.ErrUnauthorized)
	var apiErr *jamsocket.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	assert.Equal(t, "Unauthorized", apiErr.Code)
}

// The service methods against the local plane's catalog.
func TestE2EServices(t *testing.T) {
	srv := jamsockettest.NewServer(t, nil)
	ctx := e2eContext(t)
	c := srv.Client
	require.NoError(t, c.CreateService(ctx, jamsockettest.Service))
	require.NoError(t, c.CreateService(ctx, "other"))
	assert.ErrorIs(t, c.CreateService(ctx, "other"), jamsocket.ErrConflict)

	names, err := c.ListServices(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{jamsockettest.Service, "other"}, names)

	require.NoError(t, c.UpdateEnvironment(ctx, "", "v2"))
	require.NoError(t, c.UpdateEnvironment(ctx, "staging", "sha256:abc"))
	info, err := c.Service(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, jamsockettest.Service, info.Name)
	require.Len(t, info.Environments, 2)
	assert.Equal(t, "v2", info.Environments[0].ImageTag)

	images, err := c.Images(ctx, "other")
	require.NoError(t, err)
	assert.Empty(t, images)

	require.NoError(t, c.DeleteService(ctx, "other"))
	_, err = c.Service(ctx, "other")
	assert.ErrorIs(t, err, jamsocket.ErrNotFound)

	_, err = c.ImageName(ctx, "")
	var apiErr *jamsocket.APIError
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusNotImplemented, apiErr.StatusCode, "no registry configured")
}
