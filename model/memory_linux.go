//go:build linux

package model

import (
	"math"
	"os"
	"strconv"
	"strings"
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

// AvailableMemory is the memory the kernel estimates is available for new
// work without swapping (MemAvailable in /proc/meminfo), or 0 if unknown.
func AvailableMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil && kb > 0 {
					return kb << 10
				}
			}
			return 0
		}
	}
	return 0
}
