package main

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

// pushFlags are the flags of push, the official CLI's.
type pushFlags struct {
	dockerfile, context, tag string
	buildContexts            []string
	gitLabels                bool
}

func (a *app) pushCommand() *cobra.Command {
	var pf pushFlags
	cmd := &cobra.Command{
		Use:   "push SERVICE [IMAGE]",
		Short: "Build (with -f) and push an image to the service's registry",
		Long: `Push an image to Jamsocket's registry for SERVICE: either IMAGE, an image the
Docker engine already has, or one built first from the Dockerfile given with
-f (for linux/amd64, in the context given with -c, default the current
directory). The API names the repository (GET /service/{account}/{service}/image-name);
the image is tagged there (with -t TAG, default latest) and pushed with the
account and token as the registry's credentials. The credentials go to the
engine with the push request only: nothing is written to ~/.docker or
anywhere else.

The Docker engine is the one DOCKER_HOST names (default the local socket).`,
		Example: `  jamsocket push my-service -f path/to/Dockerfile
  jamsocket push my-service -f path/to/Dockerfile -c .
  jamsocket push my-service my-image -t my-tag`,
		Args: args(1, 2),
		RunE: func(_ *cobra.Command, args []string) error {
			image := ""
			if len(args) == 2 {
				image = args[1]
			}
			if err := pf.check(image); err != nil {
				return err
			}
			return a.push(args[0], image, &pf)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&pf.dockerfile, "dockerfile", "f", "", "build the image from this Dockerfile")
	f.StringVarP(&pf.context, "context", "c", "", "build context directory for the Dockerfile (default: the current directory)")
	f.StringArrayVarP(&pf.buildContexts, "build-context", "b", nil, "additional named build context NAME=PATH (needs BuildKit; see --help)")
	f.StringVarP(&pf.tag, "tag", "t", "", "tag in the service's repository (default: latest)")
	f.BoolVarP(&pf.gitLabels, "include-git-commit", "g", false, "label the image with the context's git commit (hash, message, branch, repository)")
	return cmd
}

// check refuses the flag combinations the official CLI refuses.
func (pf *pushFlags) check(image string) error {
	switch {
	case (image == "") == (pf.dockerfile == ""):
		return usage("push needs either an IMAGE or a Dockerfile (-f), not both")
	case image != "" && (pf.context != "" || len(pf.buildContexts) > 0 || pf.gitLabels):
		return usage("--context, --build-context and --include-git-commit go with --dockerfile only")
	case len(pf.buildContexts) > 0:
		// Named build contexts exist only in BuildKit, whose client
		// protocol (a gRPC session to the engine) this command does not
		// speak; the engine API's builder has no such option.
		return usage("--build-context needs BuildKit: build with `docker buildx build --build-context ... -t IMAGE` and run jamsocket push SERVICE IMAGE")
	}
	return nil
}

// push runs the steps of push, printing each.
func (a *app) push(service, image string, pf *pushFlags) error {
	c, err := a.client(need{account: true, token: true}, service)
	if err != nil {
		return err
	}
	creds := a.creds
	repo, err := c.ImageName(a.ctx, service)
	if err != nil {
		return err
	}
	a.step("Image repository of service %s: %s", service, repo)

	docker, err := client.New(client.FromEnv)
	if err != nil {
		return fmt.Errorf("jamsocket: connecting to the Docker engine: %w", err)
	}
	defer docker.Close()

	if pf.dockerfile != "" {
		if image, err = a.build(docker, pf); err != nil {
			return err
		}
	}
	if err := a.checkPlatform(docker, image); err != nil {
		return err
	}
	tag := pf.tag
	if tag == "" {
		tag = "latest"
	}
	target := repo + ":" + tag
	a.step("Tagging (%s).", target)
	if _, err := docker.ImageTag(a.ctx, client.ImageTagOptions{Source: image, Target: target}); err != nil {
		return fmt.Errorf("jamsocket: tagging the image: %w", err)
	}

	registryHost, _, _ := strings.Cut(repo, "/")
	a.step("Pushing to %s as %s.", registryHost, creds.account)
	auth, err := registryAuth(registryHost, creds.account, creds.token)
	if err != nil {
		return err
	}
	res, err := docker.ImagePush(a.ctx, target, client.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("jamsocket: pushing the image: %w", err)
	}
	digest, err := a.followPush(res)
	if err != nil {
		return err
	}
	if a.json {
		return a.printJSON(pushOut{Service: service, Image: target, Digest: digest, Reference: repo + "@" + digest})
	}
	a.step("Done. %s@%s", repo, digest)
	return nil
}

// pushOut is the output of push --json.
type pushOut struct {
	Service string `json:"service"`
	// Image is the pushed name, repository:tag.
	Image string `json:"image"`
	// Digest is the manifest digest the registry stored.
	Digest string `json:"digest"`
	// Reference is repository@digest, to spawn or pull exactly this image.
	Reference string `json:"reference"`
}

// step prints one step of a long command: on stdout, or on stderr with
// --json (so that stdout stays one JSON document).
func (a *app) step(format string, args ...any) {
	w := a.stdout
	if a.json {
		w = a.stderr
	}
	fmt.Fprintf(w, format+"\n", args...)
}

// registryAuth is the X-Registry-Auth value for Basic credentials
// account:token, as the official CLI gives its registry.
func registryAuth(host, account, token string) (string, error) {
	b, err := json.Marshal(registry.AuthConfig{Username: account, Password: token, ServerAddress: host})
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// build builds the Dockerfile for linux/amd64 with the engine's builder and
// returns the image id.
func (a *app) build(docker *client.Client, pf *pushFlags) (string, error) {
	dir := pf.context
	if dir == "" {
		dir = "."
	}
	a.step("Building image from Dockerfile: %s (context %s)", pf.dockerfile, dir)
	dockerfile, err := os.ReadFile(pf.dockerfile)
	if err != nil {
		return "", fmt.Errorf("jamsocket: reading the Dockerfile: %w", err)
	}
	labels := map[string]string{}
	if pf.gitLabels {
		if labels, err = gitLabels(a.ctx, dir); err != nil {
			return "", err
		}
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeBuildContext(pw, dir, dockerfile)) }()
	defer pr.Close() // ends the writer if the build stops reading early
	res, err := docker.ImageBuild(a.ctx, pr, client.ImageBuildOptions{
		Dockerfile: buildDockerfileName, Labels: labels, Remove: true, ForceRemove: true,
		Platforms: []ocispec.Platform{{OS: "linux", Architecture: "amd64"}},
		Version:   build.BuilderV1,
	})
	if err != nil {
		return "", fmt.Errorf("jamsocket: building the image: %w", err)
	}
	defer res.Body.Close()
	id, err := builtImage(res.Body, func(line string) { a.step("  %s", line) })
	if err != nil {
		return "", err
	}
	a.step("Built image %s.", id)
	return id, nil
}

// builtImage reads a build's stream of messages, shows each output line,
// and returns the id of the image built.
func builtImage(r io.Reader, show func(line string)) (string, error) {
	id := ""
	for msg, err := range jsonMessages(r) {
		if err != nil {
			return "", fmt.Errorf("jamsocket: building the image: %w", err)
		}
		if line := strings.TrimRight(msg.Stream, "\n"); line != "" {
			show(line)
		}
		if msg.Aux != nil {
			var aux struct{ ID string }
			if json.Unmarshal(*msg.Aux, &aux) == nil && aux.ID != "" {
				id = aux.ID
			}
		}
	}
	if id == "" {
		return "", errors.New("jamsocket: the build finished without naming the image it built")
	}
	return id, nil
}

// checkPlatform warns when an image is not for linux/amd64, which
// Jamsocket's hosts run.
func (a *app) checkPlatform(docker *client.Client, image string) error {
	info, err := docker.ImageInspect(a.ctx, image)
	if err != nil {
		return fmt.Errorf("jamsocket: the Docker engine has no image %s (build it first, or give -f): %w", image, err)
	}
	if info.Os != "linux" || info.Architecture != "amd64" {
		a.warnf("the image %s is for %s/%s, not linux/amd64: it may not run on Jamsocket (rebuild with --platform=linux/amd64, or push with -f)",
			image, info.Os, info.Architecture)
	}
	return nil
}

// followPush shows a push's progress, one line per layer state change, and
// returns the digest the registry stored.
func (a *app) followPush(res client.ImagePushResponse) (string, error) {
	defer res.Close()
	digest := ""
	last := map[string]string{}
	for msg, err := range res.JSONMessages(a.ctx) {
		if err != nil {
			return "", fmt.Errorf("jamsocket: pushing the image: %w", err)
		}
		// "Pushing" repeats with each chunk; the other states come once.
		if msg.ID != "" && msg.Status != "" && msg.Status != "Pushing" && last[msg.ID] != msg.Status {
			last[msg.ID] = msg.Status
			a.step("  %s: %s", msg.ID, msg.Status)
		}
		if msg.Aux != nil {
			var aux struct{ Digest string }
			if json.Unmarshal(*msg.Aux, &aux) == nil && aux.Digest != "" {
				digest = aux.Digest
			}
		}
	}
	if digest == "" {
		return "", errors.New("jamsocket: the push finished without the registry's digest")
	}
	return digest, nil
}

// jsonMessages reads the engine's stream of JSON messages; a message
// carrying an error ends it with that error.
func jsonMessages(r io.Reader) func(yield func(jsonstream.Message, error) bool) {
	return func(yield func(jsonstream.Message, error) bool) {
		dec := json.NewDecoder(r)
		for {
			var msg jsonstream.Message
			err := dec.Decode(&msg)
			switch {
			case errors.Is(err, io.EOF):
				return
			case err != nil:
				yield(msg, err)
				return
			case msg.Error != nil:
				yield(msg, errors.New(msg.Error.Message))
				return
			}
			if !yield(msg, nil) {
				return
			}
		}
	}
}

// buildDockerfileName is where the Dockerfile goes in the build context we
// send, so that a Dockerfile outside the context directory works too.
const buildDockerfileName = ".jamsocket-push.Dockerfile"

// writeBuildContext writes dir as a tar stream, without what its
// .dockerignore excludes, plus the Dockerfile as buildDockerfileName.
func writeBuildContext(w io.Writer, dir string, dockerfile []byte) error {
	ignore, err := readDockerignore(dir)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if ignore.excludes(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("jamsocket: reading the build context: %w", err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: buildDockerfileName, Mode: 0o644, Size: int64(len(dockerfile))}); err != nil {
		return err
	}
	if _, err := tw.Write(dockerfile); err != nil {
		return err
	}
	return tw.Close()
}

// dockerignore is the patterns of a .dockerignore file: path.Match
// patterns against a path or any of its parent directories. Exceptions
// ("!pattern") and "**" are not supported and are reported as an error
// rather than silently sending files the user meant to exclude.
type dockerignore []string

func readDockerignore(dir string) (dockerignore, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var patterns dockerignore
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") || strings.Contains(line, "**") {
			return nil, fmt.Errorf("jamsocket: .dockerignore line %q: exceptions and ** are not supported by push; build the image with docker and push it by name", line)
		}
		p := path.Clean(strings.TrimPrefix(filepath.ToSlash(line), "/"))
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("jamsocket: .dockerignore line %q: %w", line, err)
		}
		patterns = append(patterns, p)
	}
	return patterns, sc.Err()
}

// excludes says whether rel (slash-separated) or a parent of it matches a
// pattern.
func (ig dockerignore) excludes(rel string) bool {
	for _, p := range ig {
		for q := rel; q != "." && q != ""; q = path.Dir(q) {
			if ok, _ := path.Match(p, q); ok {
				return true
			}
		}
	}
	return false
}

// gitLabels are the labels --include-git-commit adds, as the official CLI
// names them; it refuses a work tree with uncommitted changes. git is run
// as a program: reading a repository is its job.
func gitLabels(ctx context.Context, dir string) (map[string]string, error) {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	if _, err := git("diff-index", "--quiet", "HEAD", "--"); err != nil {
		return nil, errors.New("jamsocket: --include-git-commit needs a git work tree without uncommitted changes (commit or stash them)")
	}
	labels := map[string]string{}
	for label, args := range map[string][]string{
		"hash": {"rev-parse", "HEAD"}, "message": {"log", "-1", "--pretty=%B"}, "branch": {"rev-parse", "--abbrev-ref", "HEAD"},
	} {
		v, err := git(args...)
		if err != nil {
			return nil, fmt.Errorf("jamsocket: reading the git commit: %w", err)
		}
		labels[label] = v
	}
	if origin, err := git("remote", "get-url", "origin"); err == nil {
		if _, repo, ok := strings.Cut(origin, "github.com"); ok {
			repo = strings.TrimSuffix(strings.TrimLeft(repo, ":/"), ".git")
			if strings.Count(repo, "/") == 1 {
				labels["repository"] = repo
			}
		}
	}
	return labels, nil
}
