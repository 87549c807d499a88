package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The distillation gradient matches central finite differences of the
// loss, evaluated independently in float64, and ignored targets contribute
// nothing.
func TestDistillGradient(t *testing.T) {
	const rows, V = 5, 7
	rng := rand.New(rand.NewPCG(1, 2))
	student, teacher := make([]float32, rows*V), make([]float32, rows*V)
	for i := range student {
		student[i] = float32(rng.NormFloat64() * 2)
		teacher[i] = float32(rng.NormFloat64() * 2)
	}
	targets := []int32{3, -1, 0, 6, 2}
	d := Distill{Temperature: 1.7, Alpha: 0.4}
	// loss(z) in float64: (1−α)·mean CE + α·T²·mean KL over scored rows.
	loss := func(z []float64) float64 {
		var ce, kl float64
		n := 0
		for r := range rows {
			if targets[r] < 0 {
				continue
			}
			n++
			row := z[r*V : (r+1)*V]
			lse := func(x []float64, T float64) float64 {
				m := math.Inf(-1)
				for _, v := range x {
					m = math.Max(m, v/T)
				}
				s := 0.0
				for _, v := range x {
					s += math.Exp(v/T - m)
				}
				return m + math.Log(s)
			}
			ce += lse(row, 1) - row[targets[r]]
			tr := make([]float64, V)
			for j := range V {
				tr[j] = float64(teacher[r*V+j])
			}
			lt, ls := lse(tr, d.Temperature), lse(row, d.Temperature)
			for j := range V {
				lp := tr[j]/d.Temperature - lt
				kl += math.Exp(lp) * (lp - (row[j]/d.Temperature - ls))
			}
		}
		return (1-d.Alpha)*ce/float64(n) + d.Alpha*d.Temperature*d.Temperature*kl/float64(n)
	}
	// lopper: CE gradient from the mean CE, then addDistill.
	dl := make([]float32, rows*V)
	n := 0
	var lm float64
	for r := range rows {
		if targets[r] < 0 {
			continue
		}
		n++
	}
	for r := range rows {
		if targets[r] < 0 {
			continue
		}
		row := make([]float64, V)
		for j := range V {
			row[j] = float64(student[r*V+j])
		}
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, v)
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(v - m)
		}
		lm += (m + math.Log(s) - row[targets[r]]) / float64(n)
		for j := range V {
			g := math.Exp(row[j]-m) / s
			if j == int(targets[r]) {
				g--
			}
			dl[r*V+j] = float32(g / float64(n))
		}
	}
	total, _, err := addDistill(student, teacher, targets, V, d, lm, dl)
	if err != nil {
		t.Fatal(err)
	}
	z := make([]float64, rows*V)
	for i, v := range student {
		z[i] = float64(v)
	}
	if want := loss(z); math.Abs(total-want) > 1e-9*math.Abs(want) {
		t.Errorf("loss %.12g, direct %.12g", total, want)
	}
	for i, fd := range centralDifferences(loss, z, 1e-5) {
		if math.Abs(float64(dl[i])-fd) > 1e-6+1e-4*math.Abs(fd) {
			t.Errorf("d loss / d z[%d] = %.8g, finite differences %.8g", i, dl[i], fd)
		}
		if targets[i/V] < 0 && dl[i] != 0 {
			t.Errorf("ignored row %d has gradient %g", i/V, dl[i])
		}
	}
}

// centralDifferences is (loss(z + h·e_i) − loss(z − h·e_i)) / 2h for every
// i; z is restored.
func centralDifferences(loss func([]float64) float64, z []float64, h float64) []float64 {
	out := make([]float64, len(z))
	for i, z0 := range z {
		z[i] = z0 + h
		up := loss(z)
		z[i] = z0 - h
		down := loss(z)
		z[i] = z0
		out[i] = (up - down) / (2 * h)
	}
	return out
}
