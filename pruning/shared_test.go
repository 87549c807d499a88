package pruning

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"lopper/model"
)

// sharedDir returns the repository's ../shared directory, skipping the test
// when it is absent (the product never needs it).
func sharedDir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Skip("cannot locate the source file")
	}
	// pruning/ → repository root → ../shared
	dir := filepath.Join(filepath.Dir(file), "..", "..", "shared")
	if _, err := os.Stat(filepath.Join(dir, "models")); err != nil {
		t.Skipf("shared test data not found at %s", dir)
	}
	return dir
}

// refResult is one entry of a shared model's reference.json.
type refResult struct {
	PPL      float64 `json:"ppl"`
	Tokens   int     `json:"tokens"`
	Sparsity float64 `json:"sparsity"`
}

// sharedModel is a shared tiny model with its references and calibration
// windows.
type sharedModel struct {
	name  string
	m     *model.Model
	refs  map[string]json.RawMessage
	calib *Calibration
	eval  []int32
}

func loadShared(t testing.TB, name string) *sharedModel {
	t.Helper()
	shared := sharedDir(t)
	dir := filepath.Join(shared, "models", name)
	m, err := model.Load(dir, model.LoadOptions{CheckFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	s := &sharedModel{name: name, m: m}
	b, err := os.ReadFile(filepath.Join(dir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s.refs); err != nil {
		t.Fatal(err)
	}
	calib, err := os.ReadFile(filepath.Join(dir, "calib.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// Byte-level tokenizer: token id = byte (shared/README.md).
	if s.calib, err = Windows(bytesToTokens(calib), WindowOptions{Samples: 16, SeqLen: 128}); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(shared, "data", "shakespeare_eval.txt"))
	if err != nil {
		t.Fatal(err)
	}
	s.eval = bytesToTokens(text)
	return s
}

func (s *sharedModel) ref(t testing.TB, key string) refResult {
	t.Helper()
	raw, ok := s.refs[key]
	if !ok {
		t.Fatalf("%s: reference.json has no %q", s.name, key)
	}
	var r refResult
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func bytesToTokens(b []byte) []int32 {
	out := make([]int32, len(b))
	for i, c := range b {
		out[i] = int32(c)
	}
	return out
}

// perplexity runs the shared protocol: window w has inputs
// tokens[128w : 128w+128] and targets one further; every prediction is
// scored; perplexity is exp(total NLL / tokens). It returns the perplexity
// and the number of tokens scored.
func perplexity(t testing.TB, m *model.Model, tokens []int32) (float64, int) {
	t.Helper()
	const T, B = 128, 32
	windows := (len(tokens) - 1) / T
	st, err := model.NewInferenceState(m, B, T)
	if err != nil {
		t.Fatal(err)
	}
	V := m.Config.Vocab
	var nll float64
	for w0 := 0; w0 < windows; w0 += B {
		b := min(B, windows-w0)
		logits, err := st.Forward(tokens[w0*T : (w0+b)*T])
		if err != nil {
			t.Fatal(err)
		}
		targets := tokens[w0*T+1 : (w0+b)*T+1]
		loss, err := model.CrossEntropy(logits, targets, V, nil)
		if err != nil {
			t.Fatal(err)
		}
		nll += loss * float64(len(targets))
	}
	n := windows * T
	return math.Exp(nll / float64(n)), n
}

// targetSparsity is the fraction of zeros over model.Prunable tensors.
func targetSparsity(m *model.Model) float64 {
	s, _ := m.Sparsity(model.Prunable)
	return s
}
