package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/jamsocket-go/jamsocket/internal/dockerbuild"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// Container backends for `jamsocket dev`: the Dockerfile is built with the
// user's docker, the plane runs the image, and a change to a watched file
// (or the b key) rebuilds it.

// imageState is what the dev server tells about its image.
type imageState struct {
	// Building is true while a build runs.
	Building bool
	// Image is the image id (or name, with --image) spawns use; empty
	// before the first build succeeded.
	Image string
	// Err is why the last build failed ("" if it did not).
	Err string
}

// Spawn hold reasons, which a refused connect's error message gives.
const (
	holdBuilding = "the session backend's image is still building (see the dev server's log)"
	holdFailed   = "the last build of the session backend's Dockerfile failed (see the dev server's log): "
)

// devBuild is the build of the dev server's Dockerfile.
type devBuild struct {
	dockerfile, context string
	// output receives each line the build prints.
	output func(line string)
}

func (b devBuild) run(ctx context.Context) (string, error) {
	return dockerbuild.Build(ctx, b.dockerfile, b.context, dockerbuild.Options{Output: b.output})
}

// devImages builds the image and keeps the plane on the latest good one.
// Rebuild requests while a build runs are folded into one more build.
type devImages struct {
	srv   *localplane.Server
	build devBuild
	shown func(imageState) // tells the view

	requests chan struct{} // capacity 1
	mu       sync.Mutex
	state    imageState
}

func newDevImages(srv *localplane.Server, build devBuild, shown func(imageState)) *devImages {
	return &devImages{srv: srv, build: build, shown: shown, requests: make(chan struct{}, 1)}
}

// rebuild asks for a build; it never blocks.
func (d *devImages) rebuild() {
	select {
	case d.requests <- struct{}{}:
	default: // one is pending already
	}
}

// loop runs the builds until ctx is done.
func (d *devImages) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.requests:
		}
		d.set(func(s *imageState) { s.Building = true })
		d.srv.BuildStarted() // the console's build log starts afresh
		d.srv.HoldSpawns(holdBuilding)
		// As the official dev server does: backends of the old code are
		// terminated, later spawns get the new image.
		terminateAll(d.srv)
		id, err := d.build.run(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			d.srv.HoldSpawns(holdFailed + err.Error())
			d.set(func(s *imageState) { s.Building, s.Err = false, err.Error() })
			continue
		}
		_ = d.srv.SetImage(id) // a container plane: cannot fail
		d.set(func(s *imageState) { *s = imageState{Image: id} })
	}
}

func (d *devImages) set(change func(*imageState)) {
	d.mu.Lock()
	change(&d.state)
	st := d.state
	d.mu.Unlock()
	d.shown(st)
}

// terminateAll hard-terminates every live backend (the official dev
// server's t key, and what a rebuild does first).
func terminateAll(srv *localplane.Server) int {
	n := 0
	for _, b := range srv.Backends() {
		if !b.Terminated && srv.Terminate(b.ID, true) == nil {
			n++
		}
	}
	return n
}

// watchPaths calls changed (debounced: once things have been quiet for
// debounce) after any change under paths, files or directories, watched
// recursively. It returns when ctx is done.
func watchPaths(ctx context.Context, paths []string, debounce time.Duration, changed func()) error {
	w, err := newTreeWatcher(paths)
	if err != nil {
		return err
	}
	defer w.close()
	w.run(ctx, debounce, changed)
	return nil
}

// treeWatcher watches files and directory trees. A file is watched through
// its directory, so that replacing it (an editor's or a compiler's rename)
// counts too. A path that is a symbolic link is watched where it points:
// inotify and the walk see the link, not the tree behind it.
type treeWatcher struct {
	w     *fsnotify.Watcher
	files map[string]bool // watched files, by clean path
	dirs  map[string]bool // directories watched as a whole
}

// newTreeWatcher watches paths; every watch is in place when it returns.
func newTreeWatcher(paths []string) (*treeWatcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	t := &treeWatcher{w: w, files: map[string]bool{}, dirs: map[string]bool{}}
	for _, p := range paths {
		if err := t.add(p); err != nil {
			w.Close()
			return nil, fmt.Errorf("--watch %s: %w", p, err)
		}
	}
	return t, nil
}

func (t *treeWatcher) close() { t.w.Close() }

// add watches the file or the tree at p, wherever its links lead.
func (t *treeWatcher) add(p string) error {
	p, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return t.addTree(p)
	}
	t.files[filepath.Clean(p)] = true
	return t.w.Add(filepath.Dir(p))
}

// addTree watches every directory under root.
func (t *treeWatcher) addTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			t.dirs[filepath.Clean(p)] = true
			return t.w.Add(p)
		}
		return nil
	})
}

// run calls changed once things have been quiet for debounce after a
// change, until ctx is done.
func (t *treeWatcher) run(ctx context.Context, debounce time.Duration, changed func()) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-t.w.Events:
			if !ok {
				return
			}
			name := filepath.Clean(ev.Name)
			if !t.files[name] && !t.dirs[filepath.Dir(name)] {
				continue // a neighbour of a watched file
			}
			if ev.Has(fsnotify.Create) && t.dirs[filepath.Dir(name)] {
				if fi, err := os.Stat(name); err == nil && fi.IsDir() {
					_ = t.addTree(name) // a new directory is watched too
				}
			}
			if ev.Op == fsnotify.Chmod {
				continue // touching permissions is no change of the code
			}
			timer.Reset(debounce)
		case <-t.w.Errors:
		case <-timer.C:
			changed()
		}
	}
}

// watchDebounce is how long watched files must be quiet before a rebuild.
const watchDebounce = 300 * time.Millisecond
