package pruning

import (
	"fmt"

	"lopper/internal/par"
	"lopper/model"
)

// checkNM refuses targets whose input dimension is not a multiple of m,
// naming them.
func checkNM(targets []model.TensorInfo, n, m int) error {
	for _, t := range targets {
		if _, cols := rowsCols(t); cols%m != 0 {
			return fmt.Errorf("tensor %q %v: input dimension %d is not a multiple of %d, so it cannot be pruned %d:%d", t.Name, t.Shape, cols, m, n, m)
		}
	}
	return nil
}

// pruneNM prunes targets to the n:m pattern along their rows: in every
// group of m consecutive inputs at most n weights survive, the lowest
// scores going first (ties to the earlier column). Weights already pruned
// count toward the m−n. It returns how many weights it pruned, reporting
// the tensors done to p.
func pruneNM(targets []model.TensorInfo, scores []float32, mask []byte, n, m int, p *phase) int {
	var rows []segment
	var owners []int
	for ti, t := range targets {
		r, c := rowsCols(t)
		for i := range r {
			lo := t.Offset + i*c
			rows = append(rows, segment{score: scores[lo : lo+c], mask: mask[lo : lo+c]})
			owners = append(owners, ti)
		}
	}
	tl := newTally(p, owners, len(targets))
	done := make([]int, len(rows))
	par.Chunks(len(rows), 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r := rows[i]
			for g := 0; g < len(r.mask); g += m {
				done[i] += pruneLowest(r.score[g:g+m], r.mask[g:g+m], m-n)
			}
		}
		tl.groupsDone(lo, hi)
	})
	total := 0
	for _, d := range done {
		total += d
	}
	return total
}

// pruneLowest prunes the lowest-scoring survivors of a small group until
// it has zeros pruned entries, ties to the earlier entry, and returns how
// many it pruned.
func pruneLowest(score []float32, mask []byte, zeros int) int {
	need := zeros
	for _, k := range mask {
		if k == 0 {
			need--
		}
	}
	done := 0
	for ; done < need; done++ {
		best := -1
		for j, k := range mask {
			if k != 0 && (best < 0 || score[j] < score[best]) {
				best = j
			}
		}
		if best < 0 {
			break
		}
		mask[best] = 0
	}
	return done
}
