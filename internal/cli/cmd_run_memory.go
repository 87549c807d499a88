package cli

import (
	"context"
	"fmt"

	"lopper/eval"
	"lopper/model"
	"lopper/pipeline"
	"lopper/stages"
)

// The memory modes of lopper run.
const (
	runResident = "resident" // the load stage loads its model (model.Load)
	runLazy     = "lazy"     // it opens it (model.Open): see stages.WithLazyModels
)

// runMemoryPlan is how lopper run holds its models: its mode and why.
type runMemoryPlan struct {
	mode string
	why  string
}

// planRunMemory chooses lopper run's memory mode from the recipe's
// resident estimates (lopper plan's, the largest stage's) and mm: lazy
// when they exceed the budget. A number of bytes or auto (the available
// memory) bounds the largest stage's estimate; a multiple bounds the
// float32 weights of the checkpoints the recipe reads (the directories
// among its files that hold a config.json) against their bytes on disk,
// as lopper eval's does. Without an estimate the run is resident.
func planRunMemory(r *pipeline.Recipe, mm maxMemory) runMemoryPlan {
	if mm.times > 0 {
		return planRunWeights(r, mm.times)
	}
	p := r.Plan()
	r.EstimateMemory(p)
	var peak *pipeline.PlanMemory
	var stage string
	walkPlan(p.Levels, func(ps *pipeline.PlanStage) {
		if m := ps.Memory; m != nil && m.Unknown == "" && (peak == nil || m.Bytes > peak.Bytes) {
			peak, stage = m, ps.ID
		}
	})
	if peak == nil {
		return runMemoryPlan{mode: runResident, why: "no stage has a memory estimate"}
	}
	budget, set := mm.absolute()
	switch {
	case budget <= 0:
		return runMemoryPlan{mode: runResident, why: "no memory budget (the available memory is unknown)"}
	case peak.Bytes <= budget:
		return runMemoryPlan{mode: runResident, why: fmt.Sprintf("the largest stage's resident estimate, %s (stage %s), is within %s (%s)", peak.Total, stage, model.FormatBytes(budget), set)}
	}
	return runMemoryPlan{mode: runLazy, why: fmt.Sprintf("the largest stage's resident estimate, %s (stage %s), exceeds %s (%s)", peak.Total, stage, model.FormatBytes(budget), set)}
}

// planRunWeights is planRunMemory for a multiple of the bytes on disk.
func planRunWeights(r *pipeline.Recipe, times float64) runMemoryPlan {
	var disk, weights int64
	for _, f := range r.Files() {
		c, err := model.LoadConfig(f)
		if err != nil {
			continue // not a checkpoint
		}
		w, err := model.WeightBytes(&c)
		if err != nil {
			continue
		}
		n, err := eval.DirBytes(f)
		if err != nil {
			continue
		}
		disk, weights = disk+n, weights+w
	}
	if disk == 0 {
		return runMemoryPlan{mode: runResident, why: "the recipe names no checkpoint known before it runs"}
	}
	budget := int64(times * float64(disk))
	set := fmt.Sprintf("--max-memory %gx of %s on disk", times, model.FormatBytes(disk))
	if weights <= budget {
		return runMemoryPlan{mode: runResident, why: fmt.Sprintf("the resident weights, %s, are within %s (%s)", model.FormatBytes(weights), model.FormatBytes(budget), set)}
	}
	return runMemoryPlan{mode: runLazy, why: fmt.Sprintf("the resident weights, %s, exceed %s (%s)", model.FormatBytes(weights), model.FormatBytes(budget), set)}
}

// walkPlan calls fn on every stage of lvls, the bodies of loops and
// matrices included.
func walkPlan(lvls [][]*pipeline.PlanStage, fn func(*pipeline.PlanStage)) {
	for _, lvl := range lvls {
		for _, ps := range lvl {
			fn(ps)
			walkPlan(ps.Levels, fn)
		}
	}
}

// context is ctx for running the recipe in the plan's mode.
func (p runMemoryPlan) context(ctx context.Context) context.Context {
	if p.mode == runLazy {
		return stages.WithLazyModels(ctx)
	}
	return ctx
}
