package localplane

import "sync"

// consoleHubSize bounds the changes the console's event stream can replay
// to a console that reconnects; one further behind gets the whole list.
const consoleHubSize = 4096

// poolChange is the id the hub records for a change of the warm pool (no
// backend id is empty).
const poolChange = ""

// consoleHub numbers every backend change, so that console streams can
// send what changed since they last looked. Its zero value is ready.
type consoleHub struct {
	mu      sync.Mutex
	seq     uint64   // number of the latest change
	changed []string // backend id of change n at changed[n%consoleHubSize]
	wake    chan struct{}
}

// publish records a change of backend id and wakes every stream.
func (h *consoleHub) publish(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.changed == nil {
		h.changed = make([]string, consoleHubSize)
	}
	h.seq++
	h.changed[h.seq%consoleHubSize] = id
	if h.wake != nil {
		close(h.wake)
	}
	h.wake = make(chan struct{})
}

// since returns the ids changed after change number after, in order, a
// channel closed on the next change, and the latest change's number; ok is
// false when some of those changes are no longer kept.
func (h *consoleHub) since(after uint64) (ids []string, wake <-chan struct{}, seq uint64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.wake == nil {
		h.wake = make(chan struct{})
	}
	if after > h.seq || h.seq-after > consoleHubSize {
		return nil, h.wake, h.seq, false
	}
	for n := after + 1; n <= h.seq; n++ {
		ids = append(ids, h.changed[n%consoleHubSize])
	}
	return ids, h.wake, h.seq, true
}
