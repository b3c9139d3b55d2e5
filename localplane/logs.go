package localplane

import (
	"bytes"
	"strings"
	"sync"
)

// logRingSize bounds the lines a backend keeps for its logs stream.
const logRingSize = 1000

// logLine is one line of a backend's output.
type logLine struct {
	seq    uint64
	stream string
	text   string
}

// logRing keeps the latest logRingSize lines of a backend; guarded by the
// backend's mu. Line seq lives at lines[seq%logRingSize], so adding a line
// to a full ring overwrites the oldest one instead of moving the others.
type logRing struct {
	lines []logLine // grows up to logRingSize, then wraps
	next  uint64    // seq of the next line
}

func (r *logRing) add(stream, text string) {
	l := logLine{seq: r.next, stream: stream, text: text}
	if len(r.lines) < logRingSize {
		r.lines = append(r.lines, l)
	} else {
		r.lines[r.next%logRingSize] = l
	}
	r.next++
}

// since returns, in order, the lines with seq >= from that are still kept.
func (r *logRing) since(from uint64) []logLine {
	from = max(from, r.next-uint64(len(r.lines)))
	if from >= r.next {
		return nil
	}
	out := make([]logLine, 0, r.next-from)
	for seq := from; seq < r.next; seq++ {
		out = append(out, r.lines[seq%logRingSize])
	}
	return out
}

// appendLog records one output line and passes it to Config.BackendOutput.
func (b *backend) appendLog(stream, text string) {
	b.mu.Lock()
	b.logs.add(stream, text)
	b.notifyLocked()
	b.mu.Unlock()
	if hook := b.srv.cfg.BackendOutput; hook != nil {
		hook(b.id, stream, text)
	}
}

// logsSince returns the kept lines from seq on, whether the backend has
// terminated (so no line will follow the ones returned), and a channel
// closed on the next change.
func (b *backend) logsSince(from uint64) ([]logLine, bool, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ended := b.history[len(b.history)-1].Status.IsTerminal()
	return b.logs.since(from), ended, b.changed
}

// lineWriter splits what is written to it into lines for a backend's log.
type lineWriter struct {
	b      *backend
	stream string
	mu     sync.Mutex
	buf    []byte
}

const maxLineLen = 64 << 10

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > maxLineLen {
		w.emit(w.buf)
		w.buf = w.buf[:0]
	}
	if len(w.buf) == 0 {
		w.buf = nil // do not pin a large buffer
	}
	return len(p), nil
}

// flush emits a final line that had no newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = nil
	}
}

func (w *lineWriter) emit(line []byte) {
	w.b.appendLog(w.stream, strings.TrimSuffix(string(line), "\r"))
}
