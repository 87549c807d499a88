package train

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"lopper/model"
)

// tokens returns n random tokens below vocab with a learnable pattern
// (every third token repeats the one before it).
func patternTokens(n, vocab int, seed uint64) []int32 {
	rng := rand.New(rand.NewPCG(seed, 9))
	out := make([]int32, n)
	for i := range out {
		if i%3 == 2 {
			out[i] = out[i-1]
		} else {
			out[i] = int32(rng.IntN(vocab))
		}
	}
	return out
}

func student(t *testing.T) *model.Model {
	t.Helper()
	m := loadModel(t, filepath.Join("testdata", "llama-distill", "student"))
	MaskZeros(m)
	return m
}

// Same seed → bit-identical weights for GOMAXPROCS 1, 2 and 3; another
// seed gives other weights.
func TestTrainDeterministic(t *testing.T) {
	data := Stream{Tokens: patternTokens(4000, 40, 1)}
	teacher := loadModel(t, filepath.Join("testdata", "llama-distill", "teacher"))
	run := func(procs int, seed uint64) ([]float32, *Result) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		m := student(t)
		res, err := Train(context.Background(), m, data, Config{
			Steps: 8, BatchSize: 8, SeqLen: 16, LR: 3e-3, WarmupSteps: 2, GradClip: 1, WeightDecay: 0.01,
			Seed: seed, Teacher: teacher, Distill: Distill{Temperature: 2, Alpha: 0.5},
		})
		if err != nil {
			t.Fatal(err)
		}
		return m.W, res
	}
	w1, r1 := run(1, 7)
	for _, procs := range []int{2, 3} {
		w, r := run(procs, 7)
		if !slices.Equal(w, w1) {
			t.Errorf("GOMAXPROCS %d: weights differ from GOMAXPROCS 1", procs)
		}
		for i := range r.Steps {
			if r.Steps[i].Loss != r1.Steps[i].Loss || r.Steps[i].GradNorm != r1.Steps[i].GradNorm {
				t.Errorf("GOMAXPROCS %d step %d: loss %v grad norm %v, with 1: %v %v", procs, i+1,
					r.Steps[i].Loss, r.Steps[i].GradNorm, r1.Steps[i].Loss, r1.Steps[i].GradNorm)
			}
		}
	}
	if w, _ := run(2, 8); slices.Equal(w, w1) {
		t.Error("seeds 7 and 8 gave the same weights")
	}
}

// Training on a learnable stream lowers the loss, holds the mask, counts
// tokens, reports every step and computes the eval loss at its steps.
func TestTrainLowersLossAndHoldsMask(t *testing.T) {
	m := student(t)
	before := slices.Clone(m.W)
	data := Stream{Tokens: patternTokens(6000, 40, 2)}
	var seen []int
	res, err := Train(context.Background(), m, data, Config{
		Steps: 40, BatchSize: 4, SeqLen: 16, LR: 1e-2, WarmupSteps: 4, GradClip: 1, DebugMasks: true,
		EvalEvery: 10, Eval: Stream{Tokens: patternTokens(2000, 40, 3)},
		OnStep: func(s StepStats) { seen = append(seen, s.Step) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !(res.FinalLoss < 0.9*res.InitialLoss) {
		t.Errorf("loss went from %.4f to %.4f", res.InitialLoss, res.FinalLoss)
	}
	if res.Tokens != 40*4*16 || len(seen) != 40 || seen[39] != 40 {
		t.Errorf("tokens %d, steps reported %d", res.Tokens, len(seen))
	}
	evals := 0
	for _, s := range res.Steps {
		if s.EvalLoss != nil {
			evals++
			if s.Step%10 != 0 {
				t.Errorf("eval at step %d", s.Step)
			}
		}
	}
	if evals != 4 || !(res.EvalLoss < res.Steps[0].LMLoss) {
		t.Errorf("%d evals, last eval loss %g, first train loss %g", evals, res.EvalLoss, res.Steps[0].LMLoss)
	}
	changed := 0
	for i := range m.W {
		if !m.Mask.Get(i) && m.W[i] != 0 {
			t.Fatalf("pruned weight %d = %g", i, m.W[i])
		}
		if m.W[i] != before[i] {
			changed++
		}
	}
	if changed == 0 {
		t.Error("no weight changed")
	}
}

// A stream window's targets are its inputs shifted by one, and the
// windows depend on the seed only.
func TestStream(t *testing.T) {
	s := Stream{Tokens: patternTokens(100, 40, 4)}
	in, tg := make([]int32, 30), make([]int32, 30)
	if err := s.Batch(newRNG(1), in, tg, 10); err != nil {
		t.Fatal(err)
	}
	for w := range 3 {
		found := false
		for k := 0; k+11 <= len(s.Tokens); k++ {
			if slices.Equal(s.Tokens[k:k+10], in[w*10:w*10+10]) && slices.Equal(s.Tokens[k+1:k+11], tg[w*10:w*10+10]) {
				found = true
			}
		}
		if !found {
			t.Errorf("window %d is not a window of the stream with its targets shifted by one", w)
		}
	}
	in2, tg2 := make([]int32, 30), make([]int32, 30)
	if err := s.Batch(newRNG(1), in2, tg2, 10); err != nil || !slices.Equal(in, in2) || !slices.Equal(tg, tg2) {
		t.Errorf("same seed, other windows (err %v)", err)
	}
	if err := (Stream{Tokens: make([]int32, 10)}).Batch(newRNG(1), in, tg, 10); err == nil || !strings.Contains(err.Error(), "at least 11") {
		t.Errorf("short stream: %v", err)
	}
}

// Bad configs are refused with every problem named; a model whose masks
// do not hold is refused naming the tensor; cancellation stops training.
func TestTrainRefuses(t *testing.T) {
	m := student(t)
	data := Stream{Tokens: patternTokens(1000, 40, 5)}
	_, err := Train(context.Background(), m, data, Config{Steps: 0, SeqLen: 99, LR: -1, Schedule: "cosin"})
	for _, want := range []string{"steps must be at least 1", "exceeds the model's 16 positions", "learning rate", `schedule "cosin"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
	bad := m.Clone()
	for i, k := range bad.Mask.Bytes() {
		if k == 0 {
			bad.W[i] = 0.5
			break
		}
	}
	if _, err := Train(context.Background(), bad, data, Config{Steps: 1, SeqLen: 8, LR: 1e-3}); err == nil || !strings.Contains(err.Error(), `tensor "model.layers.0.`) {
		t.Errorf("violated mask: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, m, data, Config{Steps: 1, SeqLen: 8, LR: 1e-3}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	other := loadModel(t, filepath.Join("testdata", "gpt2-linear", "student"))
	other.Config.Vocab = 41
	if _, err := Train(context.Background(), m, data, Config{Steps: 1, SeqLen: 8, LR: 1e-3, Teacher: other}); err == nil || !strings.Contains(err.Error(), "teacher vocabulary 41") {
		t.Errorf("teacher with another vocabulary: %v", err)
	}
}

// A pruned model without a mask (as loaded from disk) keeps its zeros
// through training once MaskZeros has given it a mask of them; a dense
// model gets no mask.
func TestMaskZerosHoldsLoadedZeros(t *testing.T) {
	m := loadModel(t, filepath.Join("testdata", "llama-distill", "student"))
	zeros := MaskZeros(m)
	if zeros == 0 || m.Mask == nil {
		t.Fatal("the golden student has pruned (zero) weights")
	}
	before := slices.Clone(m.W)
	if _, err := Train(context.Background(), m, Stream{Tokens: patternTokens(1000, 40, 6)}, Config{Steps: 5, SeqLen: 8, BatchSize: 2, LR: 1e-2}); err != nil {
		t.Fatal(err)
	}
	for i, v := range before {
		if v == 0 && !m.Mask.Get(i) && m.W[i] != 0 {
			t.Fatalf("zero weight %d became %g", i, m.W[i])
		}
	}
	dense := loadModel(t, filepath.Join("testdata", "llama-distill", "teacher"))
	if n := MaskZeros(dense); n != 0 || dense.Mask != nil {
		t.Errorf("dense model: %d zeros masked", n)
	}
}
