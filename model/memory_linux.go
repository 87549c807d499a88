//go:build linux

package model

import (
	"math"
	"syscall"
)

// physicalMemory is the machine's RAM, or math.MaxInt64 if unknown.
func physicalMemory() int64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil || si.Totalram == 0 {
		return math.MaxInt64
	}
	total := float64(si.Totalram) * float64(si.Unit)
	if total >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(total)
}
