//go:build !linux

package model

// allocWeights returns n float32 weights for a lazy model: a plain
// allocation here, so tensors stay in memory once pinned (nothing is
// given back on Unpin).
func allocWeights(n int) (w []float32, raw []byte, err error) {
	return make([]float32, n), nil, nil
}

func freeWeights(raw []byte) error { return nil }
