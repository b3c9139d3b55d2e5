package main

import (
	"hash/fnv"
	"strings"
)

// What the views show of container backends: build output, the image, and
// the footer of the terminal view (as the official dev server's).

func (v *plainView) buildOutput(line string) { v.println("[build] " + line) }

func (v *plainView) imageChanged(st imageState) { v.println(imageLine(st)) }

func (v *jsonView) buildOutput(line string) { v.emit(devEvent{Type: "build", Line: line}) }

// imageChanged emits {"type":"image","status":"building"|"ready"|"failed",
// "image":…,"line":error}.
func (v *jsonView) imageChanged(st imageState) {
	e := devEvent{Type: "image", Status: "ready", Image: st.Image}
	switch {
	case st.Building:
		e.Status = "building"
	case st.Err != "":
		e.Status, e.Line = "failed", st.Err
	}
	v.emit(e)
}

func (v *tableView) buildOutput(line string) { v.print("[build] " + line) }

func (v *tableView) imageChanged(st imageState) {
	v.mu.Lock()
	v.img = st
	v.mu.Unlock()
	v.print(imageLine(st))
}

// imageLine is the log line for an image change.
func imageLine(st imageState) string {
	switch {
	case st.Building:
		return "jamsocket dev: building the session backend image… not ready to spawn"
	case st.Err != "":
		return "jamsocket dev: the build failed (" + st.Err + "); not ready to spawn until a build succeeds"
	}
	return "jamsocket dev: image " + shortImageID(st.Image) + " ready to spawn"
}

// footerLocked is what the terminal view shows below the table: whether
// spawns are ready and, when they work, the keys. v.mu is held.
func (v *tableView) footerLocked() []string {
	var out []string
	live := 0
	for _, r := range v.rows {
		if !r.Terminated {
			live++
		}
	}
	switch {
	case !v.containers:
	case v.img.Building:
		out = append(out, " Rebuilding session backend image... Not ready to spawn")
	case v.img.Err != "" || v.img.Image == "":
		out = append(out, " Not ready to spawn - the session backend is still building or has failed to build")
	case live == 0:
		out = append(out, " No running backends. Ready to spawn!")
	}
	if line := warmPoolLine(v.pool); line != "" {
		out = append(out, " "+line)
	}
	if v.keys {
		keys := " [t] Terminate backends [ctrl-c] Stop"
		if v.building {
			keys = " [b] Build" + keys
		}
		out = append(out, keys)
	}
	return clip(out, v.width())
}

// styledLine is outputLine, its prefix coloured per backend when styling
// is on (--style-log-output, the default).
func (v *tableView) styledLine(id, stream, line string) string {
	if !v.style {
		return outputLine(id, stream, line)
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	colours := []string{"31", "32", "33", "34", "35", "36"}
	prefix := outputPrefix(visible(id, false), stream)
	return "\x1b[" + colours[h.Sum32()%uint32(len(colours))] + "m" + prefix + "\x1b[0m " + visible(line, true)
}

// shortImageID is the 12 hex digits `docker images` shows of an image id;
// a name (from --image) is shown as it is.
func shortImageID(image string) string {
	if hex, ok := strings.CutPrefix(image, "sha256:"); ok && len(hex) >= 12 {
		return hex[:12]
	}
	return image
}
