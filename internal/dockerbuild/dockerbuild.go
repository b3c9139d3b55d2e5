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
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrNoDocker means the docker command is not installed.
var ErrNoDocker = errors.New("the docker command is not installed (it builds the Dockerfile)")

// ErrNoBuildx means a build needs BuildKit's buildx plugin (named build
// contexts exist only there) and the docker command has none.
var ErrNoBuildx = errors.New("named build contexts (--build-context) need BuildKit's docker buildx, which is not installed")

// Options are the optional parts of a build. The zero value builds for the
// engine's own platform with no labels but the build label.
type Options struct {
	// Output, if not nil, receives every line the build prints.
	Output func(line string)
	// Platform, if set, is the platform to build for ("linux/amd64").
	Platform string
	// Labels are added to the image.
	Labels map[string]string
	// BuildContexts are named build contexts, NAME=PATH, as docker buildx
	// takes them; with any, the build runs through buildx (ErrNoBuildx
	// when it is missing) and the image is loaded into the engine.
	BuildContexts []string
}

// Build builds dockerfile with contextDir as the build context and returns
// the image id ("sha256:…"). The image carries the label
// dev.jamsocket-go.build=true. The docker command reads .dockerignore, so
// the context sent is exactly what docker build would send.
func Build(ctx context.Context, dockerfile, contextDir string, opts Options) (string, error) {
	args := []string{"build"}
	if len(opts.BuildContexts) > 0 {
		if err := exec.CommandContext(ctx, "docker", "buildx", "version").Run(); err != nil {
			if errors.Is(err, exec.ErrNotFound) {
				return "", ErrNoDocker
			}
			return "", ErrNoBuildx
		}
		args = []string{"buildx", "build", "--load"}
		for _, bc := range opts.BuildContexts {
			args = append(args, "--build-context", bc)
		}
	}
	if opts.Platform != "" {
		args = append(args, "--platform", opts.Platform)
	}
	for _, k := range slices.Sorted(maps.Keys(opts.Labels)) {
		args = append(args, "--label", k+"="+opts.Labels[k])
	}
	dir, err := os.MkdirTemp("", "jamsocket-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	iidFile := filepath.Join(dir, "iid")
	args = append(args, "--iidfile", iidFile, "-f", dockerfile, "--label", "dev.jamsocket-go.build=true", contextDir)
	cmd := exec.CommandContext(ctx, "docker", args...)
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
			if opts.Output != nil {
				opts.Output(sc.Text())
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
