package localplane

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/jamsocket-go/jamsocket/localplane/internal/osproc"
	"github.com/jamsocket-go/jamsocket/types"
)

// The metrics stream: samples of a backend's memory and CPU use, taken from
// the operating system's own accounting of its process.

// jamsocketMetrics streams a sample every Config.MetricsInterval as
// {cluster, backend_id, mem_used, mem_available, cpu_used, sys_cpu}:
// mem_used is the process's resident set (VmRSS) and mem_available the
// system's MemAvailable, in bytes; cpu_used is the user and system CPU time
// the process used during the interval and sys_cpu the CPU time of all CPUs
// together during the same interval, both in clock ticks, so that cpu_used
// / sys_cpu is the process's share of the machine. The first sample comes
// one interval after the process has started; the stream ends once the
// backend has terminated.
//
// A container backend is measured by the engine's stats of its container
// (memory without the page cache; mem_available is what its memory limit,
// or the machine, leaves; CPU times turned from nanoseconds into clock
// ticks). A process backend is measured by its main process (not its
// children). A handler backend runs inside the plane, so its samples are
// the plane process's own numbers. Only Linux has this accounting;
// elsewhere every sample is zeros (and the plane logs so).
func (a jamsocketAPI) metrics(w http.ResponseWriter, r *http.Request) {
	b := jamsocketBackend(a.core, w, r)
	if b == nil {
		return
	}
	rc, ok := startSSE(w)
	if !ok {
		return
	}
	if !osproc.SampleSupported {
		a.core.log.Info("metrics are not measured on this OS; samples are zeros", "backend", b.id)
	}
	ticker := time.NewTicker(a.cfg.MetricsInterval)
	defer ticker.Stop()
	m := &meter{b: b}
	m.measure(r.Context())
	for {
		st, changed := b.current()
		if st.Status.IsTerminal() {
			return
		}
		select {
		case <-ticker.C:
			if data := m.measure(r.Context()); data != nil {
				if _, err := w.Write(append(append([]byte("data: "), data...), '\n', '\n')); err != nil || rc.Flush() != nil {
					return
				}
			}
		case <-changed:
		case <-r.Context().Done():
			return
		case <-a.sse.closing:
			return
		}
	}
}

// meter measures one backend, interval after interval.
type meter struct {
	b       *backend
	prev    osproc.Sample
	prevPID int // the process prev is of, 0 when none
}

// measure takes a sample and returns the metrics event of the interval
// since the last one, or nil when there is none to send: no process yet,
// a process that has just exited (the stream ends with the terminated
// status), or a first sample of a process, which is a baseline for the
// next interval's deltas.
func (m *meter) measure(ctx context.Context) []byte {
	pid := m.b.metricsPID()
	if pid == 0 {
		return nil
	}
	cur, err := m.b.readSample(ctx, pid)
	if err != nil {
		m.prevPID = 0
		return nil
	}
	first := m.prevPID != pid
	last := m.prev
	m.prev, m.prevPID = cur, pid
	if first {
		return nil
	}
	data, _ := json.Marshal(types.Metrics{
		Cluster:      localCluster,
		BackendID:    m.b.id,
		MemUsed:      float64(cur.MemUsed),
		MemAvailable: float64(cur.MemAvail),
		CPUUsed:      float64(delta(last.ProcCPU, cur.ProcCPU)),
		SysCPU:       float64(delta(last.SysCPU, cur.SysCPU)),
	})
	return data
}

// metricsPID is the process whose accounting stands for the backend, as
// its runner said at the start (the plane's own for a handler backend);
// 0 while there is none yet.
func (b *backend) metricsPID() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.run.samplePID
}

// readSample reads the backend's accounting: the engine's stats for a
// container, /proc for a process.
func (b *backend) readSample(ctx context.Context, pid int) (osproc.Sample, error) {
	b.mu.Lock()
	stats := b.run.stats
	b.mu.Unlock()
	if stats != nil {
		return stats.sample(ctx)
	}
	return osproc.ReadSample(pid)
}

// delta is to - from, or 0 if the counter went backwards.
func delta(from, to uint64) uint64 {
	if to < from {
		return 0
	}
	return to - from
}
