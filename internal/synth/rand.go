package synth

import "math/rand/v2"

// source is the task's random generator: PCG (whose output the Go project
// specifies) drawn through the functions below only, never through
// math/rand's derived methods (IntN, Shuffle, Perm), so the generated
// bytes cannot change with a Go release that changes how those derive
// numbers from the stream.
type source struct{ pcg *rand.PCG }

// newSource seeds a generator for one purpose (stream) of a seed, so that
// changing how many numbers one purpose draws does not shift another's.
func newSource(seed uint64, stream string) *source {
	var h uint64 = 14695981039346656037 // FNV-1a of the stream's name
	for i := range len(stream) {
		h ^= uint64(stream[i])
		h *= 1099511628211
	}
	return &source{pcg: rand.NewPCG(seed, h)}
}

// below returns a uniform integer in [0, n), n > 0, by rejection: draws
// in the incomplete last block of size 2⁶⁴ mod n are redrawn.
func (s *source) below(n int) int {
	un := uint64(n)
	limit := -un % un // 2⁶⁴ mod n
	for {
		x := s.pcg.Uint64()
		if x >= limit {
			return int(x % un)
		}
	}
}

// shuffle permutes the first n elements through swap, Fisher–Yates from
// the end.
func (s *source) shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, s.below(i+1))
	}
}
