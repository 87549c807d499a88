package eval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"lopper/internal/synth"
	"lopper/model"
)

// randomReviewBERT is a small BERT classifier over the review tokenizer
// with seeded random weights (large enough that its logits differ from
// example to example), labels negative/positive.
func randomReviewBERT(tb testing.TB, modelType string, seed uint64) *model.Model {
	tb.Helper()
	tok, err := synth.ReviewTokenizerJSON()
	if err != nil {
		tb.Fatal(err)
	}
	keys := `"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 24`
	if modelType == "distilbert" {
		keys = `"dim": 16, "n_layers": 2, "n_heads": 2, "hidden_dim": 24`
	}
	pad := ""
	if modelType == "roberta" {
		pad = `, "pad_token_id": 0, "type_vocab_size": 1`
	}
	cfg, err := model.ParseConfig([]byte(fmt.Sprintf(`{"model_type": %q, %s, "vocab_size": %d,
		"max_position_embeddings": 64, "id2label": {"0": "negative", "1": "positive"}%s}`,
		modelType, keys, synth.ReviewVocabSize(), pad)))
	if err != nil {
		tb.Fatal(err)
	}
	m, err := model.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range m.W {
		m.W[i] = float32(rng.NormFloat64() * 0.5)
	}
	m.TokenizerJSON = tok
	return m
}

// reviewsFile writes n generated reviews as a TSV task.
func reviewsFile(t *testing.T, n int) string {
	t.Helper()
	d, err := synth.GenerateReviews(synth.ReviewSpec{Seed: 5, TrainLines: 1, EvalLines: n})
	if err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, "dev.tsv", string(d.EvalTSV()))
}

// The model adapter gives every example the same logits, bit for bit,
// whatever the batch (so whatever the padding: padded keys are masked
// exactly) and the number of workers; predictions follow the logits and
// the protocol names the tokenizer.
func TestClassifyModelIndependentOfBatchAndWorkers(t *testing.T) {
	path := reviewsFile(t, 37)
	for _, mt := range []string{"bert", "roberta", "distilbert"} {
		t.Run(mt, func(t *testing.T) {
			m := randomReviewBERT(t, mt, 1)
			var ref ClassifyResult
			for i, c := range []struct{ batch, workers int }{{1, 1}, {2, 3}, {5, 1}, {8, 4}, {64, 2}} {
				res, err := ClassifyModel(context.Background(), m, path, ClassifyOptions{Batch: c.batch, Workers: c.workers, Details: true})
				if err != nil {
					t.Fatal(err)
				}
				if res.Protocol.Tokenizer == nil || res.Protocol.Tokenizer.Model != "WordPiece" || res.Protocol.PadID != 0 {
					t.Fatalf("protocol %+v", res.Protocol)
				}
				if i == 0 {
					ref = res
					if *ref.Correct == 0 || *ref.Correct == ref.Examples {
						t.Fatalf("the random model gets %d of %d right: too trivial to compare", *ref.Correct, ref.Examples)
					}
					continue
				}
				for j, e := range res.PerExample {
					r := ref.PerExample[j]
					if !slices.Equal(e.Logits, r.Logits) || !slices.Equal(e.Pred, r.Pred) {
						t.Fatalf("batch %d, %d workers: line %d logits %v pred %v; batch 1: %v %v", c.batch, c.workers, e.Line, e.Logits, e.Pred, r.Logits, r.Pred)
					}
				}
				if *res.Accuracy != *ref.Accuracy || res.Tokens != ref.Tokens {
					t.Errorf("batch %d: accuracy %g tokens %d; batch 1: %g %d", c.batch, *res.Accuracy, res.Tokens, *ref.Accuracy, ref.Tokens)
				}
			}
		})
	}
}

// The adapter's logits are the model's own on the unpadded example, and
// the labels, max length and pad id come from config.json.
func TestModelClassifierInfo(t *testing.T) {
	m := randomReviewBERT(t, "roberta", 2)
	clf, err := NewModelClassifier(m)
	if err != nil {
		t.Fatal(err)
	}
	info := clf.Info()
	if info.Problem != SingleLabel || !slices.Equal(info.Labels, []string{"negative", "positive"}) ||
		info.Label2ID["positive"] != 1 || info.MaxLength != 63 || info.PadID != 0 {
		t.Errorf("info %+v (RoBERTa with 64 positions and pad 0 takes 63 tokens)", info)
	}
	e, _, err := encodeExample(info.Tokenizer, Example{Text: "the plot was not dull"}, info.MaxLength)
	if err != nil {
		t.Fatal(err)
	}
	r, err := clf.NewRunner(1, len(e.IDs))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Classify(Batch{B: 1, T: len(e.IDs), IDs: e.IDs, TypeIDs: e.TypeIDs, Mask: e.AttentionMask})
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Classify(context.Background(), model.EncoderBatch{IDs: e.IDs, T: len(e.IDs)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("runner logits %v, model %v", got, want)
	}
}

// A decoder is not a classifier; a limit and a max length apply; an
// unknown label names its line.
func TestClassifyModelErrors(t *testing.T) {
	ctx := context.Background()
	dec, err := model.ParseConfig([]byte(`{"model_type":"llama","hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":1,"vocab_size":5}`))
	if err != nil {
		t.Fatal(err)
	}
	lm, err := model.New(dec)
	if err != nil {
		t.Fatal(err)
	}
	path := reviewsFile(t, 10)
	if _, err := ClassifyModel(ctx, lm, path, ClassifyOptions{}); err == nil || !strings.Contains(err.Error(), "not a sequence classifier") {
		t.Errorf("decoder: %v", err)
	}
	m := randomReviewBERT(t, "bert", 3)
	res, err := ClassifyModel(ctx, m, path, ClassifyOptions{Limit: 4, MaxLength: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Examples != 4 || res.Truncated == 0 || res.Protocol.MaxLength != 5 {
		t.Errorf("limit 4, max length 5: %d examples, %d truncated, protocol max %d", res.Examples, res.Truncated, res.Protocol.MaxLength)
	}
	bad := writeTemp(t, "bad.tsv", "sentence\tlabel\nthe film was good\tpositive\nthe plot was bad\tmeh\n")
	if _, err := ClassifyModel(ctx, m, bad, ClassifyOptions{}); err == nil || !strings.Contains(err.Error(), "bad.tsv:3") {
		t.Errorf("unknown label: %v", err)
	}
}

// EncodeLabelledFile encodes as Classify does: the same tokens in all,
// truncation to the max length, labels through label2id.
func TestEncodeLabelledFile(t *testing.T) {
	m := randomReviewBERT(t, "bert", 4)
	path := reviewsFile(t, 20)
	res, err := ClassifyModel(context.Background(), m, path, ClassifyOptions{MaxLength: 9})
	if err != nil {
		t.Fatal(err)
	}
	exs, err := EncodeLabelledFile(m, path, 9, 0)
	if err != nil {
		t.Fatal(err)
	}
	tokens := 0
	for _, e := range exs {
		tokens += len(e.IDs)
		if len(e.IDs) > 9 || len(e.TypeIDs) != len(e.IDs) || e.IDs[0] != 2 || e.IDs[len(e.IDs)-1] != 3 {
			t.Errorf("line %d: %v %v", e.Line, e.IDs, e.TypeIDs)
		}
	}
	if len(exs) != 20 || tokens != res.Tokens {
		t.Errorf("%d examples, %d tokens; Classify: %d tokens", len(exs), tokens, res.Tokens)
	}
	if _, err := EncodeLabelledFile(m, path, 65, 0); err == nil {
		t.Error("max length beyond the positions accepted")
	}
	if exs, err := EncodeLabelledFile(m, path, 0, 3); err != nil || len(exs) != 3 {
		t.Errorf("limit 3: %d examples, %v", len(exs), err)
	}
}
