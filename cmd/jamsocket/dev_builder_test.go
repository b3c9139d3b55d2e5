package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// imagesRecorder is the view's side of the builds, recorded.
type imagesRecorder struct {
	lines  []string
	states []imageState
}

func (r *imagesRecorder) buildOutput(line string)    { r.lines = append(r.lines, line) }
func (r *imagesRecorder) imageChanged(st imageState) { r.states = append(r.states, st) }

// TestDevImagesIsThePlanesBuilder: what devImages answers the plane (the
// image or why spawns wait) and the console (the build's log, bounded),
// through a build's steps as the loop takes them.
func TestDevImagesIsThePlanesBuilder(t *testing.T) {
	view := &imagesRecorder{}
	d := newDevImages(devBuild{}, view)
	_, err := d.Image()
	require.EqualError(t, err, holdBuilding, "before the first build")

	log := d.Log(0)
	d.update(func() { d.state.Building = true; d.log.start() })
	assertClosed(t, log.Changed, "a build starting wakes the console")
	d.output("step 1")
	d.output(strings.Repeat("x", 10000))
	log = d.Log(0)
	assert.Equal(t, uint64(1), log.Build)
	assert.Equal(t, []string{"step 1", strings.Repeat("x", buildLogLineLen) + "…"}, log.Lines, "a long line is cut")
	assert.Equal(t, 2, log.Next)
	assert.Empty(t, d.Log(2).Lines)
	assert.Equal(t, []string{"step 1", strings.Repeat("x", 10000)}, view.lines, "the view sees every line whole")

	d.update(func() { d.state.Building, d.state.Err = false, "exit status 1" })
	_, err = d.Image()
	require.EqualError(t, err, holdFailed+"exit status 1")
	d.update(func() { d.state = imageState{Image: "sha256:abc"} })
	image, err := d.Image()
	require.NoError(t, err)
	assert.Equal(t, "sha256:abc", image)
	assert.Equal(t, []imageState{{Building: true}, {Err: "exit status 1"}, {Image: "sha256:abc"}}, view.states)

	d.Rebuild()
	d.Rebuild() // folded into the pending one
	assert.Len(t, d.requests, 1)
}

func TestBuildLogKeepsTheLatestLines(t *testing.T) {
	var l buildLog
	l.start()
	for i := range buildLogLines + 5 {
		l.add(strings.Repeat("y", i%3))
	}
	lines, next := l.since(0)
	assert.Len(t, lines, buildLogLines)
	assert.Equal(t, buildLogLines+5, next)
	lines, _ = l.since(buildLogLines + 4)
	assert.Len(t, lines, 1, "numbers count the dropped lines")
	l.start()
	lines, next = l.since(0)
	assert.Empty(t, lines)
	assert.Equal(t, 0, next)
	assert.Equal(t, uint64(2), l.build)
}

func assertClosed(t *testing.T, ch <-chan struct{}, msg string) {
	t.Helper()
	select {
	case <-ch:
	default:
		t.Error(msg)
	}
}
