// Package sse decodes server-sent events (text/event-stream) as the HTML
// standard defines them: "field: value" lines, events ended by a blank line,
// comments starting with a colon, and LF, CRLF or CR line endings.
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
}

// NewDecoder returns a decoder reading r, refusing lines longer than maxLine
// bytes (DefaultMaxLine if maxLine <= 0).
func NewDecoder(r io.Reader, maxLine int) *Decoder {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	s := bufio.NewScanner(r)
	// The scanner needs room for the line plus its terminator.
	s.Buffer(make([]byte, 0, min(maxLine+2, 64<<10)), maxLine+2)
	s.Split(scanLines)
	return &Decoder{scanner: s}
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
		if errors.Is(err, bufio.ErrTooLong) {
			return Event{}, ErrLineTooLong
		}
		return Event{}, err
	}
	return Event{}, io.EOF
}

// LastEventID is the last id: the stream set, to send back as Last-Event-ID
// when reconnecting.
func (d *Decoder) LastEventID() string { return d.lastID }

// scanLines is a bufio.SplitFunc for lines ended by LF, CRLF or a lone CR.
func scanLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	i := bytes.IndexAny(data, "\r\n")
	switch {
	case i < 0:
		if atEOF && len(data) > 0 {
			// An unterminated last line is not a complete line; the
			// standard discards a pending event at EOF anyway.
			return len(data), nil, nil
		}
		return 0, nil, nil
	case data[i] == '\n':
		return i + 1, data[:i], nil
	case i+1 < len(data):
		if data[i+1] == '\n' {
			return i + 2, data[:i], nil
		}
		return i + 1, data[:i], nil
	case atEOF:
		return i + 1, data[:i], nil
	default:
		// A CR at the end of what was read: wait to see if LF follows.
		return 0, nil, nil
	}
}
