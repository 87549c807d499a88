//go:build !linux

package model

import "math"

// physicalMemory is unknown here: only Go's memory limit (if set) bounds
// the states.
func physicalMemory() int64 { return math.MaxInt64 }

// AvailableMemory is unknown here: 0.
func AvailableMemory() int64 { return 0 }
