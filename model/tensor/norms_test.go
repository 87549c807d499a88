package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Float64 references for the row kernels, written from the definitions.

func rmsNorm64(x, w []float64, eps float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	rs := 1 / math.Sqrt(ss/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * rs * w[i]
	}
	return out
}

func layerNorm64(x, w, b []float64, eps float64) []float64 {
	var m, vs float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	for _, v := range x {
		vs += (v - m) * (v - m)
	}
	rs := 1 / math.Sqrt(vs/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = (v - m) * rs * w[i]
		if b != nil {
			out[i] += b[i]
		}
	}
	return out
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// numGrad returns ∂/∂p_i of Σ dout·f(p) by central differences in float64.
func numGrad(p []float64, dout []float32, f func() []float64) []float64 {
	g := make([]float64, len(p))
	loss := func() float64 {
		var s float64
		for i, v := range f() {
			s += float64(dout[i]) * v
		}
		return s
	}
	for i := range p {
		old := p[i]
		h := 1e-6 * math.Max(1, math.Abs(old))
		p[i] = old + h
		up := loss()
		p[i] = old - h
		down := loss()
		p[i] = old
		g[i] = (up - down) / (2 * h)
	}
	return g
}

// checkGrad compares an accumulated float32 gradient (got - before) with a
// float64 one.
func checkGrad(t *testing.T, name string, got, before []float32, want []float64) {
	t.Helper()
	var mag float64
	for _, v := range want {
		mag = math.Max(mag, math.Abs(v))
	}
	for i := range want {
		d := float64(got[i]) - float64(before[i])
		if math.Abs(d-want[i]) > 1e-4*mag+1e-5*math.Abs(float64(before[i])) {
			t.Fatalf("%s %s[%d] = %g, want %g", elem.name, name, i, d, want[i])
		}
	}
}

// withElem runs f with e as the elementwise kernel set in use.
func withElem(e *elemKernels, f func()) {
	old := elem
	elem = e
	defer func() { elem = old }()
	f()
}

func TestRMSNormForwardBackward(t *testing.T) {
	for _, e := range allElems() {
		withElem(e, func() { testRMSNorm(t) })
	}
}

func TestLayerNormForwardBackward(t *testing.T) {
	for _, e := range allElems() {
		withElem(e, func() { testLayerNorm(t) })
	}
}

func TestSoftmaxMatchesFloat64(t *testing.T) {
	for _, e := range allElems() {
		withElem(e, func() { testSoftmax(t) })
	}
}

func testRMSNorm(t *testing.T) {
	t.Helper()
	r := rand.New(rand.NewPCG(21, 1))
	const rows, dim, eps = 3, 37, 1e-5
	x, w, dout := randFloats(r, rows*dim), randFloats(r, dim), randFloats(r, rows*dim)
	out, rstd := make([]float32, rows*dim), make([]float32, rows)
	RMSNorm(out, rstd, x, w, rows, dim, eps)
	dx0, dw0 := randFloats(r, rows*dim), randFloats(r, dim)
	dx, dw := append([]float32(nil), dx0...), append([]float32(nil), dw0...)
	RMSNormBackward(dx, dw, dout, x, w, rstd, rows, dim)
	w64 := to64(w)
	dw64 := make([]float64, dim)
	for row := 0; row < rows; row++ {
		x64 := to64(x[row*dim : (row+1)*dim])
		want := rmsNorm64(x64, w64, eps)
		for i := range want {
			if math.Abs(float64(out[row*dim+i])-want[i]) > 1e-6*(1+math.Abs(want[i])) {
				t.Fatalf("%s: out[%d,%d] = %g, want %g", elem.name, row, i, out[row*dim+i], want[i])
			}
		}
		d := dout[row*dim : (row+1)*dim]
		checkGrad(t, "dx", dx[row*dim:(row+1)*dim], dx0[row*dim:(row+1)*dim],
			numGrad(x64, d, func() []float64 { return rmsNorm64(x64, w64, eps) }))
		for i, g := range numGrad(w64, d, func() []float64 { return rmsNorm64(x64, w64, eps) }) {
			dw64[i] += g
		}
	}
	checkGrad(t, "dw", dw, dw0, dw64)
}

func testLayerNorm(t *testing.T) {
	t.Helper()
	r := rand.New(rand.NewPCG(22, 1))
	const rows, dim, eps = 3, 41, 1e-5
	for _, bias := range []bool{true, false} {
		x, w, dout := randFloats(r, rows*dim), randFloats(r, dim), randFloats(r, rows*dim)
		var b, db, db0 []float32
		var b64 []float64
		if bias {
			b, db0 = randFloats(r, dim), randFloats(r, dim)
			db = append([]float32(nil), db0...)
			b64 = to64(b)
		}
		out, mean, rstd := make([]float32, rows*dim), make([]float32, rows), make([]float32, rows)
		LayerNorm(out, mean, rstd, x, w, b, rows, dim, eps)
		dx0, dw0 := randFloats(r, rows*dim), randFloats(r, dim)
		dx, dw := append([]float32(nil), dx0...), append([]float32(nil), dw0...)
		LayerNormBackward(dx, dw, db, dout, x, w, mean, rstd, rows, dim)
		w64 := to64(w)
		dw64, db64 := make([]float64, dim), make([]float64, dim)
		for row := 0; row < rows; row++ {
			x64 := to64(x[row*dim : (row+1)*dim])
			f := func() []float64 { return layerNorm64(x64, w64, b64, eps) }
			for i, want := range f() {
				if math.Abs(float64(out[row*dim+i])-want) > 1e-6*(1+math.Abs(want)) {
					t.Fatalf("%s bias=%v: out[%d,%d] = %g, want %g", elem.name, bias, row, i, out[row*dim+i], want)
				}
			}
			d := dout[row*dim : (row+1)*dim]
			checkGrad(t, "dx", dx[row*dim:(row+1)*dim], dx0[row*dim:(row+1)*dim], numGrad(x64, d, f))
			for i, g := range numGrad(w64, d, f) {
				dw64[i] += g
			}
			if bias {
				for i, g := range numGrad(b64, d, f) {
					db64[i] += g
				}
			}
		}
		checkGrad(t, "dw", dw, dw0, dw64)
		if bias {
			checkGrad(t, "db", db, db0, db64)
		}
	}
}

func testSoftmax(t *testing.T) {
	t.Helper()
	r := rand.New(rand.NewPCG(23, 1))
	for _, n := range []int{1, 5, 16, 17, 100, 513} {
		x := randFloats(r, n)
		for i := range x {
			x[i] *= 10
		}
		if n > 3 {
			x[2] = float32(math.Inf(-1)) // a masked position
		}
		want := make([]float64, n)
		mx := math.Inf(-1)
		for _, v := range x {
			mx = math.Max(mx, float64(v))
		}
		var sum float64
		for i, v := range x {
			want[i] = math.Exp(float64(v) - mx)
			sum += want[i]
		}
		x0 := append([]float32(nil), x...)
		SoftmaxInPlace(x)
		for i := range x {
			// exp's few ulps, the rounding of x-max (relative |x-max|·u
			// after exp) and the sum's.
			w := want[i] / sum
			if math.IsInf(float64(x0[i]), -1) {
				if x[i] != 0 {
					t.Fatalf("n=%d: masked p[%d] = %g, want 0", n, i, x[i])
				}
				continue
			}
			if math.Abs(float64(x[i])-w) > ulp32*w*(8+float64(n)+2*math.Abs(float64(x0[i])-mx)) {
				t.Fatalf("n=%d: p[%d] = %g, want %g", n, i, x[i], w)
			}
		}
	}
}

func TestRoPEMatchesFloat64AndInverts(t *testing.T) {
	r := rand.New(rand.NewPCG(24, 1))
	const T, heads, hd, pos0, theta = 5, 3, 8, 2, 10000.0
	// rot 4: partial rotary, pairs (i, i+2) inside the first 4 dims.
	for _, rot := range []int{hd, 4} {
		cos, sin := RoPETable(theta, rot, pos0+T)
		x := randFloats(r, T*heads*hd)
		y := append([]float32(nil), x...)
		RoPE(y, T, heads, hd, rot, pos0, cos, sin, false)
		for tt := 0; tt < T; tt++ {
			for h := 0; h < heads; h++ {
				v := x[(tt*heads+h)*hd:][:hd]
				got := y[(tt*heads+h)*hd:][:hd]
				for i := 0; i < rot/2; i++ {
					a := float64(pos0+tt) * math.Pow(theta, -float64(2*i)/float64(rot))
					want1 := float64(v[i])*math.Cos(a) - float64(v[i+rot/2])*math.Sin(a)
					want2 := float64(v[i+rot/2])*math.Cos(a) + float64(v[i])*math.Sin(a)
					if math.Abs(float64(got[i])-want1) > 1e-5 || math.Abs(float64(got[i+rot/2])-want2) > 1e-5 {
						t.Fatalf("rot %d t=%d h=%d i=%d: (%g, %g), want (%g, %g)", rot, tt, h, i, got[i], got[i+rot/2], want1, want2)
					}
				}
				for i := rot; i < hd; i++ {
					if got[i] != v[i] {
						t.Fatalf("rot %d t=%d h=%d: dim %d changed from %g to %g", rot, tt, h, i, v[i], got[i])
					}
				}
			}
		}
		RoPE(y, T, heads, hd, rot, pos0, cos, sin, true)
		for i := range x {
			if math.Abs(float64(y[i]-x[i])) > 1e-5 {
				t.Fatalf("rot %d: inverse RoPE: x[%d] = %g, want %g", rot, i, y[i], x[i])
			}
		}
	}
}

// Scaled tables (YaRN, LongRoPE) multiply cos and sin by the attention
// scale; the inverse pass then applies the transposed, scaled rotation.
func TestFillRoPETableScales(t *testing.T) {
	inv := []float32{1, 0.1, 0.01}
	c1, s1 := make([]float32, 4*3), make([]float32, 4*3)
	c2, s2 := make([]float32, 4*3), make([]float32, 4*3)
	FillRoPETable(c1, s1, inv, 1, 4)
	FillRoPETable(c2, s2, inv, 1.25, 4)
	for i := range c1 {
		if c2[i] != c1[i]*1.25 || s2[i] != s1[i]*1.25 {
			t.Fatalf("entry %d: (%g, %g), want 1.25 × (%g, %g)", i, c2[i], s2[i], c1[i], s1[i])
		}
	}
	if c1[3*3+1] != float32(math.Cos(float64(float32(3)*inv[1]))) {
		t.Fatalf("cos[3, 1] = %g", c1[3*3+1])
	}
}
