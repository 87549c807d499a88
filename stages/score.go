package stages

import (
	"context"
	"fmt"

	"lopper/pipeline"
	"lopper/pruning"
)

// ScoreConfig is the with block of `score`:
//
//	model: base              # the stage whose model to score (required)
//	criterion: wanda         # magnitude | random | wanda | taylor (required)
//	targets: ['mlp']         # regexps over tensor names; default: every block linear weight
//	ignore: ['layers\.0\.']
//	calib: {file: calib.txt, seq_len: 128, samples: 32}   # wanda and taylor
//	seed: 0                  # random's seed
//
// The scores (higher is more important) can drive several prune stages
// (`scores: <this stage>`), e.g. a sweep over sparsities that scores once.
// Wanda scores here use statistics of the dense model in one pass;
// block-by-block Wanda and SparseGPT depend on what earlier blocks pruned
// and run inside prune.
type ScoreConfig struct {
	Model         pipeline.Ref `yaml:"model"`
	Criterion     string       `yaml:"criterion"`
	TargetsConfig `yaml:",inline"`
	Calib         *CalibConfig `yaml:"calib"`
	Seed          uint64       `yaml:"seed"`
}

var scoreMetrics = []string{"tensors", "scored", "calib_samples"}

func registerScore(reg *pipeline.Registry) {
	reg.Register("score", pipeline.Typed(pipeline.KindOf[ScoreConfig]{
		Check: checkScore,
		Declare: func(cfg *ScoreConfig) pipeline.Decl {
			d := pipeline.Decl{Inputs: []pipeline.Input{modelInput(cfg.Model)}, Metrics: scoreMetrics, Artifacts: []string{ArtifactScores},
				Memory: scoreMemory(cfg)}
			if cfg.Calib != nil {
				d.Files = []string{cfg.Calib.File}
			}
			return d
		},
		Run: runScore,
	}))
}

func checkScore(c *pipeline.Checker, cfg *ScoreConfig) {
	checkRef(c, "model", cfg.Model, "model")
	switch pruning.Method(cfg.Criterion) {
	case pruning.Magnitude, pruning.Random:
	case pruning.Wanda, pruning.Taylor:
		if cfg.Calib == nil {
			c.Errorf("calib", "required: %s scores need calibration data", cfg.Criterion)
		}
	case pruning.SparseGPT:
		c.Errorf("criterion", "sparsegpt has no separate score step (its choices depend on the weights it updates): use prune with method: sparsegpt")
	case "":
		c.Errorf("criterion", "required: magnitude, random, wanda or taylor")
	default:
		c.Errorf("criterion", "%q is not a criterion; want magnitude, random, wanda or taylor", cfg.Criterion)
	}
	cfg.TargetsConfig.check(c)
	cfg.Calib.check(c, "calib")
}

func runScore(ctx context.Context, sc *pipeline.StageContext, cfg *ScoreConfig) (*pipeline.Result, error) {
	in, err := inputModel(sc, cfg.Model)
	if err != nil {
		return nil, err
	}
	m := residentModel(in.Model) // scoring reads every target at once
	cal, err := cfg.Calib.windows(sc, m)
	if err != nil {
		return nil, err
	}
	s, err := pruning.Score(ctx, m, pruning.ScoreOptions{
		Method: pruning.Method(cfg.Criterion), Targets: cfg.spec(), Calib: cal, Seed: cfg.Seed, Progress: sc.Progress,
	})
	if err != nil {
		return nil, err
	}
	cj, err := m.Config.MarshalHF("")
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	n := 0
	names := make([]string, len(s.Targets))
	for i, t := range s.Targets {
		n += t.Size
		names[i] = t.Name
	}
	sc.Log.Info("scored", "criterion", cfg.Criterion, "tensors", len(s.Targets), "weights", n)
	return &pipeline.Result{
		Metrics: pipeline.Metrics{"tensors": float64(len(s.Targets)), "scored": float64(n), "calib_samples": float64(s.CalibSamples)},
		Artifacts: map[string]pipeline.Artifact{
			ArtifactScores: &ScoresArtifact{Scores: s, Config: cj, ModelDigest: in.Digest()},
		},
		Details: map[string]any{"criterion": cfg.Criterion, "targets": names, "calib_samples": s.CalibSamples, "calib_seq_len": s.CalibSeqLen},
	}, nil
}
