// Package dockerbuild builds a Dockerfile into a local image with the docker
// CLI and returns the image's id.
//
// The CLI, not the engine API: through the API a BuildKit build needs
// BuildKit's own session protocol (gRPC over a hijacked connection, with
// file sync), which is what the CLI implements. The CLI uses BuildKit where
// the engine and its buildx plugin have it and the classic builder
// otherwise, as the official jamsocket CLI's `docker build` does.
package dockerbuild

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrNoDocker means the docker command is not installed.
var ErrNoDocker = errors.New("the docker command is not installed (it builds the Dockerfile)")

// Build builds dockerfile with contextDir as the build context and returns
// the image id ("sha256:…"). output, if not nil, receives every line the
// build prints. The image carries the label dev.jamsocket-go.build=true.
func Build(ctx context.Context, dockerfile, contextDir string, output func(line string)) (string, error) {
	dir, err := os.MkdirTemp("", "jamsocket-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	iidFile := filepath.Join(dir, "iid")
	cmd := exec.CommandContext(ctx, "docker", "build", "--iidfile", iidFile, "-f", dockerfile,
		"--label", "dev.jamsocket-go.build=true", contextDir)
	cmd.WaitDelay = 5 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var tail []string // the last lines, for the error
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 64<<10)
		for sc.Scan() {
			if output != nil {
				output(sc.Text())
			}
			tail = append(tail[max(0, len(tail)-2):], sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	err = cmd.Run()
	pw.Close()
	<-lines
	if errors.Is(err, exec.ErrNotFound) {
		return "", ErrNoDocker
	}
	if err != nil {
		return "", fmt.Errorf("docker build: %w: %s", err, strings.Join(tail, " / "))
	}
	id, err := os.ReadFile(iidFile)
	if err != nil || len(strings.TrimSpace(string(id))) == 0 {
		return "", errors.New("docker build wrote no image id")
	}
	return strings.TrimSpace(string(id)), nil
}
