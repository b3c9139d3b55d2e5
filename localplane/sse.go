package localplane

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// sseEvent is one server-sent event: data (one line) and an optional id.
type sseEvent struct {
	data []byte
	id   string
}

// pollFunc returns the events available since the last call, a channel that
// is closed when more may be available (nil: none will be), and whether the
// stream is complete after these events.
type pollFunc func() (events []sseEvent, wake <-chan struct{}, done bool)

// streamer answers requests with event streams, which end when the plane
// closes.
type streamer struct {
	keepAlive time.Duration   // the silence after which a keep-alive comment is sent
	closing   <-chan struct{} // closed when the plane closes
}

// events answers r with a text/event-stream fed by poll. It sends a
// keep-alive comment (":\n\n") after every keep-alive interval of silence and
// returns when poll says done, the client goes away or the server closes.
func (s *streamer) events(w http.ResponseWriter, r *http.Request, poll pollFunc) {
	s.stream(w, r, poll, s.keepAlive)
}

// dataOnly is events without keep-alives: every line it sends is a data:
// line. The official dev server's status stream is so
// (cli/src/dev-server/index.ts handleStatusStreamRequest), and the official
// browser client warns in the console about every other line.
func (s *streamer) dataOnly(w http.ResponseWriter, r *http.Request, poll pollFunc) {
	s.stream(w, r, poll, 0)
}

// stream is events with a keep-alive every keepAlive of silence, none when
// keepAlive is 0.
func (s *streamer) stream(w http.ResponseWriter, r *http.Request, poll pollFunc, keepAlive time.Duration) {
	rc, ok := startSSE(w)
	if !ok {
		return
	}
	var quiet *time.Timer // fires after keepAlive of silence; nil: never
	var quietC <-chan time.Time
	if keepAlive > 0 {
		quiet = time.NewTimer(keepAlive)
		defer quiet.Stop()
		quietC = quiet.C
	}
	var buf bytes.Buffer
	for {
		events, wake, done := poll()
		if len(events) > 0 {
			buf.Reset()
			for _, ev := range events {
				buf.WriteString("data: ")
				buf.Write(ev.data)
				buf.WriteByte('\n')
				if ev.id != "" {
					buf.WriteString("id: ")
					buf.WriteString(ev.id)
					buf.WriteByte('\n')
				}
				buf.WriteByte('\n')
			}
			if _, err := w.Write(buf.Bytes()); err != nil || rc.Flush() != nil {
				return
			}
			if quiet != nil {
				quiet.Reset(keepAlive)
			}
		}
		if done {
			return
		}
		select {
		case <-wake:
		case <-quietC:
			if _, err := w.Write([]byte(":\n\n")); err != nil || rc.Flush() != nil {
				return
			}
			quiet.Reset(keepAlive)
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
}

// startSSE sends the headers of an event stream; ok is false if the client
// is already gone.
func startSSE(w http.ResponseWriter) (rc *http.ResponseController, ok bool) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc = http.NewResponseController(w)
	return rc, rc.Flush() == nil
}

// statusEvents is a pollFunc over a backend's status history, rendering each
// entry with render (nil skips it) and, if endOnTerminated, completing after
// terminated.
func statusEvents(b *backend, endOnTerminated bool, render func(state) *sseEvent) pollFunc {
	next := 0
	return func() ([]sseEvent, <-chan struct{}, bool) {
		states, wake := b.statesSince(next)
		next += len(states)
		var events []sseEvent
		done := false
		for _, st := range states {
			if ev := render(st); ev != nil {
				events = append(events, *ev)
			}
			if endOnTerminated && st.Status.IsTerminal() {
				done = true
			}
		}
		return events, wake, done
	}
}

// backendLogs answers with the output lines of the backend named in the
// path (Jamsocket's 404 if c has none), each rendered by render: the kept
// ones, then live ones, ending after terminated. Each line's id is its
// number; a client resuming with Last-Event-ID gets only the lines after
// it.
func (s *streamer) backendLogs(c *core, w http.ResponseWriter, r *http.Request, render func(logLine) []byte) {
	b := jamsocketBackend(c, w, r)
	if b == nil {
		return
	}
	var from uint64
	if last, err := strconv.ParseUint(r.Header.Get("Last-Event-ID"), 10, 64); err == nil {
		from = last + 1
	}
	s.events(w, r, logEvents(b, from, render))
}

// logEvents is a pollFunc over a backend's output lines, each rendered by
// render, complete once the backend has terminated and every kept line was
// sent.
func logEvents(b *backend, next uint64, render func(logLine) []byte) pollFunc {
	return func() ([]sseEvent, <-chan struct{}, bool) {
		lines, ended, wake := b.logsSince(next)
		events := make([]sseEvent, 0, len(lines))
		for _, l := range lines {
			events = append(events, sseEvent{data: render(l), id: strconv.FormatUint(l.seq, 10)})
			next = l.seq + 1
		}
		return events, wake, ended
	}
}
