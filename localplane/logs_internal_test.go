package localplane

import (
	"strconv"
	"strings"
	"testing"
)

func TestLogRingKeepsTheLatestLinesInOrder(t *testing.T) {
	var r logRing
	check := func(from uint64, wantFirst, wantLen int) {
		t.Helper()
		got := r.since(from)
		if len(got) != wantLen {
			t.Fatalf("since(%d): %d lines, want %d", from, len(got), wantLen)
		}
		for i, l := range got {
			if want := uint64(wantFirst + i); l.seq != want || l.text != strconv.FormatUint(want, 10) {
				t.Fatalf("since(%d)[%d] = %d %q, want %d", from, i, l.seq, l.text, want)
			}
		}
	}
	check(0, 0, 0)
	for i := range 10 {
		r.add("stdout", strconv.Itoa(i))
	}
	check(0, 0, 10)
	check(7, 7, 3)
	check(10, 0, 0)
	for i := 10; i < 2*logRingSize+500; i++ {
		r.add("stdout", strconv.Itoa(i))
	}
	check(0, logRingSize+500, logRingSize)
	check(2*logRingSize, 2*logRingSize, 500)
	check(5*logRingSize, 0, 0)
}

// Adding to a full ring costs the same as adding to an empty one.
func BenchmarkLogRingAddFull(b *testing.B) {
	var r logRing
	for i := range logRingSize {
		r.add("stdout", strconv.Itoa(i))
	}
	for b.Loop() {
		r.add("stdout", "line")
	}
}

// The ring keeps at most logRingBytes of text, forgetting the oldest lines
// first, whatever the number of lines.
func TestLogRingIsBoundedInBytes(t *testing.T) {
	var r logRing
	big := strings.Repeat("x", maxLineLen)
	for i := range logRingSize {
		r.add("stdout", strconv.Itoa(i)+big)
	}
	got := r.since(0)
	if r.bytes > logRingBytes || len(got) != logRingBytes/(maxLineLen+3)+0 {
		t.Fatalf("%d lines, %d bytes kept; want the latest %d lines within %d bytes", len(got), r.bytes, logRingBytes/(maxLineLen+3), logRingBytes)
	}
	for i, l := range got {
		want := logRingSize - len(got) + i
		if l.seq != uint64(want) || !strings.HasPrefix(l.text, strconv.Itoa(want)+"x") {
			t.Fatalf("line %d is seq %d, want %d", i, l.seq, want)
		}
	}
	// Small lines fill the room again, up to the line bound.
	for i := range 2 * logRingSize {
		r.add("stdout", strconv.Itoa(i))
	}
	if got := r.since(0); len(got) != logRingSize || got[0].text != strconv.Itoa(logRingSize) {
		t.Fatalf("%d lines kept from %q; want %d from %d", len(got), got[0].text, logRingSize, logRingSize)
	}
}
