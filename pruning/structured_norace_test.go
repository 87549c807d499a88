//go:build !race

package pruning

// raceEnabled trims slow tests under the race detector.
const raceEnabled = false
