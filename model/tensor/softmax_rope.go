package tensor

import "math"

// SoftmaxInPlace replaces x with softmax(x) (max-subtracted, float32).
func SoftmaxInPlace(x []float32) {
	if len(x) == 0 {
		return
	}
	sum := elem.expShift(x, elem.maxOf(x))
	elem.scale(x, 1/sum)
}

// RoPETable returns cos and sin tables [maxPos, headDim/2] for rotary
// embeddings with base theta, computed as Hugging Face's Llama does
// (inv_freq_i = theta^(-2i/headDim), angle = pos · inv_freq_i).
func RoPETable(theta float64, headDim, maxPos int) (cos, sin []float32) {
	half := headDim / 2
	inv := make([]float32, half)
	for i := range inv {
		inv[i] = float32(1 / math.Pow(theta, float64(2*i)/float64(headDim)))
	}
	cos = make([]float32, maxPos*half)
	sin = make([]float32, maxPos*half)
	FillRoPETable(cos, sin, inv, 1, maxPos)
	return cos, sin
}

// FillRoPETable writes cos and sin tables [maxPos, len(invFreq)] for the
// inverse frequencies invFreq, both scaled by attnScale (Hugging Face's
// "attention_scaling" of YaRN and LongRoPE; 1 otherwise), as Hugging Face's
// rotary embedding computes them in float32: angle = float32(pos)·inv_freq,
// cos = cos(angle)·attnScale.
func FillRoPETable(cos, sin, invFreq []float32, attnScale float32, maxPos int) {
	half := len(invFreq)
	cos, sin = cos[:maxPos*half], sin[:maxPos*half]
	for i, inv := range invFreq {
		for p := 0; p < maxPos; p++ {
			a := float64(float32(p) * inv)
			cos[p*half+i] = float32(math.Cos(a)) * attnScale
			sin[p*half+i] = float32(math.Sin(a)) * attnScale
		}
	}
}

// RoPE rotates x in place: x is [T, heads, headDim] for positions
// pos0…pos0+T-1, with Hugging Face's rotate_half pairing (i, i+rotDim/2)
// over the first rotDim dims of each head (rotDim = headDim unless the
// model uses partial rotary embeddings); the other dims pass unchanged.
// cos and sin are [positions, rotDim/2]. inverse=true applies the
// transposed rotation, which is the backward pass.
func RoPE(x []float32, T, heads, headDim, rotDim, pos0 int, cos, sin []float32, inverse bool) {
	half := rotDim / 2
	for t := 0; t < T; t++ {
		c := cos[(pos0+t)*half : (pos0+t)*half+half]
		s := sin[(pos0+t)*half : (pos0+t)*half+half]
		for h := 0; h < heads; h++ {
			v := x[(t*heads+h)*headDim : (t*heads+h)*headDim+rotDim]
			lo, hi := v[:half], v[half:half+half]
			for i := range lo {
				x1, x2 := lo[i], hi[i]
				si := s[i]
				if inverse {
					si = -si
				}
				lo[i] = x1*c[i] - x2*si
				hi[i] = x2*c[i] + x1*si
			}
		}
	}
}
