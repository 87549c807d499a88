package stages

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"lopper/eval"
	"lopper/internal/fsx"
	"lopper/model"
	"lopper/pipeline"
)

// SaveConfig is the with block of `save`:
//
//	model: final           # the stage whose model to save (required)
//	path: model            # output directory (required); see below
//	export: false          # optional: let path leave the run directory
//	dtype: BF16            # optional: F32, F16 or BF16; default: each tensor's source dtype
//	uniform: refuse        # refuse (default) or keep; see below
//
// path is relative to the run directory and must stay inside it (not the
// run directory itself, nor lopper's run.json, artifacts/ or stages/), so
// runs never overwrite each other or anything else. With export: true it
// may be absolute, or relative to the recipe's directory (params of type
// path are absolute already: `path: "${{ params.out }}"`), but never the
// recipe's, working or home directory, a directory that holds one of them,
// the run directory, the cache, or a file or directory the recipe reads
// (pipeline.Output has the rules; the engine checks them when the recipe
// is loaded and again before the stage runs).
//
// Hugging Face cannot load a model whose layers have different dims
// (structured pruning with global allocation) or a GPT-2 whose heads no
// longer span n_embd (heads removed). uniform: refuse (the default) fails
// the stage, saying why; uniform: keep writes it anyway, with the real dims
// in config.json's lopper_dims and hf_compatible: false in lopper.json.
// Rounding layers to a uniform shape happens where the scores are known:
// prune's `nonuniform: round`.
//
// The directory is written atomically (temporary directory + rename) with
// lopper.json's metadata: the recipe, the stage, lopper's version, the
// model and mask digests, the sparsity and the chain of stages that
// produced the model.
type SaveConfig struct {
	Model   pipeline.Ref `yaml:"model"`
	Path    string       `yaml:"path"`
	Export  bool         `yaml:"export"`
	DType   string       `yaml:"dtype"`
	Uniform string       `yaml:"uniform"`
}

var saveMetrics = []string{"bytes", "files", "sparsity", "params", "params_nonzero"}

func registerSave(reg *pipeline.Registry) {
	reg.Register("save", pipeline.Typed(pipeline.KindOf[SaveConfig]{
		Check: checkSave,
		Declare: func(cfg *SaveConfig) pipeline.Decl {
			// Volatile: it writes files, and its manifest names the run.
			return pipeline.Decl{Inputs: []pipeline.Input{modelInput(cfg.Model)}, Metrics: saveMetrics, Volatile: true,
				Outputs: []pipeline.Output{cfg.output()}, Memory: saveMemory(cfg)}
		},
		Run: runSave,
	}))
}

func checkSave(c *pipeline.Checker, cfg *SaveConfig) {
	checkRef(c, "model", cfg.Model, "model")
	if cfg.Path == "" {
		c.Errorf("path", "required: the directory to write, inside the run directory (or, with export: true, anywhere else that is safe)")
	}
	if cfg.DType != "" {
		if _, err := model.ParseDType(cfg.DType); err != nil {
			c.Errorf("dtype", "%v", err)
		}
	}
	if _, err := model.ParseUniformPolicy(cfg.Uniform); err != nil {
		c.Errorf("uniform", "%v", err)
	}
}

// output is the directory the stage writes.
func (cfg *SaveConfig) output() pipeline.Output {
	return pipeline.Output{Field: "path", Path: cfg.Path, Export: cfg.Export}
}

// saveManifest is lopper.json's metadata for a saved model.
type saveManifest struct {
	Recipe        string        `json:"recipe"`
	RecipeFile    string        `json:"recipe_file"`
	RecipeDigest  string        `json:"recipe_digest"`
	RunDir        string        `json:"run_dir"`
	Stage         string        `json:"stage"`
	LopperVersion string        `json:"lopper_version"`
	ModelDigest   string        `json:"model_digest"`
	MasksDigest   string        `json:"masks_digest"` // sha256 of the mask bytes, or "none"
	Sparsity      float64       `json:"sparsity"`     // zero fraction of the prunable weights
	Params        int           `json:"params"`
	NonZero       int           `json:"params_nonzero"`
	DType         string        `json:"dtype,omitempty"`
	History       []HistoryStep `json:"history"`
}

func runSave(ctx context.Context, sc *pipeline.StageContext, cfg *SaveConfig) (*pipeline.Result, error) {
	in, err := inputModel(sc, cfg.Model)
	if err != nil {
		return nil, err
	}
	m := in.Model
	policy, err := model.ParseUniformPolicy(cfg.Uniform)
	if err != nil {
		return nil, err
	}
	if err := policy.Check(&m.Config); err != nil {
		hint := ""
		if !m.Config.Uniform() {
			hint = "prune with `nonuniform: round`, or "
		}
		return nil, fmt.Errorf("%w; %ssave with `uniform: keep` to write it anyway, with its dims in config.json's lopper_dims (lopper loads it, Hugging Face does not)", err, hint)
	}
	var dt model.DType
	if cfg.DType != "" {
		if dt, err = model.ParseDType(cfg.DType); err != nil {
			return nil, err
		}
	}
	dir := sc.OutputPath(cfg.output())
	size, err := eval.Size(m, "")
	if err != nil {
		return nil, err
	}
	rec := sc.Record()
	man := saveManifest{
		Recipe: rec.Name, RecipeFile: rec.Recipe.File, RecipeDigest: rec.Recipe.Digest, RunDir: sc.RunDir,
		Stage: sc.Path, LopperVersion: rec.Lopper, ModelDigest: in.Digest(), MasksDigest: "none",
		Sparsity: size.Sparsity, Params: size.Params, NonZero: size.NonZero, DType: string(dt), History: in.History,
	}
	if m.Mask != nil {
		h := sha256.New() // of one byte per parameter, as before masks were bitsets
		m.Mask.EachBytes(func(b []byte) { h.Write(b) })
		man.MasksDigest = fmt.Sprintf("sha256:%x", h.Sum(nil))
	}
	meta, err := json.Marshal(man)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	// The load-time and pre-stage checks (Decl.Outputs) keep dir out of the
	// recipe's, the run's and the inputs' directories; the Guard checks
	// again at the moment of writing, and refuses a directory that lopper
	// did not save.
	guard := fsx.Guard{Keep: []fsx.Protected{{Path: sc.RunDir, What: "the run directory"}}}
	if rf := rec.Recipe.File; rf != "" {
		guard.Keep = append(guard.Keep, fsx.Protected{Path: rf, What: "the recipe"})
	}
	if err := m.Save(dir, model.SaveOptions{DType: dt, Metadata: meta, Guard: guard}); err != nil {
		return nil, err
	}
	bytes, err := eval.DirBytes(dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	sc.Log.Info("saved", "dir", dir, "bytes", bytes, "sparsity", size.Sparsity)
	return &pipeline.Result{
		Metrics: pipeline.Metrics{
			"bytes": float64(bytes), "files": float64(len(entries)), "sparsity": size.Sparsity,
			"params": float64(size.Params), "params_nonzero": float64(size.NonZero),
		},
		Details: map[string]any{"path": dir, "manifest": man},
	}, nil
}
