package localplane

// Builder builds what the plane's backends run while the plane serves, as
// `jamsocket dev -f Dockerfile` builds its image: the plane asks it at each
// spawn, the web console shows its log and its Rebuild button calls it. Set
// one with Config.Builder; a plane without one runs what its Config names.
//
// A container plane (Config.Container) runs the image Image names, taken
// when the backend starts: running backends keep theirs (terminate them to
// move them to a new build). On other planes only Image's hold counts.
type Builder interface {
	// Image returns the image a spawn starting now runs. An error holds
	// spawns: a connect that would spawn answers 503, code
	// NotReadyToSpawn (on Plane's surface 500, kind NoDroneAvailable), with
	// the error's text as the reason ("the image is building", "the last
	// build failed: ..."); connects to running backends still succeed. The
	// plane asks under its locks, so Image answers at once from what the
	// builder knows, and never waits for a build.
	Image() (image string, err error)
	// Rebuild asks for a new build; the console's Rebuild button calls it.
	// It must not block.
	Rebuild()
	// Log returns the output of the latest build from line number from on
	// (numbered from 0 since that build began, lines no longer kept
	// included), for the console's build panel. The builder bounds what it
	// keeps.
	Log(from int) BuildLog
}

// BuildLog is a Builder's account of its latest build, as Log returns it.
type BuildLog struct {
	// Build counts the builds started so far: 0 before the first. A new
	// number starts a new log.
	Build uint64
	// Lines are the build's output lines from the line asked for on.
	Lines []string
	// Next is the number of the line after Lines: ask for it next.
	Next int
	// Changed is closed at the next change of what Image or Log answer (a
	// line, a build starting or ending); nil if nothing will change.
	Changed <-chan struct{}
}
