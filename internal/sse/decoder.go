// Package sse decodes server-sent events (text/event-stream) as the HTML
// standard defines them: "field: value" lines, events ended by a blank line,
// comments starting with a colon, LF, CRLF or CR line endings, and a byte
// order mark at the start.
//
// The decoder reads lines of any split across network reads, accepts "data:"
// with or without the space after the colon, and holds at most one event in
// memory: an event whose data lines together exceed its limit (or a single
// line over it) ends decoding with ErrEventTooLarge instead of buffering
// without bound.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// DefaultMaxEvent is the largest event a Decoder accepts unless told
// otherwise, in bytes of data (its data lines joined with "\n").
const DefaultMaxEvent = 1 << 20

// ErrEventTooLarge is returned when an event's data, all its data lines
// together, or any single line, exceeds the decoder's limit. The stream
// cannot be resynchronised after it: the event's end was never seen.
var ErrEventTooLarge = errors.New("sse: event too large")

// Event is one dispatched event.
type Event struct {
	// ID is the last event ID after this event: the value of its own id:
	// field, or the one before it if it had none.
	ID string
	// Type is the event: field; empty means "message".
	Type string
	// Data is the data: lines joined with "\n".
	Data string
}

// Decoder reads events from a stream.
type Decoder struct {
	scanner *bufio.Scanner
	lastID  string
	// maxEvent bounds an event's data and, with it, every line.
	maxEvent int
	// skipLF is set after a line ended by CR: an LF that follows belongs to
	// the same line ending (CRLF split across reads).
	skipLF bool
	// started is set once the first line is read: only that line may
	// begin with a byte order mark.
	started bool
}

// initialBuffer is the size a decoder's line buffer starts at: room for
// several status events (about a hundred bytes each); the transport below
// buffers the connection's reads anyway.
const initialBuffer = 1 << 10

// bom is the UTF-8 byte order mark the standard ignores at the start of a
// stream.
var bom = []byte("\uFEFF")

// NewDecoder returns a decoder reading r, refusing an event whose data is
// larger than maxEvent bytes (DefaultMaxEvent if maxEvent <= 0).
func NewDecoder(r io.Reader, maxEvent int) *Decoder {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEvent
	}
	d := &Decoder{maxEvent: maxEvent}
	s := bufio.NewScanner(r)
	// A line is never longer than an event; the scanner needs room for it
	// plus its terminator. Its buffer starts at initialBuffer and doubles
	// only when a line does not fit, so an open stream of small events
	// holds 1 KiB, and the buffer goes with the decoder when the connection
	// ends.
	s.Buffer(make([]byte, 0, min(initialBuffer, maxEvent+2)), maxEvent+2)
	s.Split(d.scanLines)
	d.scanner = s
	return d
}

// Next returns the next event. At the end of the stream it returns io.EOF;
// an event not yet ended by a blank line is discarded, as the standard says.
func (d *Decoder) Next() (Event, error) {
	var (
		data      strings.Builder
		eventType string
		hasData   bool
	)
	for d.scanner.Scan() {
		line := d.scanner.Bytes()
		if !d.started {
			d.started = true
			line = bytes.TrimPrefix(line, bom)
		}
		if len(line) == 0 {
			if !hasData {
				eventType = ""
				continue
			}
			return Event{ID: d.lastID, Type: eventType, Data: data.String()}, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			size := data.Len() + len(value)
			if hasData {
				size++
			}
			if size > d.maxEvent {
				return Event{}, ErrEventTooLarge
			}
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				d.lastID = string(value)
			}
		case "event":
			eventType = string(value)
		}
	}
	if err := d.scanner.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) || errors.Is(err, errLineTooLong) {
			return Event{}, ErrEventTooLarge
		}
		return Event{}, err
	}
	return Event{}, io.EOF
}

// errLineTooLong stops the scanner at a line longer than the event limit.
var errLineTooLong = errors.New("sse: line too long")

// scanLines is a bufio.SplitFunc for lines ended by LF, CRLF or a lone CR,
// refusing a line longer than the event limit. A line ended by CR is returned at
// once, without waiting to see whether an LF follows, so that an event is
// dispatched as soon as its blank line arrives.
func (d *Decoder) scanLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if d.skipLF && len(data) > 0 {
		d.skipLF = false
		if data[0] == '\n' {
			return 1, nil, nil
		}
	}
	i := bytes.IndexAny(data, "\r\n")
	switch {
	case i < 0:
		if len(data) > d.maxEvent {
			return 0, nil, errLineTooLong
		}
		if atEOF && len(data) > 0 {
			// An unterminated last line is not a complete line; the
			// standard discards a pending event at EOF anyway.
			return len(data), nil, nil
		}
		return 0, nil, nil
	case i > d.maxEvent:
		return 0, nil, errLineTooLong
	case data[i] == '\n':
		return i + 1, data[:i], nil
	case i+1 < len(data) && data[i+1] == '\n':
		return i + 2, data[:i], nil
	default:
		d.skipLF = i+1 == len(data)
		return i + 1, data[:i], nil
	}
}
