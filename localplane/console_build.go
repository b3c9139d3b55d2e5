package localplane

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/jamsocket-go/jamsocket/internal/wire"
)

// The console's view of a container plane's image builds (jamsocket dev -f
// builds a Dockerfile): the image backends run now, why spawns are held, the
// last build's output, and a rebuild button when Config.Rebuild is set.

// BuildStarted tells the console that a build of the container plane's
// image begins: its log of the last build starts empty.
func (s *Server) BuildStarted() {
	s.build.mu.Lock()
	defer s.build.mu.Unlock()
	s.build.gen++
	s.build.lines, s.build.dropped = nil, 0
	s.build.notifyLocked()
}

// BuildOutput adds one line of the running build's output to the console's
// log of it (the latest consoleBuildLines lines are kept, each cut to
// consoleBuildLineLen bytes).
func (s *Server) BuildOutput(line string) {
	if len(line) > consoleBuildLineLen {
		line = strings.ToValidUTF8(line[:consoleBuildLineLen], "") + "…"
	}
	s.build.mu.Lock()
	defer s.build.mu.Unlock()
	if len(s.build.lines) == consoleBuildLines {
		s.build.lines = append(s.build.lines[:0], s.build.lines[1:]...)
		s.build.dropped++
	}
	s.build.lines = append(s.build.lines, line)
	s.build.notifyLocked()
}

// consoleBuildLines and consoleBuildLineLen bound the last build's log the
// console keeps (8 MiB at most).
const (
	consoleBuildLines   = 2000
	consoleBuildLineLen = 4096
)

// buildLog is the last build's output. Its zero value is ready.
type buildLog struct {
	mu      sync.Mutex
	gen     uint64   // builds started so far
	lines   []string // the latest lines of build gen
	dropped int      // lines of build gen no longer kept
	wake    chan struct{}
}

func (l *buildLog) notifyLocked() {
	if l.wake != nil {
		close(l.wake)
	}
	l.wake = make(chan struct{})
}

// notify wakes the build streams (the image or the hold changed).
func (l *buildLog) notify() {
	l.mu.Lock()
	l.notifyLocked()
	l.mu.Unlock()
}

// since returns build gen's lines from line number from on (counting
// dropped ones), the current build number, and a channel closed on the next
// change.
func (l *buildLog) since(from int) (lines []string, gen uint64, next int, wake <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wake == nil {
		l.wake = make(chan struct{})
	}
	start := max(from-l.dropped, 0)
	if start < len(l.lines) {
		lines = append([]string(nil), l.lines[start:]...)
	}
	return lines, l.gen, l.dropped + len(l.lines), l.wake
}

// consoleBuildEvent is an event of the console's build stream: "build"
// starts a build's log afresh (and carries the state), "lines" adds to it,
// "state" says the image or the hold changed.
type consoleBuildEvent struct {
	Type    string   `json:"type"`
	Build   uint64   `json:"build"`
	Image   string   `json:"image"`
	Hold    string   `json:"hold"`
	Rebuild bool     `json:"rebuild"`
	Lines   []string `json:"lines,omitempty"`
}

// consoleBuild streams the image, the hold and the last build's output.
func (s *Server) consoleBuild(w http.ResponseWriter, r *http.Request) {
	sent, gen, next := false, uint64(0), 0
	var image, hold string
	s.streamEvents(w, r, func() ([]sseEvent, <-chan struct{}, bool) {
		var events []sseEvent
		add := func(ev consoleBuildEvent) {
			data, _ := json.Marshal(ev)
			events = append(events, sseEvent{data: data})
		}
		curImage, curHold := s.imageState()
		lines, curGen, curNext, wake := s.build.since(next)
		state := consoleBuildEvent{Build: curGen, Image: curImage, Hold: curHold, Rebuild: s.cfg.Rebuild != nil}
		switch {
		case !sent || curGen != gen:
			lines, _, curNext, wake = s.build.since(0)
			state.Type, state.Lines = "build", lines
			add(state)
		case curImage != image || curHold != hold || len(lines) > 0:
			if curImage != image || curHold != hold {
				state.Type = "state"
				add(state)
			}
			if len(lines) > 0 {
				add(consoleBuildEvent{Type: "lines", Build: curGen, Lines: lines})
			}
		}
		sent, gen, next, image, hold = true, curGen, curNext, curImage, curHold
		return events, wake, false
	})
}

// imageState is the image a container plane's backends run and why spawns
// are held ("" each when none).
func (s *Server) imageState() (image, hold string) {
	s.mu.Lock()
	hold = s.spawnHoldLocked()
	s.mu.Unlock()
	if r, ok := s.runner.(*containerRunner); ok {
		image = r.currentImage()
	}
	return image, hold
}

// consoleRebuild asks for a new build through Config.Rebuild.
func (s *Server) consoleRebuild(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Rebuild == nil {
		jamsocketError(w, http.StatusNotImplemented, codeNotAvailable, "this plane does not build its image")
		return
	}
	s.cfg.Rebuild()
	writeJSON(w, http.StatusAccepted, wire.StatusOK{Status: "ok"})
}
