package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/jamsocket-go/jamsocket/internal/dockerbuild"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
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
	f.StringArrayVarP(&pf.buildContexts, "build-context", "b", nil, "additional named build context NAME=PATH (repeatable; needs docker buildx)")
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
		if image, err = a.build(pf); err != nil {
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

// build builds the Dockerfile for linux/amd64 with the docker command (as
// jamsocket dev does, see internal/dockerbuild: it reads .dockerignore and
// uses BuildKit where the user's Docker has it) and returns the image id.
func (a *app) build(pf *pushFlags) (string, error) {
	dir := pf.context
	if dir == "" {
		dir = "."
	}
	a.step("Building image from Dockerfile: %s (context %s)", pf.dockerfile, dir)
	var labels map[string]string
	if pf.gitLabels {
		var err error
		if labels, err = gitLabels(a.ctx, dir); err != nil {
			return "", err
		}
	}
	id, err := dockerbuild.Build(a.ctx, pf.dockerfile, dir, dockerbuild.Options{
		Output:   func(line string) { a.step("  %s", line) },
		Platform: "linux/amd64", Labels: labels, BuildContexts: pf.buildContexts,
	})
	if err != nil {
		return "", fmt.Errorf("jamsocket: building the image: %w", err)
	}
	a.step("Built image %s.", id)
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
