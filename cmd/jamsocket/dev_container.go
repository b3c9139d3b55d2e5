package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/jamsocket-go/jamsocket/internal/dockerbuild"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// Container backends for `jamsocket dev`: the Dockerfile is built with the
// user's docker, the plane runs the image, and a change to a watched file
// (dev_watch.go), the b key or the console's button rebuilds it. devImages
// is the plane's localplane.Builder.

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
}

// run builds the image, passing each line the build prints to output.
func (b devBuild) run(ctx context.Context, output func(line string)) (string, error) {
	return dockerbuild.Build(ctx, b.dockerfile, b.context, dockerbuild.Options{Output: output})
}

// imagesView is the part of the dev server's view that shows builds.
type imagesView interface {
	buildOutput(line string)
	imageChanged(imageState)
}

// devImages builds the image and keeps the plane on the latest good one:
// it is the plane's localplane.Builder. Rebuild requests while a build runs
// are folded into one more build.
type devImages struct {
	build devBuild
	view  imagesView

	requests chan struct{} // capacity 1

	mu      sync.Mutex
	state   imageState
	log     buildLog
	changed chan struct{} // closed at the next change of state or log
}

var _ localplane.Builder = (*devImages)(nil)

func newDevImages(build devBuild, view imagesView) *devImages {
	return &devImages{build: build, view: view, requests: make(chan struct{}, 1), changed: make(chan struct{})}
}

// Image is the image spawns run, or why they wait: a build runs (the first
// one is asked for at start) or the last one failed.
func (d *devImages) Image() (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch st := d.state; {
	case st.Building || (st.Image == "" && st.Err == ""):
		return "", errors.New(holdBuilding)
	case st.Err != "":
		return "", errors.New(holdFailed + st.Err)
	default:
		return st.Image, nil
	}
}

// Rebuild asks for a build; it never blocks.
func (d *devImages) Rebuild() {
	select {
	case d.requests <- struct{}{}:
	default: // one is pending already
	}
}

// Log is the latest build's output from line from on, for the console.
func (d *devImages) Log(from int) localplane.BuildLog {
	d.mu.Lock()
	defer d.mu.Unlock()
	lines, next := d.log.since(from)
	return localplane.BuildLog{Build: d.log.build, Lines: lines, Next: next, Changed: d.changed}
}

// loop runs the builds until ctx is done. As the official dev server does,
// a build first terminates srv's backends of the old code; later spawns
// get the new image.
func (d *devImages) loop(ctx context.Context, srv *localplane.Server) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.requests:
		}
		d.update(func() {
			d.state.Building = true
			d.log.start()
		})
		terminateAll(srv)
		id, err := d.build.run(ctx, d.output)
		if ctx.Err() != nil {
			return
		}
		d.update(func() {
			if err != nil {
				d.state.Building, d.state.Err = false, err.Error()
			} else {
				d.state = imageState{Image: id}
			}
		})
	}
}

// output shows a line of the running build and keeps it for the console.
func (d *devImages) output(line string) {
	d.view.buildOutput(line)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.log.add(line)
	d.notifyLocked()
}

// update changes the state under the lock, wakes the console and tells
// the view.
func (d *devImages) update(change func()) {
	d.mu.Lock()
	change()
	st := d.state
	d.notifyLocked()
	d.mu.Unlock()
	d.view.imageChanged(st)
}

func (d *devImages) notifyLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// buildLogLines and buildLogLineLen bound the latest build's log kept for
// the console (8 MiB at most).
const (
	buildLogLines   = 2000
	buildLogLineLen = 4096
)

// buildLog is the latest build's output, bounded. Its zero value is ready.
type buildLog struct {
	build   uint64   // builds started so far
	lines   []string // the latest lines of the build
	dropped int      // lines of the build no longer kept
}

// start begins the log of a new build.
func (l *buildLog) start() {
	l.build++
	l.lines, l.dropped = nil, 0
}

// add keeps line, cut to buildLogLineLen bytes, dropping the oldest beyond
// buildLogLines.
func (l *buildLog) add(line string) {
	if len(line) > buildLogLineLen {
		line = strings.ToValidUTF8(line[:buildLogLineLen], "") + "…"
	}
	if len(l.lines) == buildLogLines {
		l.lines = append(l.lines[:0], l.lines[1:]...)
		l.dropped++
	}
	l.lines = append(l.lines, line)
}

// since returns the lines from line number from on (counting dropped
// ones) and the number of the next line.
func (l *buildLog) since(from int) (lines []string, next int) {
	start := max(from-l.dropped, 0)
	if start < len(l.lines) {
		lines = append([]string(nil), l.lines[start:]...)
	}
	return lines, l.dropped + len(l.lines)
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

// devDockerClient connects to the user's Docker engine and checks that the
// network exists, with the official CLI's error if it does not.
func devDockerClient(ctx context.Context, network string) (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("jamsocket dev: docker: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(pingCtx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		cli.Close()
		return nil, fmt.Errorf("jamsocket dev: no Docker engine answers (is dockerd running? DOCKER_HOST=%q): %w", os.Getenv("DOCKER_HOST"), err)
	}
	if network == "" {
		return cli, nil
	}
	list, err := cli.NetworkList(pingCtx, client.NetworkListOptions{})
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("jamsocket dev: listing Docker networks: %w", err)
	}
	names := make([]string, 0, len(list.Items))
	for _, n := range list.Items {
		if n.Name == network {
			return cli, nil
		}
		names = append(names, n.Name)
	}
	cli.Close()
	return nil, fmt.Errorf("Docker network %q not found. Available networks: %s", network, strings.Join(names, ", ")) //lint:ignore ST1005 the official CLI's message
}
