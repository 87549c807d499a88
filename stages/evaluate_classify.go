package stages

import (
	"context"
	"fmt"

	"lopper/eval"
	"lopper/model"
	"lopper/pipeline"
)

// The evaluate stage's labelled task (classify: FILE), for encoder
// classifiers:
//
//	classify: dev.tsv      # GLUE-style TSV, CSV or JSONL (see README, Classification tasks)
//	max_length: 128        # [the model's positions] tokens per input, special tokens included
//	problem_type: single_label_classification   # | multi_label_classification | regression
//	limit: 100             # only the first N examples
//	batch: 8               # [8] examples per forward pass (results do not depend on it)
//
// problem_type says which metrics the stage declares, before the model is
// loaded: it must be the model's (config.json's problem_type), which the
// stage checks. The metrics are the problem type's (classifyMetrics);
// `accuracy` is task accuracy, so acc_drop and loops work as for language
// models.

// problem is the declared problem type (default single-label).
func (cfg *EvaluateConfig) problem() eval.Problem {
	if cfg.Problem == "" {
		return eval.SingleLabel
	}
	return eval.Problem(cfg.Problem)
}

// classifyMetrics are the metrics a labelled task of problem type p always
// gives (a regression's correlations, undefined for constant predictions,
// are in the details).
func classifyMetrics(p eval.Problem) []string {
	switch p {
	case eval.MultiLabel:
		return []string{eval.MetricAccuracy, eval.MetricMicroF1, eval.MetricMacroF1, eval.MetricExamples}
	case eval.Regression:
		return []string{eval.MetricMSE, eval.MetricExamples}
	}
	return []string{eval.MetricAccuracy, eval.MetricMacroF1, eval.MetricMCC, eval.MetricExamples}
}

func checkClassify(c *pipeline.Checker, cfg *EvaluateConfig) {
	checkFile(c, "classify", cfg.Classify)
	checkPositive(c, "max_length", cfg.MaxLength)
	switch cfg.problem() {
	case eval.SingleLabel, eval.MultiLabel, eval.Regression:
	default:
		c.Errorf("problem_type", "%q is not a problem type; want single_label_classification, multi_label_classification or regression", cfg.Problem)
	}
	if cfg.Classify == "" {
		if cfg.MaxLength != 0 {
			c.Errorf("max_length", "applies to classify")
		}
		if cfg.Problem != "" {
			c.Errorf("problem_type", "applies to classify")
		}
		return
	}
	if cfg.Text != "" || cfg.choiceFile() != "" {
		c.Errorf("classify", "a labelled task evaluates an encoder classifier, text and multiple choice a language model: use separate evaluate stages")
	}
	if cfg.Sample {
		c.Errorf("sample", "applies to multiple choice; classify evaluates the first limit examples")
	}
}

// evaluateClassify evaluates m on the stage's labelled task.
func evaluateClassify(ctx context.Context, sc *pipeline.StageContext, cfg *EvaluateConfig, m *model.Model) (*eval.ClassifyResult, error) {
	if m.Config.Arch == model.BERT && eval.Problem(m.Config.Problem) != cfg.problem() {
		return nil, fmt.Errorf("classify: the model is a %s classifier (config.json's problem_type), the stage declares %s: set problem_type: %s",
			m.Config.Problem, cfg.problem(), m.Config.Problem)
	}
	r, err := eval.ClassifyModel(ctx, m, sc.Resolve(cfg.Classify), eval.ClassifyOptions{
		MaxLength: cfg.MaxLength, Limit: cfg.Limit, Batch: cfg.Batch,
		Progress: func(done, total int) { sc.Progress(done, total, "examples") },
	})
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	return &r, nil
}
