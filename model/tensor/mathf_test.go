package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulpErr returns |got-want| in units of the float32 spacing at want
// (denormal spacing near zero), and +Inf when special values disagree.
func ulpErr(got float32, want float64) float64 {
	switch {
	case math.IsNaN(want) || math.IsNaN(float64(got)):
		if math.IsNaN(want) && math.IsNaN(float64(got)) {
			return 0
		}
		return math.Inf(1)
	case math.IsInf(want, 0) || math.Abs(want) > math.MaxFloat32:
		if float64(got) == float64(float32(want)) {
			return 0
		}
		return math.Inf(1)
	}
	w32 := float32(want)
	ulp := float64(math.Nextafter32(float32(math.Abs(float64(w32))), float32(math.Inf(1)))) - math.Abs(float64(w32))
	if ulp == 0 || math.IsInf(ulp, 0) {
		ulp = 0x1p-149
	}
	return math.Abs(float64(got)-want) / ulp
}

// mathfInputs returns float32 inputs over [lo, hi]: a uniform sweep, random
// values, the ends and the special values.
func mathfInputs(lo, hi float32, n int) []float32 {
	r := rand.New(rand.NewPCG(9, 9))
	xs := []float32{0, float32(math.Copysign(0, -1)), lo, hi, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32}
	for i := 0; i < n; i++ {
		xs = append(xs, lo+(hi-lo)*float32(i)/float32(n), lo+(hi-lo)*r.Float32())
	}
	return xs
}

type mathfCase struct {
	name   string
	f      func(float32) float32
	ref    func(float64) float64
	lo, hi float32
	maxULP float64
}

var mathfCases = []mathfCase{
	{"exp", expf, math.Exp, -110, 92, 2},
	{"sigmoid", sigmoidf, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, -110, 110, 3},
	{"normCDF", normCDF, func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }, -15, 15, 8},
	{"normPDF", normPDF, func(x float64) float64 { return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi) }, -15, 15, 3},
	{"tanh", tanhf, math.Tanh, -12, 12, 3},
}

func TestMathfAccuracy(t *testing.T) {
	for _, c := range mathfCases {
		worst, at := 0.0, float32(0)
		for _, x := range mathfInputs(c.lo, c.hi, 200000) {
			want := c.ref(float64(x))
			if e := ulpErr(c.f(x), want); e > worst || math.IsNaN(e) {
				worst, at = e, x
			}
		}
		t.Logf("%s: max error %.2f ulp at x=%g", c.name, worst, at)
		if !(worst <= c.maxULP) {
			t.Errorf("%s: max error %.2f ulp at x=%g (got %g, want %g), bound %g ulp",
				c.name, worst, at, c.f(at), c.ref(float64(at)), c.maxULP)
		}
	}
}
