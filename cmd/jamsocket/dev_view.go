package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// logTimeFormat stamps the plain log's status lines.
const logTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// plainView is the log shown when stdout is not a terminal (or with
// --plain): backend output prefixed by the backend id, and one line per
// status change, "time id status key", with "(reason)" after a
// termination.
type plainView struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time // nil: time.Now
}

func (v *plainView) println(s string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	writeAll(v.w, s+"\n")
}

func (v *plainView) started(info devInfo, _ *localplane.Server) {
	v.println(strings.Join(info.Lines, "\n"))
}

func (v *plainView) output(id, stream, line string) { v.println(outputLine(id, stream, line)) }

func (v *plainView) plane(line string) { v.println("[plane] " + visible(line, false)) }

func (v *plainView) change(b localplane.BackendView) {
	now := time.Now
	if v.now != nil {
		now = v.now
	}
	v.println(statusLine(now(), b))
}

func (v *plainView) stopping() {
	v.println("jamsocket dev: stopping; terminating every backend")
}

func (v *plainView) stopped(int) { v.println("jamsocket dev: stopped") }

// statusLine is the plain log's line for a status change.
func statusLine(t time.Time, b localplane.BackendView) string {
	status := string(b.Status)
	if b.Forgotten {
		status = "forgotten"
	}
	line := t.Format(logTimeFormat) + " " + visible(b.ID, false) + " " + status + " " + visible(b.Key, false)
	if end := endText(b); end != "" {
		line += " (" + end + ")"
	}
	return line
}

// statusText is a backend's status, with how it ended once it has.
func statusText(b localplane.BackendView) string {
	s := string(b.Status)
	if end := endText(b); end != "" {
		s += " (" + end + ")"
	}
	return s
}

// endText is how a terminated backend ended: the termination reason, and
// for an abnormal end the exit code (with the signal's name when a signal
// killed it): one that is not 0 and not what the plane's own SIGTERM or
// SIGKILL of a termination gives. Empty before the end.
func endText(b localplane.BackendView) string {
	if !b.Status.IsTerminal() {
		return ""
	}
	var parts []string
	if b.TerminationReason != "" {
		parts = append(parts, string(b.TerminationReason))
	}
	const sigterm, sigkill = 128 + 15, 128 + 9
	if c := b.ExitCode; c != nil && *c != 0 && (b.TerminationReason == "" || (*c != sigterm && *c != sigkill)) {
		exit := "exit " + strconv.Itoa(*b.ExitCode)
		if sig := *b.ExitCode - 128; sig > 0 && sig < 65 {
			exit += ", " + syscall.Signal(sig).String()
		}
		parts = append(parts, exit)
	}
	return strings.Join(parts, ", ")
}

// jsonView prints one JSON object per line: the listening addresses, every
// status change, every output line and the plane's own log lines, each with
// a "type".
type jsonView struct {
	mu sync.Mutex
	w  io.Writer
}

// devEvent is one line of `jamsocket dev --json`.
type devEvent struct {
	Type              string    `json:"type"` // listening, status, forgotten, output, plane, warm_pool, stopping, stopped
	Time              time.Time `json:"time"`
	BackendID         string    `json:"backend_id,omitempty"`
	Status            string    `json:"status,omitempty"`
	Key               string    `json:"key,omitempty"`
	TerminationReason string    `json:"termination_reason,omitempty"`
	PID               int       `json:"pid,omitempty"`
	ExitCode          *int      `json:"exit_code,omitempty"`
	Stream            string    `json:"stream,omitempty"`
	Line              string    `json:"line,omitempty"`
	Image             string    `json:"image,omitempty"`
	// The warm_pool event's.
	WarmPool *warmPoolEvent `json:"warm_pool,omitempty"`
	// The listening event's.
	APIURL   string            `json:"api_url,omitempty"`
	ProxyURL string            `json:"proxy_url,omitempty"`
	Command  []string          `json:"command,omitempty"`
	Env      map[string]string `json:"env,omitempty"`
}

func (v *jsonView) emit(e devEvent) {
	e.Time = time.Now().UTC()
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	writeAll(v.w, string(b)+"\n")
}

func (v *jsonView) started(info devInfo, _ *localplane.Server) {
	v.emit(devEvent{Type: "listening", APIURL: info.APIURL, ProxyURL: info.ProxyURL, Command: info.Command, Env: info.Env})
}

func (v *jsonView) output(id, stream, line string) {
	v.emit(devEvent{Type: "output", BackendID: id, Stream: stream, Line: line})
}

func (v *jsonView) plane(line string) { v.emit(devEvent{Type: "plane", Line: line}) }

func (v *jsonView) change(b localplane.BackendView) {
	e := devEvent{Type: "status", BackendID: b.ID, Status: string(b.Status), Key: b.Key,
		TerminationReason: string(b.TerminationReason), PID: b.PID, ExitCode: b.ExitCode, Image: b.Image}
	if b.Forgotten {
		e.Type = "forgotten"
	}
	v.emit(e)
}

func (v *jsonView) stopping()   { v.emit(devEvent{Type: "stopping"}) }
func (v *jsonView) stopped(int) { v.emit(devEvent{Type: "stopped"}) }

// tableView is the terminal view: log lines scroll as usual, and a table of
// the backends stays below them. The table is redrawn on every status
// change and once a second (for the ages) by erasing it (cursor up, clear to
// the end of the screen) and printing it again; a log line erases the table,
// is printed, and the table is printed again below it.
type tableView struct {
	w             io.Writer
	width, height func() int
	now           func() time.Time

	notify chan struct{} // a status changed; capacity 1, never blocks
	stop   chan struct{} // closed by stopped
	loop   sync.WaitGroup

	mu    sync.Mutex
	srv   *localplane.Server
	rows  []localplane.BackendView // the latest snapshot
	pool  localplane.WarmPoolView  // the latest snapshot
	drawn int                      // lines of the table on screen, just above the cursor
	final bool                     // the last table is drawn: print below it, draw no more

	// Set before started: what the footer says (see dev_view_containers.go).
	style      bool // colour the backends' output prefixes
	containers bool // backends are containers: say whether spawns are ready
	building   bool // the image is built here: the b key rebuilds
	keys       bool // the keys work: show them
	img        imageState
}

func newTableView(w io.Writer, width, height func() int) *tableView {
	return &tableView{w: w, width: width, height: height, now: time.Now,
		notify: make(chan struct{}, 1), stop: make(chan struct{})}
}

func (v *tableView) started(info devInfo, srv *localplane.Server) {
	v.mu.Lock()
	v.srv = srv
	v.mu.Unlock()
	v.print(info.Lines...)
	v.loop.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			v.refresh()
			select {
			case <-v.notify:
			case <-tick.C:
			case <-v.stop:
				return
			}
		}
	})
}

// refresh takes a new snapshot of the backends and redraws the table.
func (v *tableView) refresh() {
	rows, pool := v.srv.Backends(), v.srv.WarmPool()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rows, v.pool = rows, pool
	v.redrawLocked("")
}

// print shows lines above the table.
func (v *tableView) print(lines ...string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\n")
	}
	v.redrawLocked(b.String())
}

// redrawLocked erases the table, writes above (whole lines), and draws the
// table again, in one write so that the terminal does not flicker.
func (v *tableView) redrawLocked(above string) {
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\r\x1b[%dA\x1b[J", v.drawn)
	}
	b.WriteString(above)
	if v.final {
		writeAll(v.w, b.String())
		return
	}
	height := v.height()
	lines := append(renderTable(v.rows, v.now(), v.width(), max(3, height/2)), v.footerLocked()...)
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\n")
	}
	v.drawn = len(lines)
	writeAll(v.w, b.String())
}

func (v *tableView) output(id, stream, line string) {
	v.print(v.styledLine(id, stream, line))
}

func (v *tableView) plane(line string) { v.print("[plane] " + visible(line, false)) }

func (v *tableView) change(localplane.BackendView) {
	select {
	case v.notify <- struct{}{}:
	default: // a redraw is pending already
	}
}

func (v *tableView) stopping() {
	v.print("jamsocket dev: stopping; terminating every backend")
}

func (v *tableView) stopped(int) {
	close(v.stop)
	v.loop.Wait()
	v.refresh()
	v.mu.Lock()
	v.drawn, v.final = 0, true // leave the last table on the screen
	v.mu.Unlock()
	v.print("jamsocket dev: stopped")
}

// renderTable draws the backends table: a title line, a header and a row
// per backend (id, status, key, age at now), oldest first, in at most
// maxLines lines of fewer than width columns. When the rows do not fit,
// terminated backends are left out first, then the oldest live ones, and a
// last line says how many are not shown.
func renderTable(rows []localplane.BackendView, now time.Time, width, maxLines int) []string {
	live := countLive(rows)
	title := "── no backends yet "
	if len(rows) > 0 {
		title = fmt.Sprintf("── backends: %d live, %d terminated ", live, len(rows)-live)
	}
	out := []string{title + strings.Repeat("─", max(0, width-1-utf8.RuneCountInString(title)))}
	if len(rows) == 0 {
		return clip(out, width)
	}
	shown, hidden := fitRows(rows, live, maxLines-2)
	out = append(out, alignCells(tableCells(shown, now))...)
	if hidden > 0 {
		out = append(out, "… "+strconv.Itoa(hidden)+" more not shown")
	}
	return clip(out, width)
}

// countLive counts the rows not terminated.
func countLive(rows []localplane.BackendView) int {
	live := 0
	for _, r := range rows {
		if !r.Terminated {
			live++
		}
	}
	return live
}

// fitRows picks the rows that fit in room lines (a header included, and a
// line for "… more" if some are left out), of which live are live: the
// oldest terminated backends are dropped first, then the oldest live
// ones, keeping the order of the rest. hidden counts those dropped.
func fitRows(rows []localplane.BackendView, live, room int) (shown []localplane.BackendView, hidden int) {
	if len(rows) <= room {
		return rows, 0
	}
	room = max(1, room-1) // keep a line for "… more"
	hidden = len(rows) - room
	shown = make([]localplane.BackendView, 0, room)
	dropTerminated := min(hidden, len(rows)-live)
	dropLive := hidden - dropTerminated
	for _, r := range rows {
		switch {
		case r.Terminated && dropTerminated > 0:
			dropTerminated--
		case !r.Terminated && dropLive > 0:
			dropLive--
		default:
			shown = append(shown, r)
		}
	}
	return shown, hidden
}

// tableCells are the header and a row of cells per backend; the image
// column only when some backend runs an image.
func tableCells(rows []localplane.BackendView, now time.Time) [][]string {
	const maxKey = 40
	withImage := slices.ContainsFunc(rows, func(r localplane.BackendView) bool { return r.Image != "" })
	header := []string{"ID", "STATUS", "KEY", "AGE"}
	if withImage {
		header = []string{"ID", "STATUS", "KEY", "IMAGE ID", "AGE"}
	}
	cells := [][]string{header}
	for _, r := range rows {
		key := visible(r.Key, false)
		if utf8.RuneCountInString(key) > maxKey {
			key = string([]rune(key)[:maxKey-1]) + "…"
		}
		row := []string{visible(r.ID, false), statusText(r), key, formatAge(now.Sub(r.CreatedAt))}
		if withImage {
			row = []string{visible(r.ID, false), statusText(r), key, shortImageID(r.Image), formatAge(now.Sub(r.CreatedAt))}
		}
		cells = append(cells, row)
	}
	return cells
}

// alignCells lays cells out in columns two spaces apart, the last column
// (the age) right-aligned.
func alignCells(cells [][]string) []string {
	widths := make([]int, len(cells[0]))
	for _, c := range cells {
		for i, s := range c {
			widths[i] = max(widths[i], utf8.RuneCountInString(s))
		}
	}
	lines := make([]string, 0, len(cells))
	for _, c := range cells {
		var b strings.Builder
		for i, s := range c {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(s))
			if i == len(c)-1 {
				b.WriteString(pad + s)
				break
			}
			b.WriteString(s + pad + "  ")
		}
		lines = append(lines, b.String())
	}
	return lines
}

// clip cuts every line to fewer than width columns, so that none wraps.
func clip(lines []string, width int) []string {
	if width <= 1 {
		return lines
	}
	for i, l := range lines {
		if utf8.RuneCountInString(l) >= width {
			lines[i] = string([]rune(l)[:width-1])
		}
	}
	return lines
}

// formatAge is a compact duration: 42s, 3m07s, 2h05m, 3d04h.
func formatAge(d time.Duration) string {
	d = max(0, d)
	s := int(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}
