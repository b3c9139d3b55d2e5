package dockertest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/dockertest"
)

func TestGoImageIsBuiltOnceFromScratch(t *testing.T) {
	cli := dockertest.Client(t)
	img := dockertest.GoImage(t, cli, "github.com/jamsocket-go/jamsocket/internal/dockertest/testbackend")
	require.Equal(t, img, dockertest.GoImage(t, cli, "github.com/jamsocket-go/jamsocket/internal/dockertest/testbackend"))
	inspect, err := cli.ImageInspect(context.Background(), img)
	require.NoError(t, err)
	require.Equal(t, []string{"/app"}, inspect.Config.Entrypoint)
	require.Len(t, inspect.RootFS.Layers, 1, "FROM scratch plus one COPY")
}
