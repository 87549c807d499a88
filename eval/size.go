package eval

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"

	"lopper/model"
)

// SizeResult counts a model's parameters and zeros.
type SizeResult struct {
	// Params counts every parameter (tied embeddings once); NonZero those
	// that are not exactly zero.
	Params  int `json:"params"`
	NonZero int `json:"params_nonzero"`
	// PrunableParams and PrunableNonZero are the same over the prunable
	// tensors: the linear weights inside the transformer blocks.
	PrunableParams  int `json:"prunable_params"`
	PrunableNonZero int `json:"prunable_nonzero"`
	// Sparsity is the zero fraction of the prunable weights; SparsityAll
	// the zero fraction of all parameters.
	Sparsity    float64 `json:"sparsity"`
	SparsityAll float64 `json:"sparsity_all"`
	// BytesOnDisk is the size of the saved model directory (0 when none
	// was given).
	BytesOnDisk int64        `json:"bytes_on_disk,omitempty"`
	Tensors     []TensorSize `json:"tensors"`
}

// TensorSize is one tensor's count.
type TensorSize struct {
	Name     string  `json:"name"`
	Shape    []int   `json:"shape"`
	Prunable bool    `json:"prunable"`
	Params   int     `json:"params"`
	NonZero  int     `json:"nonzero"`
	Sparsity float64 `json:"sparsity"`
}

// Metrics returns params, params_nonzero, sparsity and, when measured,
// bytes_on_disk.
func (r SizeResult) Metrics() Metrics {
	out := Metrics{MetricParams: float64(r.Params), MetricNonZero: float64(r.NonZero), MetricSparsity: r.Sparsity}
	if r.BytesOnDisk > 0 {
		out[MetricBytes] = float64(r.BytesOnDisk)
	}
	return out
}

// nonZero counts t's non-zero weights, pinned while they are counted (a
// lazy model holds one tensor at a time).
func nonZero(m *model.Model, t model.TensorInfo) (int, error) {
	if err := m.Pin(context.Background(), t); err != nil {
		return 0, err
	}
	defer m.Unpin(t)
	return m.NonZero(t), nil
}

// Size counts m's parameters, per tensor and overall. When dir is not
// empty it is the directory m was saved to (or loaded from), and its bytes
// on disk are measured too.
func Size(m *model.Model, dir string) (SizeResult, error) {
	if len(m.W) != m.Layout.Total {
		return SizeResult{}, fmt.Errorf("size: the model has %d parameters but its layout %d", len(m.W), m.Layout.Total)
	}
	var r SizeResult
	for _, t := range m.Layout.Tensors {
		nz, err := nonZero(m, t)
		if err != nil {
			return SizeResult{}, err
		}
		ts := TensorSize{Name: t.Name, Shape: t.Shape, Prunable: model.Prunable(t), Params: t.Size, NonZero: nz}
		ts.Sparsity = zeroFraction(ts.NonZero, ts.Params)
		r.Params += ts.Params
		r.NonZero += ts.NonZero
		if ts.Prunable {
			r.PrunableParams += ts.Params
			r.PrunableNonZero += ts.NonZero
		}
		r.Tensors = append(r.Tensors, ts)
	}
	r.Sparsity = zeroFraction(r.PrunableNonZero, r.PrunableParams)
	r.SparsityAll = zeroFraction(r.NonZero, r.Params)
	if dir != "" {
		n, err := DirBytes(dir)
		if err != nil {
			return SizeResult{}, err
		}
		r.BytesOnDisk = n
	}
	return r, nil
}

func zeroFraction(nonZero, total int) float64 {
	if total == 0 {
		return 0
	}
	return float64(total-nonZero) / float64(total)
}

// DirBytes is the total size of the regular files under dir.
func DirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return n, nil
}
