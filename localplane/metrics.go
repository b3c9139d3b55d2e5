package localplane

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/jamsocket-go/jamsocket/types"
)

// The metrics stream: samples of a backend's memory and CPU use, taken from
// the operating system's own accounting of its process.

// sample is one reading of a process's and the system's accounting.
type sample struct {
	procCPU  uint64 // utime+stime of the process, in clock ticks
	sysCPU   uint64 // CPU time of all CPUs together, in clock ticks
	memUsed  uint64 // the process's resident set, bytes
	memAvail uint64 // the system's available memory, bytes
}

// metricsPID is the process whose accounting stands for the backend: its
// own process, or for a handler backend (once started) the plane's process,
// which serves it. 0 while there is none yet.
func (b *backend) metricsPID() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pid != 0 {
		return b.pid
	}
	if _, inProcess := b.srv.runner.(handlerRunner); inProcess && !b.startedAt.IsZero() {
		return os.Getpid()
	}
	return 0
}

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
// A process backend is measured by its main process (not its children). A
// handler backend runs inside the plane, so its samples are the plane
// process's own numbers. Only Linux has this accounting; elsewhere every
// sample is zeros (and the plane logs so).
func (s *Server) jamsocketMetrics(w http.ResponseWriter, r *http.Request) {
	b := s.jamsocketBackend(w, r)
	if b == nil {
		return
	}
	rc, ok := startSSE(w)
	if !ok {
		return
	}
	if !metricsSupported {
		s.log.Info("metrics are not measured on this OS; samples are zeros", "backend", b.id)
	}
	ticker := time.NewTicker(s.cfg.MetricsInterval)
	defer ticker.Stop()
	var prev sample
	prevPID := 0
	measure := func() []byte {
		pid := b.metricsPID()
		if pid == 0 {
			return nil
		}
		cur, err := readSample(pid)
		if err != nil {
			// The process has just exited (or is unreadable): the stream
			// ends with the terminated status.
			prevPID = 0
			return nil
		}
		first := prevPID != pid
		last := prev
		prev, prevPID = cur, pid
		if first {
			return nil // a baseline for the next interval's deltas
		}
		data, _ := json.Marshal(types.Metrics{
			Cluster:      localCluster,
			BackendID:    b.id,
			MemUsed:      float64(cur.memUsed),
			MemAvailable: float64(cur.memAvail),
			CPUUsed:      float64(delta(last.procCPU, cur.procCPU)),
			SysCPU:       float64(delta(last.sysCPU, cur.sysCPU)),
		})
		return data
	}
	measure()
	for {
		st, changed := b.current()
		if st.Status.IsTerminal() {
			return
		}
		select {
		case <-ticker.C:
			if data := measure(); data != nil {
				if _, err := w.Write(append(append([]byte("data: "), data...), '\n', '\n')); err != nil || rc.Flush() != nil {
					return
				}
			}
		case <-changed:
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
}

// delta is to - from, or 0 if the counter went backwards.
func delta(from, to uint64) uint64 {
	if to < from {
		return 0
	}
	return to - from
}

// parseProcStat returns utime+stime from the text of /proc/{pid}/stat.
func parseProcStat(stat []byte) (uint64, error) {
	// The command name (field 2) is in parentheses and may hold anything;
	// the fields after the last ")" start with field 3 (state).
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no command name")
	}
	fields := bytes.Fields(stat[i+1:])
	if len(fields) < 13 {
		return 0, errors.New("proc stat: too few fields")
	}
	utime, err1 := strconv.ParseUint(string(fields[11]), 10, 64) // field 14
	stime, err2 := strconv.ParseUint(string(fields[12]), 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return utime + stime, nil
}

// parseSystemCPU returns the CPU time of all CPUs from the text of
// /proc/stat: the sum of user, nice, system, idle, iowait, irq, softirq and
// steal on its "cpu" line (guest time is already in user and nice).
func parseSystemCPU(stat []byte) (uint64, error) {
	for line := range bytes.Lines(stat) {
		fields := bytes.Fields(line)
		if len(fields) == 0 || string(fields[0]) != "cpu" {
			continue
		}
		var total uint64
		for _, f := range fields[1:min(len(fields), 9)] {
			n, err := strconv.ParseUint(string(f), 10, 64)
			if err != nil {
				return 0, err
			}
			total += n
		}
		return total, nil
	}
	return 0, errors.New("/proc/stat: no cpu line")
}

// parseKB returns the value of a "Name:   123 kB" line, in bytes, from the
// text of /proc/meminfo or /proc/{pid}/status; ok is false if there is no
// such line.
func parseKB(text []byte, name string) (bytesValue uint64, ok bool) {
	prefix := []byte(name + ":")
	for line := range bytes.Lines(text) {
		rest, found := bytes.CutPrefix(line, prefix)
		if !found {
			continue
		}
		fields := bytes.Fields(rest)
		if len(fields) == 0 {
			return 0, false
		}
		n, err := strconv.ParseUint(string(fields[0]), 10, 64)
		if err != nil {
			return 0, false
		}
		if len(fields) > 1 && string(fields[1]) == "kB" {
			n *= 1024
		}
		return n, true
	}
	return 0, false
}
