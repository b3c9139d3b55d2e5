package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWatchFollowsSymlinks: `jamsocket dev --watch` on a symbolic link to a
// directory (or to a file) never rebuilt, because the walk and inotify saw
// the link, not what it points to. A change behind the link now asks the
// images loop for a rebuild.
func TestWatchFollowsSymlinks(t *testing.T) {
	project := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(project, "src"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(project, "Dockerfile"), []byte("FROM scratch\n"), 0o644))
	links := t.TempDir()
	require.NoError(t, os.Symlink(project, filepath.Join(links, "project")))
	require.NoError(t, os.Symlink(filepath.Join(project, "Dockerfile"), filepath.Join(links, "Dockerfile")))

	for _, tc := range []struct {
		name, watch, change string
	}{
		{"a linked directory", filepath.Join(links, "project"), filepath.Join(project, "src", "main.go")},
		{"a linked file", filepath.Join(links, "Dockerfile"), filepath.Join(project, "Dockerfile")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := newTreeWatcher([]string{tc.watch})
			require.NoError(t, err)
			defer w.close()
			images := newDevImages(devBuild{}, nil)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() {
				defer close(done)
				w.run(ctx, time.Millisecond, images.Rebuild)
			}()
			defer func() {
				cancel()
				<-done
			}()

			require.NoError(t, os.WriteFile(tc.change, []byte("changed\n"), 0o644))
			select {
			case <-images.requests:
			case <-time.After(10 * time.Second): // a guard against a hang, not a synchronisation
				t.Fatalf("no rebuild after %s changed behind the watched link %s", tc.change, tc.watch)
			}
		})
	}
}
