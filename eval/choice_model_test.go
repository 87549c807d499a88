package eval

import (
	"context"
	"math"
	"runtime"
	"slices"
	"testing"

	"lopper/internal/sharedtest"
)

// TestHellaSwagSharedModels is the smoke test: the 200 shared HellaSwag
// tasks on the byte-level Shakespeare models (near chance is expected).
func TestHellaSwagSharedModels(t *testing.T) {
	tf, err := ReadHellaSwag(sharedtest.Path(t, "data", "hellaswag", "hellaswag_val_200.txt"))
	if err != nil {
		t.Fatal(err)
	}
	opts := ChoiceOptions{Details: true}
	if testing.Short() {
		opts.Limit = 40
	}
	for _, name := range sharedtest.Models {
		m, _ := loadShared(t, name)
		res, err := Choices(context.Background(), m, tf, opts)
		if err != nil {
			t.Fatal(err)
		}
		want := len(tf.Tasks)
		if opts.Limit > 0 {
			want = opts.Limit
		}
		if res.Tasks != want || len(res.PerTask) != want || res.Acc < 0 || res.Acc > 1 || res.AccNorm < 0 || res.AccNorm > 1 {
			t.Fatalf("%s: %d tasks, acc %v acc_norm %v", name, res.Tasks, res.Acc, res.AccNorm)
		}
		// Byte tokens: every choice scores 1 + len(ending) tokens; contexts
		// up to 246 bytes exceed the 128 positions, so some are cut.
		tokens := 0
		for k, ts := range res.PerTask {
			for i, n := range ts.Tokens {
				if n != 1+len(tf.Tasks[k].Choices[i]) {
					t.Fatalf("%s: task %d choice %d scored %d tokens, want %d", name, k, i, n, 1+len(tf.Tasks[k].Choices[i]))
				}
				tokens += n
				if ll := ts.LogLik[i]; !(ll < 0) {
					t.Fatalf("%s: task %d choice %d log-likelihood %v", name, k, i, ll)
				}
			}
		}
		if res.Tokens != tokens || res.Truncated == 0 {
			t.Errorf("%s: tokens %d (sum %d), truncated %d", name, res.Tokens, tokens, res.Truncated)
		}
		t.Logf("%s: HellaSwag %d tasks: acc %.3f acc_norm %.3f, %d choices truncated", name, res.Tasks, res.Acc, res.AccNorm, res.Truncated)
	}
}

// TestChoicesOnModelMatchBruteForce recomputes each choice's log-likelihood
// with one unpadded, unbatched forward pass per choice and checks that
// batching and padding changed nothing, and that one and two threads give
// identical bits.
func TestChoicesOnModelMatchBruteForce(t *testing.T) {
	m, _ := loadShared(t, "tiny-gpt2")
	tf, err := ReadHellaSwag(sharedtest.Path(t, "data", "hellaswag", "hellaswag_val_200.txt"))
	if err != nil {
		t.Fatal(err)
	}
	opts := ChoiceOptions{Limit: 6, Sample: true, Seed: 11, Details: true}
	var runs [2]ChoiceResult
	for i, procs := range []int{1, 2} {
		prev := runtime.GOMAXPROCS(procs)
		runs[i], err = Choices(context.Background(), m, tf, opts)
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
	}
	for k := range runs[0].PerTask {
		for i, ll := range runs[0].PerTask[k].LogLik {
			if math.Float64bits(ll) != math.Float64bits(runs[1].PerTask[k].LogLik[i]) {
				t.Fatalf("task %d choice %d: GOMAXPROCS 1 gives %v, 2 gives %v", k, i, ll, runs[1].PerTask[k].LogLik[i])
			}
		}
	}
	sel := selectTasks(len(tf.Tasks), opts.Limit, true, opts.Seed)
	lm := modelLM{m}
	for k, ts := range runs[0].PerTask {
		task := tf.Tasks[sel[k]]
		if ts.Line != task.Line {
			t.Fatalf("task %d is line %d, want %d", k, ts.Line, task.Line)
		}
		for i, c := range task.Choices {
			if 1+len(c) > 128 {
				continue // split over several windows: see TestSegmentRequestLongContinuation
			}
			// Byte tokens: context bytes, then " " + choice bytes; the last
			// 129 bytes at most, as the harness cuts them.
			seq := []byte(task.Context + " " + c)
			seq = seq[max(0, len(seq)-129):]
			n := len(seq) - 1
			r, err := lm.newRunner(1, n)
			if err != nil {
				t.Fatal(err)
			}
			in := make([]int32, n)
			for j := range in {
				in[j] = int32(seq[j])
			}
			logits, err := r.forward(in, 1, n)
			if err != nil {
				t.Fatal(err)
			}
			var want float64
			for j := n - (1 + len(c)); j < n; j++ {
				row := logits[j*256 : (j+1)*256]
				var z float64
				for _, x := range row {
					z += math.Exp(float64(x))
				}
				want += float64(row[seq[j+1]]) - math.Log(z)
			}
			if got := ts.LogLik[i]; math.Abs(got-want) > 1e-4*math.Abs(want) {
				t.Errorf("task line %d choice %d: %v, brute force %v", task.Line, i, got, want)
			}
		}
	}
}

// BenchmarkChoicesTinyLlama measures multiple choice on the first 40
// shared HellaSwag tasks (160 choices): as they are (most contexts fill
// the 128 positions), and with contexts cut to their last 16 bytes, so
// that sequences are shorter than the model's positions.
func BenchmarkChoicesTinyLlama(b *testing.B) {
	m, _ := loadShared(b, "tiny-llama")
	tf, err := ReadHellaSwag(sharedtest.Path(b, "data", "hellaswag", "hellaswag_val_200.txt"))
	if err != nil {
		b.Fatal(err)
	}
	tf.Tasks = tf.Tasks[:40]
	short := &TaskFile{Format: tf.Format, Path: tf.Path, Tasks: slices.Clone(tf.Tasks)}
	for i, t := range short.Tasks {
		short.Tasks[i].Context = t.Context[max(0, len(t.Context)-16):]
	}
	for _, c := range []struct {
		name string
		tf   *TaskFile
	}{{"full", tf}, {"short-context", short}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Choices(context.Background(), m, c.tf, ChoiceOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(c.tf.Tasks)*b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}
