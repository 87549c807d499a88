package stages

import (
	"fmt"
	"math/rand/v2"

	"lopper/model"
	"lopper/pruning"

	"github.com/hashicorp/go-hclog"
)

// classifierCalibration is CalibrationWindows for an encoder classifier:
// the file is a labelled task (the examples' texts, and for Taylor their
// labels), each example one calibration window, encoded as evaluation
// encodes it and truncated to o.SeqLen tokens (default min(the model's
// positions, 2048)). o.Samples examples are used (default: at most 128):
// the first ones, or with o.Random that many drawn without replacement
// with o.Seed.
func classifierCalibration(m *model.Model, path string, o pruning.WindowOptions, log hclog.Logger) (*pruning.Calibration, error) {
	o = o.WithDefaults(m.Config.MaxSeqLen())
	examples, err := classifierExamples(m, path, o.SeqLen)
	if err != nil {
		return nil, err
	}
	n := len(examples)
	if o.Samples > n && !o.Fit {
		return nil, fmt.Errorf("%s: %d calibration examples asked for, the file has %d", path, o.Samples, n)
	}
	k := min(o.Samples, n)
	pick := make([]int, n)
	for i := range pick {
		pick[i] = i
	}
	if o.Random {
		rng := rand.New(rand.NewPCG(o.Seed, 0x6c6f70706572)) // "lopper", as pruning.Windows
		for i := range k {                                   // a partial Fisher–Yates: the first k of a random permutation
			j := i + int(rng.Uint64N(uint64(n-i)))
			pick[i], pick[j] = pick[j], pick[i]
		}
	}
	ids, types := make([][]int32, k), make([][]int32, k)
	var labels model.ClassifierTargets
	for i, p := range pick[:k] {
		e := examples[p]
		ids[i], types[i] = e.IDs, e.TypeIDs
		if m.Config.Problem == model.SingleLabel {
			labels.Classes = append(labels.Classes, e.Class)
		} else {
			labels.Values = append(labels.Values, e.Values...)
		}
	}
	if k < o.Samples {
		log.Info("the calibration file holds fewer examples than the default; using them all",
			"file", path, "examples", k, "default", o.Samples)
	}
	cal, err := pruning.ExampleCalibration(ids, types, int32(m.Config.PadID), labels)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cal, nil
}
