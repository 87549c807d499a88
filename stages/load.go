package stages

import (
	"context"
	"fmt"

	"lopper/internal/memgc"
	"lopper/model"
	"lopper/pipeline"
)

// LoadConfig is the with block of `load`:
//
//	path: models/tiny        # a Hugging Face model directory (required)
//	dtype: BF16              # optional: the dtype save writes by default
//	check_finite: true       # optional: refuse NaN/Inf weights (default true)
//
// lopper computes in float32 whatever the stored dtype; dtype only changes
// what a later save writes when it has no dtype of its own.
type LoadConfig struct {
	Path        string `yaml:"path"`
	DType       string `yaml:"dtype"`
	CheckFinite *bool  `yaml:"check_finite"`
}

// Metrics of load.
var loadMetrics = []string{"params", "layers", "hidden", "vocab", "heads", "kv_heads", "intermediate", "max_positions", "sparsity"}

func registerLoad(reg *pipeline.Registry) {
	reg.Register("load", pipeline.Typed(pipeline.KindOf[LoadConfig]{
		Check: checkLoad,
		Declare: func(cfg *LoadConfig) pipeline.Decl {
			return pipeline.Decl{Metrics: loadMetrics, Artifacts: []string{ArtifactModel}, Files: []string{cfg.Path}, Memory: loadMemory(cfg)}
		},
		Run: runLoad,
	}))
}

func checkLoad(c *pipeline.Checker, cfg *LoadConfig) {
	if cfg.Path == "" {
		c.Errorf("path", "required: the Hugging Face model directory to load")
	}
	if cfg.DType != "" {
		if _, err := model.ParseDType(cfg.DType); err != nil {
			c.Errorf("dtype", "%v", err)
		}
	}
}

func runLoad(ctx context.Context, sc *pipeline.StageContext, cfg *LoadConfig) (*pipeline.Result, error) {
	dir := sc.Resolve(cfg.Path)
	finite := cfg.CheckFinite == nil || *cfg.CheckFinite
	m, lazy, err := loadModel(ctx, sc, dir, model.LoadOptions{CheckFinite: finite})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	if w, err := model.WeightBytes(&m.Config); err == nil {
		memgc.Tune(w) // a large model: collect garbage sooner (see memgc)
	}
	if cfg.DType != "" {
		dt, err := model.ParseDType(cfg.DType)
		if err != nil {
			return nil, err
		}
		all := map[string]model.DType{}
		for _, t := range m.Layout.Tensors {
			all[t.Name] = dt
		}
		if m.Layout, err = m.Layout.WithDTypes(all); err != nil {
			return nil, err
		}
	}
	sc.Log.Info("loaded", "dir", dir, "params", m.NumParams(), "arch", m.Config.Arch, "layers", m.Config.NumLayers(), "weights", weightsMode(m))
	a := NewModelArtifact(m, nil, HistoryStep{Stage: sc.Path, Kind: "load", Summary: map[string]any{"path": dir, "dtype": cfg.DType}})
	if lazy {
		a.dir = dir
	}
	metrics, err := shapeMetrics(m)
	if err != nil {
		return nil, err
	}
	return &pipeline.Result{
		Metrics:   metrics,
		Artifacts: map[string]pipeline.Artifact{ArtifactModel: a},
		Details:   map[string]any{"path": dir, "config": dims(m)},
	}, nil
}

// shapeMetrics are a model's size and dims (layer 0's for per-layer dims)
// and the sparsity of its prunable weights.
func shapeMetrics(m *model.Model) (pipeline.Metrics, error) {
	c := &m.Config
	sp, err := sparsity(m)
	if err != nil {
		return nil, err
	}
	return pipeline.Metrics{
		"params": float64(m.NumParams()), "layers": float64(c.NumLayers()), "hidden": float64(c.Hidden),
		"vocab": float64(c.Vocab), "heads": float64(c.Layers[0].Heads), "kv_heads": float64(c.Layers[0].KVHeads),
		"intermediate": float64(c.Layers[0].Intermediate), "max_positions": float64(c.MaxPos), "sparsity": sp,
	}, nil
}

// dims describes a model's shape for details and manifests.
func dims(m *model.Model) map[string]any {
	c := &m.Config
	return map[string]any{
		"arch": c.Arch, "model_type": c.ModelType, "hidden": c.Hidden, "vocab": c.Vocab,
		"max_positions": c.MaxPos, "head_dim": c.HeadDim, "layers": c.Layers, "params": m.NumParams(),
	}
}
