package dockerbuild_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/dockerbuild"
)

// Named build contexts go through docker buildx; without it the build is
// refused with ErrNoBuildx before anything is sent, rather than run
// without the contexts the Dockerfile names.
func TestBuildContextsNeedBuildx(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("skipping: the docker command is not installed")
	}
	if exec.Command("docker", "buildx", "version").Run() == nil {
		t.Skip("skipping: docker buildx is installed here, so nothing is refused")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644))
	_, err := dockerbuild.Build(t.Context(), filepath.Join(dir, "Dockerfile"), dir, dockerbuild.Options{BuildContexts: []string{"extra=" + dir}})
	assert.ErrorIs(t, err, dockerbuild.ErrNoBuildx)
}
