//go:build !race

package cli

// raceEnabled: the race detector slows model work about eightfold; tests
// that would take minutes under it leave it to the plain run.
const raceEnabled = false
