package stages

import (
	"context"
	"fmt"

	"lopper/model"
	"lopper/pipeline"
	"lopper/pruning"
)

// VerifyConfig is the with block of `verify`:
//
//	model: retrain      # the stage whose model to check (required)
//	masks_of: prune     # optional: also check every weight pruned in this stage's model
//
// It checks that the pruned weights of model are still exactly zero: those
// of its own mask, and with masks_of, every weight pruned in that stage's
// model (its mask, or, for a model without one — a pruned model loaded
// from disk — its exactly-zero block linear weights). The two models must
// have the same tensors and shapes. A violated mask fails the stage,
// naming the first offending tensor and entry and counting the
// violations.
type VerifyConfig struct {
	Model   pipeline.Ref `yaml:"model"`
	MasksOf pipeline.Ref `yaml:"masks_of"`
}

var verifyMetrics = []string{"violations", "checked", "sparsity"}

func registerVerify(reg *pipeline.Registry) {
	reg.Register("verify", pipeline.Typed(pipeline.KindOf[VerifyConfig]{
		Check: func(c *pipeline.Checker, cfg *VerifyConfig) { checkRef(c, "model", cfg.Model, "model") },
		Declare: func(cfg *VerifyConfig) pipeline.Decl {
			d := pipeline.Decl{Inputs: []pipeline.Input{modelInput(cfg.Model)}, Metrics: verifyMetrics}
			if !cfg.MasksOf.IsZero() {
				d.Inputs = append(d.Inputs, modelInput(cfg.MasksOf))
			}
			return d
		},
		Run: runVerify,
	}))
}

// verifyDetails is verify's Details.
type verifyDetails struct {
	Masks   []string `json:"masks"`   // where the checked masks came from
	Checked int      `json:"checked"` // pruned weights checked
	Tensors int      `json:"tensors"` // tensors in the model
}

func runVerify(_ context.Context, sc *pipeline.StageContext, cfg *VerifyConfig) (*pipeline.Result, error) {
	in, err := inputModel(sc, cfg.Model)
	if err != nil {
		return nil, err
	}
	m := residentModel(in.Model) // the check reads every weight
	var masks []string
	if m.Mask != nil {
		masks = append(masks, "the model's own mask")
	}
	var ref *model.Model
	if !cfg.MasksOf.IsZero() {
		r, err := inputModel(sc, cfg.MasksOf)
		if err != nil {
			return nil, err
		}
		ref = residentModel(r.Model)
		if ref.Mask != nil {
			masks = append(masks, fmt.Sprintf("the mask of %s's model", cfg.MasksOf.ID))
		} else {
			masks = append(masks, fmt.Sprintf("the exactly-zero block linear weights of %s's model (it has no mask)", cfg.MasksOf.ID))
		}
	}
	c, err := pruning.CheckMasks(m, ref)
	if err != nil {
		if ref != nil {
			return nil, fmt.Errorf("masks_of %s: %w", cfg.MasksOf.ID, err)
		}
		return nil, err
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	if len(masks) == 0 {
		sc.Log.Warn("nothing to check: the model has no mask and masks_of is not set")
	}
	sp, _ := m.Sparsity(model.Prunable)
	sc.Log.Info("masks hold", "checked", c.Checked, "sparsity", roundForLog(sp))
	return &pipeline.Result{
		Metrics: pipeline.Metrics{"violations": 0, "checked": float64(c.Checked), "sparsity": sp},
		Details: verifyDetails{Masks: masks, Checked: c.Checked, Tensors: len(m.Layout.Tensors)},
	}, nil
}
