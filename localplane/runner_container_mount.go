package localplane

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/mount"

	"github.com/jamsocket-go/jamsocket/internal/fsowner"
)

// executable.mount binds a host directory at /plane-data. On Plane it is
// the key (or the path) joined to the drone's mount base, so key a/b is a
// directory inside key a's, where a's backend may have planted a link
// (a/b -> /) that the engine follows when it binds. Here every mount is one
// directory directly under the base, named by the escaped key or path
// (a/b is "a%2Fb"), so that no mount is inside another and the engine has
// no link to follow. The base must be the developer's own and writable by
// no one else, so that another user on the machine can plant no directory
// or link in it; each directory in it must be the developer's and not a
// link.

// defaultMountBase is where mounts live when ContainerConfig.MountBase is
// empty: "jamsocket-go/mounts" in the user's cache directory, or "" when
// there is none (no $HOME).
func defaultMountBase() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "jamsocket-go", "mounts")
}

// maxMountName is the longest directory name most file systems take.
const maxMountName = 255

// mounts is the bind mount of spec's executable.mount, or nil when it has
// none. It creates the base (0700) and the mount's directory when missing.
func (r *containerRunner) mounts(spec runSpec) ([]mount.Mount, error) {
	m := spec.mount
	if m == nil || (!m.ByKey && m.Path == "") {
		return nil, nil
	}
	name := spec.key
	if m.Path != "" {
		if err := validateMountPath(m.Path); err != nil {
			return nil, err
		}
		name = m.Path
	}
	dir, err := r.mountDir(name)
	if err != nil {
		return nil, fmt.Errorf("executable.mount: %w", err)
	}
	return []mount.Mount{{Type: mount.TypeBind, Source: dir, Target: containerDataDir}}, nil
}

// mountDir is the directory of the mount named name (a key or a path),
// created if missing, once the base and the directory have passed the
// checks.
func (r *containerRunner) mountDir(name string) (string, error) {
	if name == "" {
		return "", errors.New("mount true needs a key to name its directory")
	}
	escaped := url.PathEscape(name)
	if escaped == "." || escaped == ".." {
		return "", fmt.Errorf("%q cannot name a directory", name)
	}
	if len(escaped) > maxMountName {
		return "", fmt.Errorf("%q is too long to name a directory (%d bytes escaped, at most %d)", name, len(escaped), maxMountName)
	}
	if r.mountBase == "" {
		return "", errors.New("no mount base: ContainerConfig.MountBase is empty and there is no user cache directory ($HOME is not set)")
	}
	if err := privateBase(r.mountBase); err != nil {
		return "", err
	}
	dir := filepath.Join(r.mountBase, escaped)
	// Mkdir does not follow a link in dir's place (EEXIST), and Mine
	// refuses it.
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	if err := fsowner.Mine(dir); err != nil {
		return "", fmt.Errorf("refusing the mount's directory: %w", err)
	}
	return dir, nil
}

// privateBase creates the mount base (0700, with its parents) if it is
// missing, and refuses it unless it passes fsowner.Private.
func privateBase(base string) error {
	err := fsowner.Private(base)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(base, 0o700); err == nil {
			err = fsowner.Private(base)
		}
	}
	if err != nil {
		return fmt.Errorf("refusing the mount base (ContainerConfig.MountBase): %w", err)
	}
	return nil
}

// validateMountPath accepts only a relative path without "." or ".."
// components, as Plane's drone does.
func validateMountPath(p string) error {
	if filepath.IsAbs(p) || strings.ContainsRune(p, 0) {
		return fmt.Errorf("executable.mount %q is not a relative path under the mount base", p)
	}
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if part == ".." || part == "." || part == "" {
			return fmt.Errorf("executable.mount %q is not a relative path under the mount base", p)
		}
	}
	return nil
}
