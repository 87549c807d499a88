//go:build !race

package model

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// pooled buffers are allocated again.
const raceEnabled = false
