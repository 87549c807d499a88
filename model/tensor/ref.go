package tensor

// Plain float32 reference loops for the matrix products, kept as an
// independent implementation that FuzzMatMul checks the blocked GEMM
// against (besides the float64 evaluation every GEMM test uses). The
// portable path of the package is the blocked driver with the Go
// micro-kernel (gemm_kernel_go.go), which runs where no assembly does.

func refMatMulNT(c, a, b []float32, m, n, k int, accumulate bool) {
	for i := 0; i < m; i++ {
		ai := a[i*k : i*k+k]
		for j := 0; j < n; j++ {
			bj := b[j*k : j*k+k]
			var s float32
			for p := range ai {
				s += ai[p] * bj[p]
			}
			if accumulate {
				c[i*n+j] += s
			} else {
				c[i*n+j] = s
			}
		}
	}
}

func refMatMulNN(c, a, b []float32, m, n, k int, accumulate bool) {
	for i := 0; i < m; i++ {
		ci := c[i*n : i*n+n]
		if !accumulate {
			clear(ci)
		}
		for p := 0; p < k; p++ {
			av := a[i*k+p]
			bp := b[p*n : p*n+n]
			for j := range ci {
				ci[j] += av * bp[j]
			}
		}
	}
}

func refMatMulTN(c, a, b []float32, m, n, k int, accumulate bool) {
	if !accumulate {
		clear(c[:m*n])
	}
	for p := 0; p < k; p++ {
		ap := a[p*m : p*m+m]
		bp := b[p*n : p*n+n]
		for i, av := range ap {
			ci := c[i*n : i*n+n]
			for j := range ci {
				ci[j] += av * bp[j]
			}
		}
	}
}
