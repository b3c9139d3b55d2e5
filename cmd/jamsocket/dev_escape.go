package main

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// visible returns s with everything that could move the cursor, clear the
// screen, retitle the terminal or reorder text shown as a visible escape
// (\n, \x1b, \u202e, ...), so that request-supplied text (keys, ids, lines
// that echo a request) cannot forge log lines or disturb the live table.
// With keepColor, SGR sequences (ESC [ params m: colours and styles) are
// kept, since backends colour their logs.
func visible(s string, keepColor bool) string {
	if isPlain(s) {
		return s // the common case, without allocating
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if keepColor && s[i] == 0x1b {
			if n := sgrLen(s[i:]); n > 0 {
				b.WriteString(s[i : i+n])
				i += n
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t' && keepColor:
			b.WriteByte('\t')
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case isHidden(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isPlain reports whether s is printable ASCII only.
func isPlain(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// isHidden reports whether r is a C1 control or a character that changes
// how the text around it is shown (bidirectional overrides and isolates,
// line and paragraph separators).
func isHidden(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x2028 || r == 0x2029 || r == 0x200e || r == 0x200f || r == 0x061c
}

// sgrLen is the length of the SGR sequence s starts with, or 0.
func sgrLen(s string) int {
	if len(s) < 3 || s[0] != 0x1b || s[1] != '[' {
		return 0
	}
	for i := 2; i < len(s) && i < 64; i++ {
		switch c := s[i]; {
		case c == 'm':
			return i + 1
		case (c >= '0' && c <= '9') || c == ';':
		default:
			return 0
		}
	}
	return 0
}
