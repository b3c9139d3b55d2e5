package localplane

import (
	"encoding/json"
	"net/http"

	"github.com/jamsocket-go/jamsocket/internal/wire"
)

// The console's build panel: the image backends run now, why spawns are
// held, and, with a Config.Builder, its latest build's output and a rebuild
// button.

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

// build streams the image, the hold and the latest build's output.
func (c *console) build(w http.ResponseWriter, r *http.Request) {
	sent, gen, next := false, uint64(0), 0
	var image, hold string
	c.plane.sse.events(w, r, func() ([]sseEvent, <-chan struct{}, bool) {
		var events []sseEvent
		add := func(ev consoleBuildEvent) {
			data, _ := json.Marshal(ev)
			events = append(events, sseEvent{data: data})
		}
		// Changed comes first: a change after it closes it, so the
		// stream looks again.
		log := c.buildLog(next)
		changed := log.Changed
		curImage, curHold := c.gate.state()
		state := consoleBuildEvent{Build: log.Build, Image: curImage, Hold: curHold, Rebuild: c.builder != nil}
		switch {
		case !sent || log.Build != gen:
			log = c.buildLog(0)
			state.Type, state.Lines = "build", log.Lines
			add(state)
		case curImage != image || curHold != hold || len(log.Lines) > 0:
			if curImage != image || curHold != hold {
				state.Type = "state"
				add(state)
			}
			if len(log.Lines) > 0 {
				add(consoleBuildEvent{Type: "lines", Build: log.Build, Lines: log.Lines})
			}
		}
		sent, gen, next, image, hold = true, log.Build, log.Next, curImage, curHold
		return events, changed, false
	})
}

// buildLog is the builder's log from line from on; without a builder,
// nothing ever changes.
func (c *console) buildLog(from int) BuildLog {
	if c.builder == nil {
		return BuildLog{}
	}
	return c.builder.Log(from)
}

// rebuild asks the Builder for a new build.
func (c *console) rebuild(w http.ResponseWriter, r *http.Request) {
	if c.builder == nil {
		jamsocketError(w, http.StatusNotImplemented, codeNotAvailable, "this plane does not build its image")
		return
	}
	c.builder.Rebuild()
	writeJSON(w, http.StatusAccepted, wire.StatusOK{Status: "ok"})
}
