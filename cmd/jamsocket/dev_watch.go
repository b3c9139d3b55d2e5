package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// `jamsocket dev --watch`: a change under a watched path rebuilds the
// image.

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
