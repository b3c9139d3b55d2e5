package main

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/dockerbuild"
	"github.com/jamsocket-go/jamsocket/internal/dockertest"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// registryBinary is Debian's docker-registry (the distribution registry).
const registryBinary = "/usr/bin/docker-registry"

// testRegistry is a real image registry (docker-registry on a unix socket)
// behind a proxy on 127.0.0.1 that demands Basic credentials, as
// Jamsocket's registry does, and records the user names it was given.
type testRegistry struct {
	host string // 127.0.0.1:port

	mu    sync.Mutex
	users []string
}

// startRegistry starts a registry that accepts only user:password.
func startRegistry(t *testing.T, user, password string) *testRegistry {
	t.Helper()
	if _, err := os.Stat(registryBinary); err != nil {
		dockertest.Unavailable(t, fmt.Errorf("no image registry to push to: %w (apt-get install docker-registry)", err))
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "registry.sock")
	config := filepath.Join(dir, "config.yml")
	require.NoError(t, os.WriteFile(config, []byte(`version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: `+filepath.Join(dir, "data")+`
  delete:
    enabled: true
http:
  net: unix
  addr: `+sock+"\n"), 0o600))

	cmd := exec.Command(registryBinary, "serve", config)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	listening := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				once.Do(func() { close(listening) })
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-drained
		_ = cmd.Wait()
	})
	select {
	case <-listening:
	case <-drained:
		t.Fatal("docker-registry exited before listening")
	case <-time.After(30 * time.Second):
		t.Fatal("docker-registry did not say it was listening within 30s")
	}

	reg := &testRegistry{}
	target := &url.URL{Scheme: "http", Host: "registry"}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if ok {
			reg.mu.Lock()
			reg.users = append(reg.users, u)
			reg.mu.Unlock()
		}
		if !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="jamsocket-test"`)
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	reg.host = strings.TrimPrefix(front.URL, "http://")
	return reg
}

func (r *testRegistry) seenUsers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.users...)
}

// TestPush builds an image from a Dockerfile with push, pushes it to a real
// registry that the local plane's image-name endpoint points at, with the
// account and token as Basic credentials, then removes it from the engine
// and pulls it back by the digest push printed, and reads a file out of it.
func TestPush(t *testing.T) {
	docker := dockertest.CLI(t) // push -f builds with the docker command
	reg := startRegistry(t, "acct", loginToken)
	srv := startLocalPlaneWith(t, localplane.Config{Token: loginToken, Accounts: []string{"acct"}, ImageRegistry: reg.host})
	home := t.TempDir()
	env := map[string]string{"HOME": home, "JAMSOCKET_API_URL": srv.APIURL()}
	require.Equal(t, 0, binary(t, env, loginToken, loginToken, "login").code)

	work := t.TempDir()
	content := fmt.Sprintf("pushed by %s at %s\n", t.Name(), time.Now().Format(time.RFC3339Nano))
	for name, data := range map[string]string{
		"Dockerfile":        "FROM scratch\nCOPY . /app/\n",
		"ctx/hello.txt":     content,
		"ctx/secret":        "not for the image",
		"ctx/.dockerignore": "secret\n",
	} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(work, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(work, name), []byte(data), 0o644))
	}

	r := binary(t, env, "", loginToken, "push", "my-svc", "-f", filepath.Join(work, "Dockerfile"), "-c", filepath.Join(work, "ctx"), "-t", "v1", "--json")
	out := decode[pushOut](t, r)
	repo := reg.host + "/acct/my-svc"
	assert.Equal(t, repo+":v1", out.Image)
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, out.Digest)
	assert.Equal(t, repo+"@"+out.Digest, out.Reference)
	for _, step := range []string{"Building image from Dockerfile", "Tagging (" + repo + ":v1).", "Pushing to " + reg.host + " as acct."} {
		assert.Contains(t, r.stderr, step, "each step is shown (on stderr with --json)")
	}
	assert.NotContains(t, r.stderr, "warning", "the build is for linux/amd64")
	assert.Contains(t, reg.seenUsers(), "acct", "the registry got the account as user name")
	assert.NoDirExists(t, filepath.Join(home, ".docker"), "no Docker config is written")

	// Forget the image here, then pull it back by digest.
	ctx := t.Context()
	_, err := docker.ImageRemove(ctx, out.Image, client.ImageRemoveOptions{Force: true})
	require.NoError(t, err)
	auth, err := json.Marshal(registry.AuthConfig{Username: "acct", Password: loginToken, ServerAddress: reg.host})
	require.NoError(t, err)
	pull, err := docker.ImagePull(ctx, out.Reference, client.ImagePullOptions{RegistryAuth: base64.URLEncoding.EncodeToString(auth)})
	require.NoError(t, err)
	require.NoError(t, pull.Wait(ctx))
	t.Cleanup(func() {
		_, _ = docker.ImageRemove(context.Background(), out.Reference, client.ImageRemoveOptions{Force: true})
	})
	info, err := docker.ImageInspect(ctx, out.Reference)
	require.NoError(t, err)
	assert.Contains(t, info.RepoDigests, out.Reference)
	assert.Equal(t, "linux/amd64", info.Os+"/"+info.Architecture)

	files := filesOf(t, docker, out.Reference, "/app")
	assert.Equal(t, content, files["app/hello.txt"])
	assert.NotContains(t, files, "app/secret", ".dockerignore is honoured")

	// Push an image the engine has, by name, under another tag.
	r = binary(t, env, "", loginToken, "push", "my-svc", out.Reference, "-t", "v2")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Done. "+repo+"@"+out.Digest, "the same image has the same digest")
	assert.Regexp(t, `(?m)^  [0-9a-f]{12}: Layer already exists$`, r.stdout, "each layer's state is shown")
	t.Cleanup(func() {
		_, _ = docker.ImageRemove(context.Background(), repo+":v2", client.ImageRemoveOptions{Force: true})
	})

	// An image for another platform is pushed with a warning.
	arm := buildImage(t, docker, "linux/arm64", "FROM scratch\nCOPY hello.txt /\n")
	r = binary(t, env, "", loginToken, "push", "my-svc", arm, "-t", "arm")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "jamsocket: warning: the image "+arm+" is for linux/arm64, not linux/amd64")
	assert.Contains(t, r.stdout, "Done. "+repo+"@sha256:")
	t.Cleanup(func() {
		_, _ = docker.ImageRemove(context.Background(), repo+":arm", client.ImageRemoveOptions{Force: true})
	})
}

// buildImage builds an image of one file for platform with the docker
// command and returns its id; it is removed when the test ends.
func buildImage(t *testing.T, docker *client.Client, platform, dockerfile string) string {
	t.Helper()
	ctxDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(ctxDir, "hello.txt"), []byte("hello"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(dockerfile), 0o644))
	id, err := dockerbuild.Build(t.Context(), filepath.Join(ctxDir, "Dockerfile"), ctxDir, dockerbuild.Options{Platform: platform})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = docker.ImageRemove(context.Background(), id, client.ImageRemoveOptions{Force: true}) })
	return id
}

// filesOf reads the files under dir of an image, through a container
// created (never started) from it.
func filesOf(t *testing.T, docker *client.Client, image, dir string) map[string]string {
	t.Helper()
	ctx := t.Context()
	created, err := docker.ContainerCreate(ctx, client.ContainerCreateOptions{Config: &container.Config{Image: image, Cmd: []string{"/none"}}})
	require.NoError(t, err)
	defer func() {
		_, _ = docker.ContainerRemove(context.Background(), created.ID, client.ContainerRemoveOptions{Force: true})
	}()
	res, err := docker.CopyFromContainer(ctx, created.ID, client.CopyFromContainerOptions{SourcePath: dir})
	require.NoError(t, err)
	defer res.Content.Close()
	files := map[string]string{}
	tr := tar.NewReader(res.Content)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if hdr.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			files[hdr.Name] = string(b)
		}
	}
	return files
}

// The flag combinations the official CLI refuses are usage errors, before
// anything is built or sent.
func TestPushUsage(t *testing.T) {
	for _, args := range [][]string{
		{"push", "svc"},
		{"push", "svc", "img", "-f", "Dockerfile"},
		{"push", "svc", "img", "-c", "."},
		{"push", "svc", "img", "-g"},
		{"push", "svc", "img", "--build-context", "a=b"},
	} {
		r := cli(t, map[string]string{}, args...)
		assert.Equal(t, exitUsage, r.code, "%v: %s", args, r.stderr)
	}
}

// --include-git-commit labels the image with the context's commit, and
// refuses a work tree with uncommitted changes.
func TestGitLabels(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("skipping: no git on PATH")
	}
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644))
	git("add", ".")
	git("commit", "-q", "-m", "first commit")
	git("remote", "add", "origin", "git@github.com:acme/editor.git")

	labels, err := gitLabels(t.Context(), dir)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"hash": git("rev-parse", "HEAD"), "message": "first commit", "branch": "main", "repository": "acme/editor"}, labels)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("changed"), 0o644))
	_, err = gitLabels(t.Context(), dir)
	assert.ErrorContains(t, err, "uncommitted changes")
}
