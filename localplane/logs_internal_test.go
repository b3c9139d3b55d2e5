package localplane

import (
	"strconv"
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
