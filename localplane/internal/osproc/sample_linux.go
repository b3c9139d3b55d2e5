package osproc

import (
	"os"
	"strconv"
)

// SampleSupported says whether ReadSample measures anything here.
const SampleSupported = true

// ReadSample reads the accounting of process pid and of the system from
// /proc.
func ReadSample(pid int) (Sample, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return Sample{}, err
	}
	var sm Sample
	if sm.ProcCPU, err = parseProcStat(stat); err != nil {
		return Sample{}, err
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return Sample{}, err
	}
	sm.MemUsed, _ = parseKB(status, "VmRSS") // none for a zombie: 0
	sys, err := os.ReadFile("/proc/stat")
	if err != nil {
		return Sample{}, err
	}
	if sm.SysCPU, err = parseSystemCPU(sys); err != nil {
		return Sample{}, err
	}
	if meminfo, err := os.ReadFile("/proc/meminfo"); err == nil {
		sm.MemAvail, _ = parseKB(meminfo, "MemAvailable")
	}
	return sm, nil
}
