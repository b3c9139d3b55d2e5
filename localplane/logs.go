package localplane

import (
	"bytes"
	"strings"
	"sync"
	"unicode/utf8"
)

// Bounds on what a backend keeps of its output: the latest logRingSize
// lines, at most logRingBytes of text together, each line at most
// maxLineLen bytes (a longer one is cut, and says so).
const (
	logRingSize  = 1000
	logRingBytes = 1 << 20
	maxLineLen   = 64 << 10
)

// logLine is one line of a backend's output.
type logLine struct {
	seq    uint64
	stream string
	text   string
}

// logRing keeps the latest lines of a backend, within logRingSize lines and
// logRingBytes bytes; guarded by the backend's mu. Line seq lives at
// lines[seq%logRingSize], so adding a line to a full ring overwrites the
// oldest one instead of moving the others.
type logRing struct {
	lines []logLine // grows up to logRingSize, then wraps
	first uint64    // seq of the oldest line kept
	next  uint64    // seq of the next line
	bytes int       // text of the lines kept
}

func (r *logRing) add(stream, text string) {
	// Forget the oldest lines until this one fits both bounds.
	for r.first < r.next && (r.next-r.first >= logRingSize || r.bytes+len(text) > logRingBytes) {
		old := &r.lines[r.first%logRingSize]
		r.bytes -= len(old.text)
		old.text = "" // let it be collected now, not when its slot is reused
		r.first++
	}
	l := logLine{seq: r.next, stream: stream, text: text}
	if len(r.lines) < logRingSize {
		r.lines = append(r.lines, l)
	} else {
		r.lines[r.next%logRingSize] = l
	}
	r.bytes += len(text)
	r.next++
}

// since returns, in order, the lines with seq >= from that are still kept.
func (r *logRing) since(from uint64) []logLine {
	from = max(from, r.first)
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
	if b.onOutput != nil {
		b.onOutput(b.id, stream, text)
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

// lineWriter splits what is written to it into lines, each handed to out
// with the stream's name (a runSpec's output). A line longer than
// maxLineLen is cut there, marked, and the rest of it up to its newline
// dropped.
type lineWriter struct {
	out    func(stream, line string)
	stream string
	mu     sync.Mutex
	buf    []byte
	cut    bool // dropping the rest of a line already cut
}

// cutMark ends a line that was cut at maxLineLen.
const cutMark = " [line cut at 64 KiB]"

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if w.cut {
			if i < 0 {
				break
			}
			w.cut, p = false, p[i+1:]
			continue
		}
		if i < 0 {
			w.buf = append(w.buf, p...)
			break
		}
		w.buf = append(w.buf, p[:i]...)
		w.emit(w.buf)
		w.buf, p = w.buf[:0], p[i+1:]
	}
	if len(w.buf) > maxLineLen {
		w.emit(w.buf)
		w.buf, w.cut = w.buf[:0], true
	}
	if len(w.buf) == 0 {
		w.buf = nil // do not pin a large buffer
	}
	return n, nil
}

// flush emits a final line that had no newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
	}
	w.buf, w.cut = nil, false // what follows is a new line
}

// emit appends line to the log, cut at maxLineLen (on a UTF-8 boundary)
// and marked when longer.
func (w *lineWriter) emit(line []byte) {
	text := strings.TrimSuffix(string(line[:min(len(line), maxLineLen+1)]), "\r")
	if len(text) > maxLineLen {
		cut := maxLineLen
		for cut > maxLineLen-utf8.UTFMax && !utf8.RuneStart(text[cut]) {
			cut-- // not inside a character
		}
		text = text[:cut] + cutMark
	}
	w.out(w.stream, text)
}
