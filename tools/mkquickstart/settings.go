package main

import "lopper/internal/synth"

// settings are everything the output depends on; lopper.json records them.
type settings struct {
	Seed  uint64    `json:"seed"` // seeds the data and the initial weights
	Data  dataSpec  `json:"data"`
	Arch  arch      `json:"arch"`
	Train trainSpec `json:"train"`
	// MinAcc is the held-out multiple-choice accuracy the trained model
	// must reach, or nothing is written.
	MinAcc float64 `json:"min_acc"`
}

// dataSpec is synth.Spec without its seed.
type dataSpec struct {
	Length      int `json:"length"`
	TrainLines  int `json:"train_lines"`
	EvalLines   int `json:"eval_lines"`
	ChoiceTasks int `json:"choice_tasks"`
	Choices     int `json:"choices"`
}

// trainSpec configures the training run (see train.Config and
// train.TrainClassifier; the decay is cosine).
type trainSpec struct {
	Steps       int     `json:"steps"`
	BatchSize   int     `json:"batch_size"`
	SeqLen      int     `json:"seq_len,omitempty"` // the encoder's examples set their own length
	LR          float64 `json:"lr"`
	MinLR       float64 `json:"min_lr"`
	WarmupSteps int     `json:"warmup_steps"`
	WeightDecay float64 `json:"weight_decay"`
	GradClip    float64 `json:"grad_clip"`
}

// defaultSettings make the committed quickstart files.
func defaultSettings() settings {
	return settings{
		Seed: 1,
		Data: dataSpec{Length: 5, TrainLines: 10000, EvalLines: 2000, ChoiceTasks: 500, Choices: 4},
		Arch: arch{Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, Intermediate: 256, Positions: 128},
		Train: trainSpec{
			Steps: 1500, BatchSize: 32, SeqLen: 128, LR: 3e-3, MinLR: 3e-4, WarmupSteps: 100,
			WeightDecay: 0.1, GradClip: 1,
		},
		MinAcc: 0.95,
	}
}

func (s settings) synthSpec() synth.Spec {
	d := s.Data
	return synth.Spec{
		Seed: s.Seed, Length: d.Length, TrainLines: d.TrainLines, EvalLines: d.EvalLines,
		ChoiceTasks: d.ChoiceTasks, Choices: d.Choices,
	}
}
