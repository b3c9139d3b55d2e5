package osproc

import (
	"bytes"
	"errors"
	"strconv"
)

// Sample is one reading of a process's and the system's accounting.
type Sample struct {
	ProcCPU  uint64 // utime+stime of the process, in clock ticks
	SysCPU   uint64 // CPU time of all CPUs together, in clock ticks
	MemUsed  uint64 // the process's resident set, bytes
	MemAvail uint64 // the system's available memory, bytes
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
