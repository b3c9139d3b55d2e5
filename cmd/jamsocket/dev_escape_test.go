package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

func TestVisible(t *testing.T) {
	for in, want := range map[string]string{
		"doc-1":                    "doc-1",
		"naïve ✓":                  "naïve ✓",
		"a\nb":                     `a\nb`,
		"\x1b[2J\x1b[H":            `\x1b[2J\x1b[H`,
		"x\ry":                     `x\ry`,
		"tab\there":                `tab\x09here`,
		"\u202egnp.exe":            `\u202egnp.exe`,
		"\xff":                     `\xff`,
		"\u009b2J":                 `\u009b2J`,
		"\x1b]0;title\x07":         `\x1b]0;title\x07`,
		"\x1b[31mred\x1b[0m":       `\x1b[31mred\x1b[0m`,
		"del\x7f":                  `del\x7f`,
		"2024-01-01 fake ready k1": "2024-01-01 fake ready k1",
	} {
		assert.Equal(t, want, visible(in, false), "%q", in)
	}
	// Output lines keep their colours and tabs, nothing else.
	assert.Equal(t, "\x1b[31mred\x1b[0m\tok", visible("\x1b[31mred\x1b[0m\tok", true))
	assert.Equal(t, `\x1b[2J\x1b[1;1H`, visible("\x1b[2J\x1b[1;1H", true))
	assert.Equal(t, `a\nb`, visible("a\nb", true))
}

// A key cannot forge a status line in the plain log, nor move or clear the
// live table.
func TestDevOutputEscapesRequestText(t *testing.T) {
	at := time.Date(2024, 8, 21, 17, 21, 15, 123e6, time.UTC)
	evil := "k\n2024-08-21T17:21:15.123Z admin ready root\x1b[2J"
	line := statusLine(at, localplane.BackendView{ID: "b1", Key: evil, Status: types.StatusReady})
	assert.Equal(t, `2024-08-21T17:21:15.123Z b1 ready k\n2024-08-21T17:21:15.123Z admin ready root\x1b[2J`, line)
	assert.NotContains(t, line, "\n")

	rows := renderTable([]localplane.BackendView{{ID: "b1", Key: "\x1b[2J\x1b[10A" + "k", Status: types.StatusReady, CreatedAt: at}}, at, 200, 10)
	for _, r := range rows {
		assert.NotContains(t, r, "\x1b", "no escape reaches the terminal")
	}
	assert.Contains(t, strings.Join(rows, "\n"), `\x1b[2J\x1b[10Ak`)

	assert.Equal(t, `[b1] \x1b[2Jhello`, outputLine("b1", "stdout", "\x1b[2Jhello"))
}

// The table and the log say how a crashed backend ended.
func TestDevShowsAbnormalEnd(t *testing.T) {
	at := time.Date(2024, 8, 21, 17, 21, 15, 123e6, time.UTC)
	code := func(n int) *int { return &n }
	for want, b := range map[string]localplane.BackendView{
		"terminated (exit 3)":                       {ExitCode: code(3)},
		"terminated (exit 139, segmentation fault)": {ExitCode: code(139)},
		"terminated (external)":                     {ExitCode: code(137), TerminationReason: types.ReasonExternal},
		"terminated (exit 137, killed)":             {ExitCode: code(137)},
		"terminated (swept, exit 2)":                {ExitCode: code(2), TerminationReason: types.ReasonSwept},
		"terminated (swept)":                        {ExitCode: code(0), TerminationReason: types.ReasonSwept},
		"terminated (internalerror)":                {TerminationReason: types.ReasonInternalError},
	} {
		b.ID, b.Status, b.Terminated, b.CreatedAt = "b1", types.StatusTerminated, true, at
		assert.Equal(t, want, statusText(b))
		assert.Contains(t, strings.Join(renderTable([]localplane.BackendView{b}, at, 200, 10), "\n"), want)
	}
}
