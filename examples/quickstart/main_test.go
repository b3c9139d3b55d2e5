package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// run starts this test binary again as the session backend.
	if os.Getenv("SESSION_BACKEND_ID") != "" {
		if err := serveBackend(); err != nil {
			os.Exit(1)
		}
		return
	}
	goleak.VerifyTestMain(m)
}

func TestQuickstartTellsTheWholeStory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out))
	got := out.String()
	for _, want := range []string{
		"spawned: true", "scheduled", "loading", "starting", "waiting", "ready",
		"saw path /hello?from=quickstart",
		"x-verified-username:   alice", `x-verified-user-data:  {"role":"editor"}`,
		"spawned: false, status: ready",
		"terminating", "final state: terminated, reason: external, kind: soft, exit_error: false",
	} {
		assert.Contains(t, got, want)
	}
	assert.NotContains(t, got, "mallory", "the proxy strips forged verified headers")
}
