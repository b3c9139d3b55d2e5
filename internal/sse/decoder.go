// Package sse decodes server-sent events (text/event-stream) as the HTML
// standard defines them: "field: value" lines, events ended by a blank line,
// comments starting with a colon, LF, CRLF or CR line endings, and a byte
// order mark at the start.
//
// The decoder reads lines of any split across network reads, accepts "data:"
// with or without the space after the colon, and refuses a line longer than
// its limit instead of buffering without bound.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// DefaultMaxLine is the longest line a Decoder accepts unless told otherwise.
const DefaultMaxLine = 1 << 20

// ErrLineTooLong is returned when a line exceeds the decoder's limit.
var ErrLineTooLong = errors.New("sse: line too long")

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
	maxLine int
	// skipLF is set after a line ended by CR: an LF that follows belongs to
	// the same line ending (CRLF split across reads).
	skipLF bool
	// started is set once the first line is read: only that line may
	// begin with a byte order mark.
	started bool
}

// bom is the UTF-8 byte order mark the standard ignores at the start of a
// stream.
var bom = []byte("\uFEFF")

// NewDecoder returns a decoder reading r, refusing lines longer than maxLine
// bytes (DefaultMaxLine if maxLine <= 0).
func NewDecoder(r io.Reader, maxLine int) *Decoder {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	d := &Decoder{maxLine: maxLine}
	s := bufio.NewScanner(r)
	// The scanner needs room for the line plus its terminator.
	s.Buffer(make([]byte, 0, min(maxLine+2, 64<<10)), maxLine+2)
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
		if errors.Is(err, bufio.ErrTooLong) || errors.Is(err, ErrLineTooLong) {
			return Event{}, ErrLineTooLong
		}
		return Event{}, err
	}
	return Event{}, io.EOF
}

// LastEventID is the last id: the stream set, to send back as Last-Event-ID
// when reconnecting.
func (d *Decoder) LastEventID() string { return d.lastID }

// scanLines is a bufio.SplitFunc for lines ended by LF, CRLF or a lone CR,
// refusing a line longer than maxLine. A line ended by CR is returned at
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
		if len(data) > d.maxLine {
			return 0, nil, ErrLineTooLong
		}
		if atEOF && len(data) > 0 {
			// An unterminated last line is not a complete line; the
			// standard discards a pending event at EOF anyway.
			return len(data), nil, nil
		}
		return 0, nil, nil
	case i > d.maxLine:
		return 0, nil, ErrLineTooLong
	case data[i] == '\n':
		return i + 1, data[:i], nil
	case i+1 < len(data) && data[i+1] == '\n':
		return i + 2, data[:i], nil
	default:
		d.skipLF = i+1 == len(data)
		return i + 1, data[:i], nil
	}
}
