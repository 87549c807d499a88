package main

import "lopper/internal/synth"

// settings are everything the output depends on; lopper.json records them.
type settings struct {
	Seed  uint64    `json:"seed"` // seeds the data, the initial weights and the batches
	Data  dataSpec  `json:"data"`
	Arch  arch      `json:"arch"`
	Train trainSpec `json:"train"`
	// MinAcc is the dev accuracy the trained model must reach, or nothing
	// is written.
	MinAcc float64 `json:"min_acc"`
}

// dataSpec is synth.ReviewSpec without its seed.
type dataSpec struct {
	TrainLines int `json:"train_lines"`
	EvalLines  int `json:"eval_lines"`
}

// arch is the classifier's shape (BertConfig's names).
type arch struct {
	Hidden       int `json:"hidden_size"`
	Layers       int `json:"num_hidden_layers"`
	Heads        int `json:"num_attention_heads"`
	Intermediate int `json:"intermediate_size"`
	Positions    int `json:"max_position_embeddings"`
}

// trainSpec configures train.TrainClassifier (cosine decay).
type trainSpec struct {
	Steps       int     `json:"steps"`
	BatchSize   int     `json:"batch_size"`
	LR          float64 `json:"lr"`
	MinLR       float64 `json:"min_lr"`
	WarmupSteps int     `json:"warmup_steps"`
	WeightDecay float64 `json:"weight_decay"`
	GradClip    float64 `json:"grad_clip"`
}

// defaultSettings make the committed files.
func defaultSettings() settings {
	return settings{
		Seed: 1,
		Data: dataSpec{TrainLines: 4000, EvalLines: 500},
		Arch: arch{Hidden: 32, Layers: 2, Heads: 4, Intermediate: 64, Positions: 64},
		Train: trainSpec{
			Steps: 3000, BatchSize: 32, LR: 3e-3, MinLR: 1e-4, WarmupSteps: 100, WeightDecay: 0.01, GradClip: 1,
		},
		MinAcc: 0.95,
	}
}

func (s settings) reviewSpec() synth.ReviewSpec {
	return synth.ReviewSpec{Seed: s.Seed, TrainLines: s.Data.TrainLines, EvalLines: s.Data.EvalLines}
}
