package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// framings is the table every framing test runs over: the input stream and
// the events it must decode to, in order.
var framings = []struct {
	name  string
	input string
	want  []Event
}{
	{"data with space", "data: {\"a\":1}\n\n", []Event{{Data: `{"a":1}`}}},
	{"data without space", "data:{\"a\":1}\n\n", []Event{{Data: `{"a":1}`}}},
	{"only one space is stripped", "data:  two\n\n", []Event{{Data: " two"}}},
	{"plane framing with id", "data: {\"status\":\"ready\"}\nid: ready\n\n",
		[]Event{{ID: "ready", Data: `{"status":"ready"}`}}},
	{"id without space, before data", "id:loading\ndata:x\n\n", []Event{{ID: "loading", Data: "x"}}},
	{"id persists to later events", "id: a\ndata: 1\n\ndata: 2\n\n", []Event{{ID: "a", Data: "1"}, {ID: "a", Data: "2"}}},
	{"id with NUL ignored", "id: a\x00b\ndata: 1\n\n", []Event{{Data: "1"}}},
	{"comments and keep-alives", ":\n\n: keep-alive\ndata: x\n\n:\n\n", []Event{{Data: "x"}}},
	{"CRLF", "data: a\r\nid: 1\r\n\r\ndata: b\r\n\r\n", []Event{{ID: "1", Data: "a"}, {ID: "1", Data: "b"}}},
	{"CR", "data: a\r\rdata: b\r\r", []Event{{Data: "a"}, {Data: "b"}}},
	{"mixed endings", "data: a\r\n\ndata: b\n\r\ndata: c\r\r\n", []Event{{Data: "a"}, {Data: "b"}, {Data: "c"}}},
	{"multi-line data", "data: a\ndata: b\ndata:\ndata: c\n\n", []Event{{Data: "a\nb\n\nc"}}},
	{"data field without colon", "data\n\n", []Event{{Data: ""}}},
	{"event type", "event: status\ndata: x\n\n", []Event{{Type: "status", Data: "x"}}},
	{"event without data is not dispatched", "event: ping\n\ndata: x\n\n", []Event{{Data: "x"}}},
	{"id-only event updates the id", "id: 7\n\ndata: x\n\n", []Event{{ID: "7", Data: "x"}}},
	{"unknown fields ignored", "retry: 1000\nfoo: bar\ndata: x\n\n", []Event{{Data: "x"}}},
	{"colon in value", "data: {\"t\":\"12:30\"}\n\n", []Event{{Data: `{"t":"12:30"}`}}},
	{"unterminated event discarded", "data: a\n\ndata: b\n", []Event{{Data: "a"}}},
	{"unterminated line discarded", "data: a\n\ndata: b", []Event{{Data: "a"}}},
	{"blank lines between events", "\n\n\ndata: a\n\n\n\ndata: b\n\n", []Event{{Data: "a"}, {Data: "b"}}},
	{"empty stream", "", nil},
	{"leading byte order mark ignored", "\ufeffdata: a\n\n", []Event{{Data: "a"}}},
	{"byte order mark only at the start", "data: a\n\n\ufeffdata: b\n\n", []Event{{Data: "a"}}},
}

// decodeAll reads every event from r.
func decodeAll(t *testing.T, r io.Reader, maxLine int) ([]Event, error) {
	t.Helper()
	dec := NewDecoder(r, maxLine)
	var events []Event
	for {
		ev, err := dec.Next()
		if err == io.EOF {
			return events, nil
		}
		if err != nil {
			return events, err
		}
		events = append(events, ev)
	}
}

func TestDecoderFramings(t *testing.T) {
	for _, tc := range framings {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeAll(t, strings.NewReader(tc.input), 0)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// splitReader returns its input in two reads, split at i.
type splitReader struct {
	parts [][]byte
}

func (s *splitReader) Read(p []byte) (int, error) {
	for len(s.parts) > 0 && len(s.parts[0]) == 0 {
		s.parts = s.parts[1:]
	}
	if len(s.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.parts[0])
	s.parts[0] = s.parts[0][n:]
	return n, nil
}

func TestDecoderFramingsSplitAtEveryByte(t *testing.T) {
	for _, tc := range framings {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.input)
			for i := 0; i <= len(in); i++ {
				r := &splitReader{parts: [][]byte{bytes.Clone(in[:i]), bytes.Clone(in[i:])}}
				got, err := decodeAll(t, r, 0)
				require.NoError(t, err, "split at %d", i)
				require.Equal(t, tc.want, got, "split at %d", i)
			}
			got, err := decodeAll(t, iotest.OneByteReader(strings.NewReader(tc.input)), 0)
			require.NoError(t, err)
			require.Equal(t, tc.want, got, "one byte at a time")
			got, err = decodeAll(t, iotest.DataErrReader(strings.NewReader(tc.input)), 0)
			require.NoError(t, err)
			require.Equal(t, tc.want, got, "data with EOF")
		})
	}
}

func TestDecoderEventLimit(t *testing.T) {
	const limit = DefaultMaxEvent
	for _, ending := range []string{"\n", "\r\n", "\r"} {
		t.Run("accepts a line of exactly the limit "+strings.ReplaceAll(strings.ReplaceAll(ending, "\r", "CR"), "\n", "LF"), func(t *testing.T) {
			payload := strings.Repeat("x", limit-len("data: "))
			got, err := decodeAll(t, strings.NewReader("data: "+payload+ending+ending), 0)
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, payload, got[0].Data)
		})
		t.Run("refuses a line over the limit "+strings.ReplaceAll(strings.ReplaceAll(ending, "\r", "CR"), "\n", "LF"), func(t *testing.T) {
			payload := strings.Repeat("x", limit-len("data: ")+1)
			_, err := decodeAll(t, strings.NewReader("data: "+payload+ending+ending), 0)
			require.ErrorIs(t, err, ErrEventTooLarge)
		})
	}
	t.Run("a small limit", func(t *testing.T) {
		got, err := decodeAll(t, strings.NewReader("data: 1234\n\n"), 10)
		require.NoError(t, err)
		assert.Equal(t, []Event{{Data: "1234"}}, got)
		_, err = decodeAll(t, strings.NewReader("data: 12345\n\n"), 10)
		require.ErrorIs(t, err, ErrEventTooLarge)
	})
	t.Run("an over-long line with no ending at all", func(t *testing.T) {
		_, err := decodeAll(t, strings.NewReader(strings.Repeat("x", 100)), 10)
		require.ErrorIs(t, err, ErrEventTooLarge)
	})
	t.Run("many lines together over the limit", func(t *testing.T) {
		in := strings.Repeat("data: "+strings.Repeat("y", 1000)+"\n", 3000) + "\n"
		_, err := decodeAll(t, strings.NewReader(in), 2000)
		require.ErrorIs(t, err, ErrEventTooLarge)
	})
	t.Run("many lines together exactly at the limit", func(t *testing.T) {
		// Two lines of 999 bytes joined by "\n" make 1999; a third byte
		// line makes 2001.
		line := "data: " + strings.Repeat("y", 999) + "\n"
		got, err := decodeAll(t, strings.NewReader(line+line+"\n"), 1999)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Len(t, got[0].Data, 1999)
		_, err = decodeAll(t, strings.NewReader(line+line+"data: y\n\n"), 2000)
		require.ErrorIs(t, err, ErrEventTooLarge)
	})
	t.Run("the limit is per event, not per stream", func(t *testing.T) {
		in := strings.Repeat("data: "+strings.Repeat("y", 900)+"\n\n", 100)
		got, err := decodeAll(t, strings.NewReader(in), 1000)
		require.NoError(t, err)
		assert.Len(t, got, 100)
	})
}

// countingReader repeats a pattern without end, counting the bytes read.
type countingReader struct {
	pattern []byte
	off     int
	read    int
}

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.pattern[c.off]
		c.off = (c.off + 1) % len(c.pattern)
	}
	c.read += len(p)
	return len(p), nil
}

// An event of small data lines that never ends must stop the decoder once
// its data passes the limit, without reading (and holding) more than about
// the limit: a flood of small lines once grew the heap by 58 MB under a
// 1 MiB line limit.
func TestDecoderFloodOfSmallLinesStopsAtTheLimit(t *testing.T) {
	const limit = 1 << 20
	r := &countingReader{pattern: []byte("data: " + strings.Repeat("z", 58) + "\n")}
	dec := NewDecoder(r, limit)
	_, err := dec.Next()
	require.ErrorIs(t, err, ErrEventTooLarge)
	// The data reached the limit after about limit/59*65 bytes of lines;
	// the scanner reads at most one buffer (64 KiB, then doubling up to
	// the line limit) beyond that.
	assert.Less(t, r.read, 2*limit+(64<<10), "bytes read before giving up")
}

// blockingReader yields its data, then blocks until closed, as a live stream
// that has gone quiet does.
type blockingReader struct {
	data   []byte
	closed chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if len(b.data) > 0 {
		n := copy(p, b.data)
		b.data = b.data[n:]
		return n, nil
	}
	<-b.closed
	return 0, io.ErrUnexpectedEOF
}

// An event must be dispatched as soon as its blank line arrives, without
// waiting for a byte more; with CR line endings the decoder cannot know yet
// whether an LF follows.
func TestDecoderDispatchesWithoutWaitingForMoreInput(t *testing.T) {
	for _, in := range []string{"data: a\n\n", "data: a\r\n\r\n", "data: a\r\r"} {
		r := &blockingReader{data: []byte(in), closed: make(chan struct{})}
		dec := NewDecoder(r, 0)
		got := make(chan Event, 1)
		go func() {
			ev, err := dec.Next()
			if err == nil {
				got <- ev
			}
			close(got)
		}()
		var ev Event
		var ok bool
		select {
		case ev, ok = <-got:
		case <-time.After(5 * time.Second):
		}
		close(r.closed)
		require.True(t, ok, "%q", in)
		assert.Equal(t, Event{Data: "a"}, ev, "%q", in)
	}
}

func TestDecoderReadError(t *testing.T) {
	boom := errors.New("boom")
	dec := NewDecoder(io.MultiReader(strings.NewReader("data: a\n\n"), iotest.ErrReader(boom)), 0)
	ev, err := dec.Next()
	require.NoError(t, err)
	assert.Equal(t, "a", ev.Data)
	_, err = dec.Next()
	require.ErrorIs(t, err, boom)
}

func FuzzDecoder(f *testing.F) {
	for _, tc := range framings {
		f.Add([]byte(tc.input), 3)
	}
	f.Add([]byte("data: "+strings.Repeat("z", 40)+"\n\n"), 1)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		whole, errWhole := decodeAll(t, bytes.NewReader(in), 64)
		if split < 0 {
			split = -split
		}
		if split > len(in) {
			split = len(in)
		}
		r := &splitReader{parts: [][]byte{bytes.Clone(in[:split]), bytes.Clone(in[split:])}}
		parts, errParts := decodeAll(t, r, 64)
		// However the input is split, the decoder must see the same events
		// and the same outcome.
		if (errWhole == nil) != (errParts == nil) {
			t.Fatalf("whole: %v, split at %d: %v", errWhole, split, errParts)
		}
		if errWhole == nil && !equalEvents(whole, parts) {
			t.Fatalf("whole: %q, split at %d: %q", whole, split, parts)
		}
		for _, ev := range whole {
			if strings.ContainsAny(ev.ID, "\r\n\x00") || strings.ContainsAny(ev.Type, "\r\n") {
				t.Fatalf("field holds a line break or NUL: %q", ev)
			}
			if strings.ContainsRune(ev.Data, '\r') {
				t.Fatalf("data holds a CR: %q", ev.Data)
			}
		}
	})
}

func equalEvents(a, b []Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
