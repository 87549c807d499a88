package tensor

// The activations use float32 approximations of the normal CDF, tanh and
// the sigmoid (mathf.go) that stay within a few ulps of the exact function
// in relative terms, tails included.

// SwiGLU computes out = silu(gate) · up elementwise.
func SwiGLU(out, gate, up []float32) {
	elem.swiglu(out, gate[:len(out)], up[:len(out)])
}

// SwiGLUBackward overwrites dgate and dup with the gradients of
// out = silu(gate) · up given dout.
func SwiGLUBackward(dgate, dup, dout, gate, up []float32) {
	n := len(dout)
	elem.swigluBackward(dgate[:n], dup[:n], dout, gate[:n], up[:n])
}

// GELU computes the exact (erf) GELU: out = x·Φ(x).
func GELU(out, x []float32) { elem.gelu(out, x[:len(out)]) }

// GELUBackward overwrites dx with dout · GELU'(x) for the exact GELU.
func GELUBackward(dx, dout, x []float32) {
	elem.geluBackward(dx, dout[:len(dx)], x[:len(dx)])
}

// GELUTanh computes the tanh approximation of GELU ("gelu_new"),
// ½x(1+tanh(√(2/π)(x+0.044715x³))), evaluated as x·σ(2u) so that it stays
// accurate for large negative x.
func GELUTanh(out, x []float32) { elem.geluTanh(out, x[:len(out)]) }

// GELUTanhBackward overwrites dx with dout · GELUTanh'(x).
func GELUTanhBackward(dx, dout, x []float32) {
	elem.geluTanhBackward(dx, dout[:len(dx)], x[:len(dx)])
}
