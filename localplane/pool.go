package localplane

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/controlsock"
	"github.com/jamsocket-go/jamsocket/types"
)

// The warm pool (Config.WarmPool): backends started before any connect
// asks for one, each with a control socket of its own, so that a connect is
// answered by a backend that is already running. The core asks it at one
// point of a spawn (lifecycle.startProc): take a warm backend if this spawn
// may have one. The rest is the pool's own: it keeps Config.WarmPool
// backends started while spawns are not held, counts one warm once it says
// Warmed, replaces one that ends, drains them all when the image spawns run
// changes (a Builder's new build), and stops warming (one line in the log)
// when its backends never say Warmed.
//
// A warm backend has no id, key or env: it is no backend of the registry,
// appears in no list and is not swept. Taken, it becomes the spawn's
// backend: the lifecycle sends it the assignment and counts its Ready as
// readiness (no HTTP probe).

// controlSocketName is the socket's name in a warm backend's control
// directory: the directory a container sees at /jamsocket-control.
const controlSocketName = "jamsocket-sdk.sock"

// Bounds of the warm pool.
const (
	// maxWarmPool bounds Config.WarmPool.
	maxWarmPool = 64
	// maxWarmFailures is how many backends in a row may end (or time out)
	// without saying Warmed before the pool stops warming until the next
	// image.
	maxWarmFailures = 3
	// maxEarlyLines and maxEarlyBytes bound the output a warm backend
	// writes before it is assigned that its log keeps (the latest lines).
	maxEarlyLines = 200
	maxEarlyBytes = 64 << 10
	// refillDelay is how long after a taken backend's Ready the pool
	// starts its replacement: the client is still reading the ready
	// status then, and a start (the engine's, above all) would compete
	// with it for the machine.
	refillDelay = 25 * time.Millisecond
	// controlWriteTimeout bounds the write of an assignment.
	controlWriteTimeout = 5 * time.Second
)

// WarmPoolView is the warm pool as Server.WarmPool shows it.
type WarmPoolView struct {
	// Size is Config.WarmPool: how many backends the pool keeps started (0:
	// no pool).
	Size int
	// Warming counts the backends started that have not said Warmed yet.
	Warming int
	// Ready counts the backends that have said Warmed and wait for a
	// connect.
	Ready int
	// Off says why the pool has stopped warming ("" while it warms).
	Off string
}

// warmable reports whether a spawn may be served by a warm backend: one
// started without the spawn's resource limits or mount cannot honour
// them, so such a spawn starts cold. Everything else a spawn fixes (id,
// key, tag, static token, executable.env, the service) reaches a warm
// backend in its assignment.
func warmable(spec *spawnSpec) bool {
	noLimits := spec.limits == nil || *spec.limits == (types.ResourceLimits{})
	noMount := spec.mount == nil || (!spec.mount.ByKey && spec.mount.Path == "")
	return noLimits && noMount
}

// warmPool keeps size warm backends. Its zero value is not usable; a nil
// *warmPool is no pool (every method does nothing).
type warmPool struct {
	size    int
	starter warmStarter
	gate    spawnGate     // the image spawns run now, and why they are held
	builder Builder       // wakes the pool when its image may have changed; nil without one
	timeout time.Duration // to say Warmed (Config.StartupTimeout)
	log     *slog.Logger
	changed func() // the pool's counts changed (the console, the dev view)

	wg   sync.WaitGroup // the loop and every goroutine of every warm backend
	wake chan struct{}  // a warm backend was taken or ended, or spawns were let go
	stop chan struct{}  // closed by shutdown

	mu       sync.Mutex
	base     string // the directory of the control directories (mode 0700)
	image    string // the image the pool's backends run ("" for processes)
	gen      int    // the image generation: a new image starts the next
	closed   bool
	warming  map[*warmBackend]struct{}
	ready    []*warmBackend // said Warmed, oldest first
	failures int            // backends in a row that ended without saying Warmed
	off      string         // why the pool stopped warming, or ""
	refillAt time.Time      // no start before (refillSoon)
}

func newWarmPool(size int, starter warmStarter, gate spawnGate, cfg *Config, changed func()) *warmPool {
	return &warmPool{
		size: size, starter: starter, gate: gate, builder: cfg.Builder, timeout: cfg.StartupTimeout,
		log: cfg.Logger.With("pool", "warm"), changed: changed,
		wake: make(chan struct{}, 1), stop: make(chan struct{}),
		warming: map[*warmBackend]struct{}{},
	}
}

// start makes the pool's directory and begins warming.
func (wp *warmPool) start() error {
	if wp == nil {
		return nil
	}
	// Short: a unix socket's path is at most 104-108 bytes.
	base, err := os.MkdirTemp("", "jsw")
	if err != nil {
		return fmt.Errorf("localplane: the warm pool's directory: %w", err)
	}
	wp.mu.Lock()
	wp.base = base
	wp.mu.Unlock()
	wp.wg.Go(wp.loop)
	return nil
}

// view counts the pool's backends.
func (wp *warmPool) view() WarmPoolView {
	if wp == nil {
		return WarmPoolView{}
	}
	wp.mu.Lock()
	defer wp.mu.Unlock()
	return WarmPoolView{Size: wp.size, Warming: len(wp.warming), Ready: len(wp.ready), Off: wp.off}
}

// take hands out the oldest backend that has said Warmed, if spec may have
// one and it runs the image spawns run now; nil otherwise (the spawn starts
// cold). No backend is handed out twice: it leaves the pool here, under the
// pool's lock. The pool refills refillDelay after the backend taken says
// Ready (or at once when it ends): a start under way would compete for the
// machine with the connect the user waits for.
func (wp *warmPool) take(spec *spawnSpec) *warmBackend {
	if wp == nil || !warmable(spec) {
		return nil
	}
	image, hold := wp.gate.state()
	if hold != "" { // a build began after the spawn was admitted
		return nil
	}
	wp.mu.Lock()
	if image != wp.image { // a new build the loop has not seen yet
		drained := wp.renewLocked(image)
		wp.mu.Unlock()
		wp.kill(drained)
		wp.poke()
		return nil
	}
	if len(wp.ready) == 0 {
		wp.mu.Unlock()
		return nil
	}
	w := wp.ready[0]
	wp.ready = slices.Delete(wp.ready, 0, 1)
	w.taken = true
	wp.mu.Unlock()
	wp.changed()
	return w
}

// renewLocked starts the generation of image: it empties the pool (the
// caller kills what it returns) and warms anew, even after the pool had
// stopped warming.
func (wp *warmPool) renewLocked(image string) []*warmBackend {
	wp.gen++
	wp.image = image
	wp.failures, wp.off = 0, ""
	return wp.drainLocked()
}

// kill hard-kills backends the pool no longer holds.
func (wp *warmPool) kill(ws []*warmBackend) {
	for _, w := range ws {
		w.p.Signal(true)
	}
}

// refillSoon lets the loop replace a taken backend, refillDelay from now
// (see take).
func (wp *warmPool) refillSoon() {
	wp.mu.Lock()
	wp.refillAt = time.Now().Add(refillDelay)
	wp.mu.Unlock()
	wp.poke()
}

// poke wakes the loop, and tells the views.
func (wp *warmPool) poke() {
	if wp == nil {
		return
	}
	select {
	case wp.wake <- struct{}{}:
	default:
	}
	wp.changed()
}

// shutdown stops warming and hard-kills every backend not taken; wait
// waits until they are gone.
func (wp *warmPool) shutdown() {
	if wp == nil {
		return
	}
	wp.mu.Lock()
	if wp.closed {
		wp.mu.Unlock()
		return
	}
	wp.closed = true
	close(wp.stop)
	drained := wp.drainLocked()
	wp.mu.Unlock()
	wp.kill(drained)
}

// wait waits until every backend the pool started has ended (the taken
// ones too: call it after the core has terminated them) and removes the
// pool's directory.
func (wp *warmPool) wait() {
	if wp == nil {
		return
	}
	wp.wg.Wait()
	wp.mu.Lock()
	base := wp.base
	wp.mu.Unlock()
	if base != "" {
		_ = os.RemoveAll(base)
	}
}

// drainLocked empties the pool and returns what was in it.
func (wp *warmPool) drainLocked() []*warmBackend {
	out := append([]*warmBackend(nil), wp.ready...)
	for w := range wp.warming {
		out = append(out, w)
	}
	wp.ready = nil
	clear(wp.warming)
	return out
}

// loop keeps the pool full: it starts one backend at a time while fewer
// than size are warming or ready, then waits to be woken (or for the
// Builder's next change).
func (wp *warmPool) loop() {
	for {
		var built <-chan struct{}
		if wp.builder != nil {
			built = wp.builder.Log(math.MaxInt).Changed // before asking the image: no change is missed
		}
		var later <-chan time.Time
		for {
			gen, wait, ok := wp.wanted()
			if !ok {
				break
			}
			if wait > 0 {
				later = time.After(wait)
				break
			}
			wp.warmOne(gen)
		}
		select {
		case <-wp.wake:
		case <-built:
		case <-later:
		case <-wp.stop:
			return
		}
	}
}

// wanted reports whether the pool should start a backend, for which image
// generation, and how long it should wait first. A new image drains the
// pool first; while spawns are held (a build runs, or failed) the pool
// keeps what it has and starts nothing.
func (wp *warmPool) wanted() (gen int, wait time.Duration, ok bool) {
	image, hold := wp.gate.state() // outside wp.mu: the Builder has its own lock
	wp.mu.Lock()
	var drained []*warmBackend
	if hold == "" && image != wp.image {
		drained = wp.renewLocked(image)
	}
	gen, wait = wp.gen, time.Until(wp.refillAt)
	ok = hold == "" && !wp.closed && wp.off == "" && len(wp.warming)+len(wp.ready) < wp.size
	wp.mu.Unlock()
	wp.kill(drained)
	return gen, wait, ok
}

// warmOne starts one backend for generation gen, with a control socket of
// its own, listening before the backend starts.
func (wp *warmPool) warmOne(gen int) {
	w, err := wp.listen(gen)
	if err == nil {
		w.p, w.st, err = wp.starter.startWarm(runSpec{control: w.dir, output: w.write, log: wp.log})
		if err != nil {
			w.ln.Close()
			_ = os.RemoveAll(w.dir)
		}
	}
	if err != nil {
		wp.failed(gen, fmt.Sprintf("starting one failed: %v", err))
		return
	}
	w.timer = time.AfterFunc(wp.timeout, w.timedOut)
	wp.mu.Lock()
	current := gen == wp.gen && !wp.closed
	if current {
		wp.warming[w] = struct{}{}
	}
	wp.mu.Unlock()
	wp.wg.Go(w.accept)
	wp.wg.Go(w.watch)
	if !current { // renewed or closed while it started
		w.p.Signal(true)
		return
	}
	wp.changed()
}

// listen makes a warm backend's control directory and socket. The pool's
// directory (0700) keeps other users out; the control directory and the
// socket are open to every user, as a container's user may be anyone.
func (wp *warmPool) listen(gen int) (*warmBackend, error) {
	wp.mu.Lock()
	base := wp.base
	wp.mu.Unlock()
	dir, err := os.MkdirTemp(base, "w")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, controlSocketName)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err == nil {
		err = errors.Join(os.Chmod(dir, 0o755), os.Chmod(path, 0o777))
	}
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &warmBackend{pool: wp, gen: gen, dir: dir, ln: ln, exited: make(chan int, 1), conns: map[net.Conn]struct{}{}}, nil
}

// warmed counts w warm (it said Warmed and is not taken). Called under w.mu.
func (wp *warmPool) warmed(w *warmBackend) {
	wp.mu.Lock()
	_, ok := wp.warming[w]
	if ok {
		delete(wp.warming, w)
		wp.ready = append(wp.ready, w)
		wp.failures = 0
		w.everWarmed = true
	}
	wp.mu.Unlock()
	if ok {
		w.timer.Stop()
		wp.changed()
	}
}

// unwarmed counts w warming again (its connection closed before it was
// taken: it gave up waiting, and may connect again). Called under w.mu.
func (wp *warmPool) unwarmed(w *warmBackend) {
	wp.mu.Lock()
	i := slices.Index(wp.ready, w)
	if i >= 0 {
		wp.ready = slices.Delete(wp.ready, i, i+1)
		wp.warming[w] = struct{}{}
	}
	wp.mu.Unlock()
	if i >= 0 {
		w.timer.Reset(wp.timeout) // it has as long to say Warmed again as a new one
		wp.changed()
	}
}

// ended forgets w, which has exited. A backend of the current image that
// ended without ever saying Warmed counts against the pool.
func (wp *warmPool) ended(w *warmBackend) {
	wp.mu.Lock()
	_, warming := wp.warming[w]
	delete(wp.warming, w)
	if i := slices.Index(wp.ready, w); i >= 0 {
		wp.ready = slices.Delete(wp.ready, i, i+1)
	}
	never := warming && !w.everWarmed
	wp.mu.Unlock()
	if never {
		wp.failed(w.gen, "one ended without saying Warmed")
	}
	wp.poke()
}

// failed counts a backend of generation gen that could not start or never
// said Warmed; after maxWarmFailures in a row the pool stops warming, and
// says so in one line.
func (wp *warmPool) failed(gen int, what string) {
	wp.mu.Lock()
	if gen != wp.gen || wp.closed || wp.off != "" {
		wp.mu.Unlock()
		return
	}
	wp.failures++
	if wp.failures < maxWarmFailures {
		wp.mu.Unlock()
		return
	}
	wp.off = fmt.Sprintf("%d backends in a row never said Warmed (the last: %s)", wp.failures, what)
	wp.mu.Unlock()
	wp.log.Warn("warm pool off: "+wp.off+"; connects spawn cold. A backend joins a warm pool by speaking the "+
		"control socket's protocol (package sessionbackend, or @jamsocket/session-backend); a new image tries again",
		"timeout", wp.timeout)
	wp.changed()
}

// warmBackend is one backend of the pool: started with no id, key or env,
// and a control socket of its own.
type warmBackend struct {
	pool   *warmPool
	gen    int
	dir    string // the control directory
	ln     *net.UnixListener
	p      proc    // set before any goroutine of its own starts
	st     started // what the runner started
	exited chan int
	timer  *time.Timer // to say Warmed; set before the pool counts it

	// taken and everWarmed are the pool's, under its lock.
	taken, everWarmed bool

	mu    sync.Mutex
	conns map[net.Conn]struct{} // open control connections
	conn  net.Conn              // the one that said Warmed last (nil: none open)
	line  []byte                // the assignment, once taken
	ready chan<- struct{}       // closed on Ready after the assignment
	done  bool                  // ready is closed

	outMu      sync.Mutex
	out        func(stream, line string) // the backend's log, once assigned
	early      []logLine                 // the output before
	earlyBytes int                       // the text of early, in bytes
}

// assign makes w the backend of a, sending the assignment now or, if its
// connection is not open at the moment, when it says Warmed again. Its
// output goes to out (what it wrote so far first), and ready is closed
// when it says Ready. The assignment is its start.
func (w *warmBackend) assign(a controlsock.Assignment, out func(stream, line string), ready chan<- struct{}) (proc, started) {
	w.outMu.Lock()
	for _, l := range w.early {
		out(l.stream, l.text)
	}
	w.out, w.early, w.earlyBytes = out, nil, 0
	w.outMu.Unlock()

	w.mu.Lock()
	w.line, w.ready = controlsock.EncodeAssignment(a), ready
	if w.conn != nil {
		w.sendLocked()
	}
	w.mu.Unlock()
	st := w.st
	st.at = time.Now()
	return warmProc{w}, st
}

// write is the backend's output: kept until it is assigned, then its log's.
func (w *warmBackend) write(stream, line string) {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	if w.out != nil {
		w.out(stream, line)
		return
	}
	w.early = append(w.early, logLine{stream: stream, text: line})
	w.earlyBytes += len(line)
	for len(w.early) > maxEarlyLines || (w.earlyBytes > maxEarlyBytes && len(w.early) > 1) {
		w.earlyBytes -= len(w.early[0].text)
		w.early = slices.Delete(w.early, 0, 1)
	}
}

// accept takes the backend's control connections: a new one is the same
// backend warming again.
func (w *warmBackend) accept() {
	for {
		conn, err := w.ln.Accept()
		if err != nil {
			return // closed by watch
		}
		w.mu.Lock()
		w.conns[conn] = struct{}{}
		w.mu.Unlock()
		w.pool.wg.Go(func() { w.read(conn) })
	}
}

// read reads conn's lines until it closes; other lines than Warmed and
// Ready are ignored, a line that does not decode ends the connection.
func (w *warmBackend) read(conn net.Conn) {
	defer w.closed(conn)
	lines := controlsock.NewReader(conn)
	for {
		line, err := lines.Next()
		if err != nil {
			return
		}
		msg, err := controlsock.Decode(line)
		if err != nil {
			w.pool.log.Warn("warm pool: a control message that does not decode; closing the connection", "err", err)
			return
		}
		switch msg.Kind {
		case controlsock.Warmed:
			w.onWarmed(conn)
		case controlsock.Ready:
			w.onReady(conn)
		}
	}
}

// onWarmed: a backend not taken is warm; one taken is sent its assignment
// (again, if it reconnected).
func (w *warmBackend) onWarmed(conn net.Conn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.conn = conn
	if w.line != nil {
		w.sendLocked()
		return
	}
	w.pool.warmed(w)
}

// onReady: the backend serves its port, if it was assigned on this
// connection.
func (w *warmBackend) onReady(conn net.Conn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.line != nil && conn == w.conn && !w.done {
		w.done = true
		close(w.ready)
		w.pool.refillSoon()
	}
}

// closed forgets conn; a backend not taken whose warm connection closed
// is warming again.
func (w *warmBackend) closed(conn net.Conn) {
	conn.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.conns, conn)
	if conn != w.conn {
		return
	}
	w.conn = nil
	if w.line == nil {
		w.pool.unwarmed(w)
	}
}

// sendLocked writes the assignment on the warm connection; a failed write
// closes it (the backend may connect again and is sent it again).
func (w *warmBackend) sendLocked() {
	_ = w.conn.SetWriteDeadline(time.Now().Add(controlWriteTimeout))
	if _, err := w.conn.Write(w.line); err != nil {
		w.pool.log.Warn("warm pool: sending an assignment failed", "err", err)
		w.conn.Close()
	}
}

// timedOut hard-kills a backend that has not said Warmed within the
// timeout and is not taken.
func (w *warmBackend) timedOut() {
	wp := w.pool
	wp.mu.Lock()
	_, warming := wp.warming[w] // not Warmed yet, or not again since its connection closed
	kill := warming && !w.taken
	wp.mu.Unlock()
	if kill {
		w.p.Signal(true)
	}
}

// watch waits for the backend's exit, hands the code on (to the lifecycle,
// once taken), closes its socket and forgets it.
func (w *warmBackend) watch() {
	code := <-w.p.Exited()
	w.exited <- code
	w.timer.Stop()
	w.ln.Close()
	w.mu.Lock()
	for conn := range w.conns {
		conn.Close()
	}
	w.mu.Unlock()
	_ = os.RemoveAll(w.dir)
	w.pool.ended(w)
}

// warmProc is a taken warm backend, as the lifecycle drives it.
type warmProc struct{ w *warmBackend }

func (p warmProc) Exited() <-chan int { return p.w.exited }

func (p warmProc) Signal(hard bool) { p.w.p.Signal(hard) }
