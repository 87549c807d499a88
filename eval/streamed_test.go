package eval

import (
	"reflect"
	"testing"

	"lopper/internal/sharedtest"
	"lopper/model"
)

// A lazily opened model (model.Open: blocks pinned while they run, several
// concurrent passes) gives exactly the resident model's results: the same
// TextResult, ChoiceResult and SizeResult.
func TestStreamedEvalMatchesResident(t *testing.T) {
	tf, err := ReadHellaSwag(sharedtest.Path(t, "data", "hellaswag", "hellaswag_val_200.txt"))
	if err != nil {
		t.Fatal(err)
	}
	text := sharedtest.Path(t, "data", "shakespeare_eval.txt")
	for _, name := range sharedtest.Models {
		t.Run(name, func(t *testing.T) {
			dir := sharedtest.ModelDir(t, name)
			resident, err := model.Load(dir, model.LoadOptions{CheckFinite: true})
			if err != nil {
				t.Fatal(err)
			}
			lazy, err := model.Open(t.Context(), dir, model.LoadOptions{CheckFinite: true})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := lazy.Close(); err != nil {
					t.Error(err)
				}
			}()
			o := TextOptions{SeqLen: 64, Limit: 12, Batch: 2, Workers: 3}
			want, err := TextFile(t.Context(), resident, text, o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := TextFile(t.Context(), lazy, text, o)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("text: streamed %+v, resident %+v", got, want)
			}
			co := ChoiceOptions{Limit: 6}
			wantC, err := Choices(t.Context(), resident, tf, co)
			if err != nil {
				t.Fatal(err)
			}
			gotC, err := Choices(t.Context(), lazy, tf, co)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotC, wantC) {
				t.Errorf("choices: streamed %+v, resident %+v", gotC, wantC)
			}
			wantS, err := Size(resident, dir)
			if err != nil {
				t.Fatal(err)
			}
			gotS, err := Size(lazy, dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotS, wantS) {
				t.Errorf("size: streamed %+v, resident %+v", gotS, wantS)
			}
		})
	}
}

// The streamed estimate holds the weights outside the blocks and one
// block per pass instead of all the weights; the rest is the same.
func TestStreamedTextEstimate(t *testing.T) {
	c, err := model.LoadConfig(sharedtest.ModelDir(t, "tiny-llama"))
	if err != nil {
		t.Fatal(err)
	}
	o := TextOptions{SeqLen: 64, Limit: 4, Workers: 1}
	res, err := EstimateTextMemory(&c, o, 1000)
	if err != nil {
		t.Fatal(err)
	}
	str, err := EstimateStreamedTextMemory(&c, o, 1000)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := model.WeightBytes(&c)
	outer, blocks, err := model.StreamedWeightBytes(&c, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Total() - str.Total(); got != w-outer-blocks {
		t.Errorf("resident − streamed = %d, want weights %d − outer %d − 1 block %d", got, w, outer, blocks)
	}
	if blocks <= 0 || outer <= 0 || outer+blocks >= w {
		t.Errorf("outer %d + blocks %d of %d weights", outer, blocks, w)
	}
}
