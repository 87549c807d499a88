package eval

import (
	"context"
	"fmt"

	"lopper/model"
	"lopper/model/tokenizer"
)

// Text computes perplexity and next-token accuracy of tokens (made with
// m's tokenizer) under m; see the package documentation for the protocol.
// The result's protocol names m's tokenizer.
func Text(ctx context.Context, m *model.Model, tokens []int32, opts TextOptions) (TextResult, error) {
	if err := checkFinite(m); err != nil {
		return TextResult{}, err
	}
	res, err := evalText(ctx, modelLM{m}, tokens, opts)
	if err != nil {
		return TextResult{}, err
	}
	res.Protocol.Tokenizer = describeTokenizer(m.TokenizerJSON)
	return res, nil
}

// TextFile reads a UTF-8 text file, tokenizes it with m's tokenizer
// (no special tokens added) and evaluates it with Text; the protocol
// records the file and its SHA-256.
func TextFile(ctx context.Context, m *model.Model, path string, opts TextOptions) (TextResult, error) {
	if err := checkFinite(m); err != nil {
		return TextResult{}, err // before the file: an error wrapped with its name would blame it
	}
	tokens, err := tokenizer.EncodeModelFile(m.TokenizerJSON, m.Source, path, 0)
	if err != nil {
		return TextResult{}, err
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return TextResult{}, err
	}
	res, err := Text(ctx, m, tokens, opts)
	if err != nil {
		return TextResult{}, fmt.Errorf("%s: %w", path, err)
	}
	res.Protocol.File = path
	res.Protocol.SHA256 = sum
	return res, nil
}

// Choices computes multiple-choice accuracy of m on the tasks of tf; see
// the package documentation for the scoring.
func Choices(ctx context.Context, m *model.Model, tf *TaskFile, opts ChoiceOptions) (ChoiceResult, error) {
	if err := checkFinite(m); err != nil {
		return ChoiceResult{}, err
	}
	tok, err := modelTokenizer(m)
	if err != nil {
		return ChoiceResult{}, err
	}
	res, err := evalChoices(ctx, modelLM{m}, tokenizerEncoder{tok, &m.Config}, tf, opts)
	if err != nil {
		return ChoiceResult{}, err
	}
	res.Protocol.Tokenizer = describeTokenizer(m.TokenizerJSON)
	return res, nil
}

// Speed times m's forward pass: opts.Warmup untimed passes, then
// opts.Repeats timed ones on seeded random tokens; the median is reported.
func Speed(ctx context.Context, m *model.Model, opts SpeedOptions) (SpeedResult, error) {
	if err := checkFinite(m); err != nil {
		return SpeedResult{}, err
	}
	return measureSpeed(ctx, modelLM{m}, opts)
}

// CheckSpeed reports, before anything runs, what is wrong with opts for
// Speed on m: negative or too long sizes, or forward passes whose
// activations and logits would not fit in memory (model.CheckStateSize).
func CheckSpeed(m *model.Model, opts SpeedOptions) error {
	opts, err := opts.withDefaults(modelLM{m})
	if err != nil {
		return err
	}
	if err := model.CheckStateSize(&m.Config, opts.Batch, opts.SeqLen, false); err != nil {
		return fmt.Errorf("speed: %w", err)
	}
	return nil
}

// checkFinite refuses a model with NaN or ±Inf weights, naming the first
// such tensor: every API that takes a model checks it first (as Load does
// with CheckFinite), so that what such weights do to the logits is never
// blamed on the data.
func checkFinite(m *model.Model) error {
	if err := m.CheckFinite(); err != nil {
		return fmt.Errorf("the model's weights are not finite: %w", err)
	}
	return nil
}

// modelTokenizer parses m's tokenizer.json; errors name the directory m
// was loaded from.
func modelTokenizer(m *model.Model) (*tokenizer.Tokenizer, error) {
	return tokenizer.ForModel(m.TokenizerJSON, m.Source)
}
