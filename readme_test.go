package jamsocket_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// tourFile wraps the README's tour in a function, with the imports it uses.
const tourFile = `package readmetour

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/jamsocket-go/jamsocket"
)

func tour(ctx context.Context) error {
%s
}

var _ = tour
`

// The README's tour compiles as written: it is extracted, wrapped in a
// function and built (through an overlay, so nothing is written into the
// repository).
func TestReadmeTourCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package with the go command")
	}
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(readme), "## A tour\n")
	require.True(t, ok, "the README has a tour")
	_, rest, ok = strings.Cut(rest, "```go\n")
	require.True(t, ok, "the tour is a go block")
	code, _, ok := strings.Cut(rest, "```\n")
	require.True(t, ok, "the tour's block ends")

	dir := t.TempDir()
	src := filepath.Join(dir, "tour.go")
	require.NoError(t, os.WriteFile(src, []byte(strings.Replace(tourFile, "%s", code, 1)), 0o600))
	target, err := filepath.Abs(filepath.Join("internal", "readmetour", "tour.go"))
	require.NoError(t, err)
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {target: src}})
	require.NoError(t, err)
	overlayPath := filepath.Join(dir, "overlay.json")
	require.NoError(t, os.WriteFile(overlayPath, overlay, 0o600))

	goCmd, err := exec.LookPath("go")
	require.NoError(t, err, "the go command runs the tests, so it is on PATH")
	cmd := exec.Command(goCmd, "build", "-overlay", overlayPath, "-o", os.DevNull, "./internal/readmetour")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the README's tour does not compile:\n%s\n%s", out, code)
}
