// Package dockertest gives tests a Docker engine and tiny images to run on
// it. Client returns a client of the engine DOCKER_HOST names (or the
// default socket), or skips the test with a message saying what is missing;
// with JAMSOCKET_REQUIRE_DOCKER=1 (CI sets it) it fails the test instead.
// GoImage builds a static Go program into a FROM scratch image, once per
// test binary, so that nothing is ever pulled.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// RequireEnv is the environment variable that turns a missing engine from a
// skip into a failure.
const RequireEnv = "JAMSOCKET_REQUIRE_DOCKER"

// Required reports whether RequireEnv is set to 1.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Client returns a client of the Docker engine, closed when the test ends,
// or skips (fails, when Required) the test if no engine answers.
func Client(t testing.TB) *client.Client {
	t.Helper()
	cli, err := Connect(context.Background())
	if err != nil {
		Unavailable(t, err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// Unavailable skips the test because of err (a missing engine or tool), or
// fails it when Required.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("%v (%s=1, so this fails instead of skipping)", err, RequireEnv)
	}
	t.Skipf("skipping: %v (set %s=1 to make this a failure)", err, RequireEnv)
}

// Connect returns a client of the engine DOCKER_HOST names (the default
// socket when unset) once it has answered a ping, within 5 seconds. The
// client negotiates the API version down to the engine's (1.41 for Debian's
// engine 20.10).
func Connect(ctx context.Context) (*client.Client, error) {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = client.DefaultDockerHost
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("no Docker engine: DOCKER_HOST=%q: %w", host, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("no Docker engine answers at %s (start dockerd or set DOCKER_HOST): %w", host, err)
	}
	return cli, nil
}

var (
	imagesMu sync.Mutex
	images   = map[string]string{} // package path -> image
)

// GoImage builds the Go main package pkg (an import path or a directory) as
// a static binary, CGO_ENABLED=0, into a FROM scratch image whose entry
// point is that binary, and returns the image's name. The image is built
// once per test binary and tagged by the binary's hash, so that a later
// test binary with the same code reuses it.
func GoImage(t testing.TB, cli *client.Client, pkg string) string {
	t.Helper()
	imagesMu.Lock()
	defer imagesMu.Unlock()
	if img, ok := images[pkg]; ok {
		return img
	}
	img, err := buildGoImage(context.Background(), cli, pkg, t.TempDir())
	if err != nil {
		t.Fatalf("dockertest: building an image of %s: %v", pkg, err)
	}
	images[pkg] = img
	return img
}

// GoBinary builds the Go main package pkg as a static Linux binary at
// path, with the flags GoImage uses (so that the build cache serves both),
// plus ldflags (e.g. "-X main.version=v2") if given.
func GoBinary(t testing.TB, pkg, path string, ldflags ...string) {
	t.Helper()
	if err := goBuild(context.Background(), pkg, path, ldflags...); err != nil {
		t.Fatalf("dockertest: %v", err)
	}
}

func goBuild(ctx context.Context, pkg, path string, ldflags ...string) error {
	flags := strings.Join(append([]string{"-s", "-w"}, ldflags...), " ")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags="+flags, "-o", path, pkg)
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return nil
}

func buildGoImage(ctx context.Context, cli *client.Client, pkg, dir string) (string, error) {
	bin := filepath.Join(dir, "app")
	if err := goBuild(ctx, pkg, bin); err != nil {
		return "", err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	name := "jamsocket-go-test/" + strings.ToLower(filepath.Base(pkg)) + ":" + hex.EncodeToString(sum[:6])
	if _, err := cli.ImageInspect(ctx, name); err == nil {
		return name, nil
	}
	dockerfile := "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n"
	buildCtx, err := tarOf(map[string][]byte{"Dockerfile": []byte(dockerfile), "app": data})
	if err != nil {
		return "", err
	}
	// The engine API's builder is enough for COPY into scratch; no BuildKit
	// session needed.
	res, err := cli.ImageBuild(ctx, buildCtx, client.ImageBuildOptions{Tags: []string{name}, Remove: true, ForceRemove: true})
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	if err := buildStreamError(res.Body); err != nil {
		return "", err
	}
	return name, nil
}

// buildStreamError reads a build's JSON message stream to its end and
// returns the error it reports, if any.
func buildStreamError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

// tarOf returns a tar archive of files, executable, in sorted order.
func tarOf(files map[string][]byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{"Dockerfile", "app"} {
		data := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}

// CLI returns a client of the engine, as Client does, and also skips (fails,
// when Required) the test if the docker command, which builds Dockerfiles,
// is not installed.
func CLI(t testing.TB) *client.Client {
	t.Helper()
	cli := Client(t)
	if _, err := exec.LookPath("docker"); err != nil {
		Unavailable(t, fmt.Errorf("the docker command (which builds Dockerfiles) is not installed: %w", err))
	}
	return cli
}
