package localplane

import (
	"os"
	"strconv"
)

// metricsSupported says whether readSample measures anything here.
const metricsSupported = true

// readSample reads the accounting of process pid and of the system from
// /proc.
func readSample(pid int) (sample, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return sample{}, err
	}
	var sm sample
	if sm.procCPU, err = parseProcStat(stat); err != nil {
		return sample{}, err
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return sample{}, err
	}
	sm.memUsed, _ = parseKB(status, "VmRSS") // none for a zombie: 0
	sys, err := os.ReadFile("/proc/stat")
	if err != nil {
		return sample{}, err
	}
	if sm.sysCPU, err = parseSystemCPU(sys); err != nil {
		return sample{}, err
	}
	if meminfo, err := os.ReadFile("/proc/meminfo"); err == nil {
		sm.memAvail, _ = parseKB(meminfo, "MemAvailable")
	}
	return sm, nil
}
