package tensor

// Row-wise and elementwise kernels. Inputs and outputs may not alias unless
// a function says so. Functions named …Backward accumulate (+=) into the
// gradients of parameters and inputs that a residual stream shares (dx, dw,
// db), and overwrite gradients that have a single consumer; each says which.

// AddInPlace computes dst += x.
func AddInPlace(dst, x []float32) { elem.add(dst, x[:len(dst)]) }

// Scale computes x *= s.
func Scale(x []float32, s float32) { elem.scale(x, s) }

// Axpy computes y += a·x.
func Axpy(y []float32, a float32, x []float32) { elem.axpy(y, a, x[:len(y)]) }

// Dot returns Σ a[i]·b[i], summed in an order fixed by len(a) (16 strided
// partial sums folded pairwise), the same on every call.
func Dot(a, b []float32) float32 { return elem.dot(a, b[:len(a)]) }
