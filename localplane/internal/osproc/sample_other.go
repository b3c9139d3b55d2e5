//go:build !linux

package osproc

// SampleSupported says whether ReadSample measures anything here.
const SampleSupported = false

// ReadSample returns zeros: only Linux has the /proc accounting it reads.
func ReadSample(pid int) (Sample, error) { return Sample{}, nil }
