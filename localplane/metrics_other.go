//go:build !linux

package localplane

// metricsSupported says whether readSample measures anything here.
const metricsSupported = false

// readSample returns zeros: only Linux has the /proc accounting it reads.
func readSample(pid int) (sample, error) { return sample{}, nil }
