package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/internal/sharedtest"
)

func runEvalCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runMain(context.Background(), append([]string{"eval"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestEvalCLIText(t *testing.T) {
	shared := sharedtest.Dir(t)
	code, out, stderr := runEvalCLI("--model", filepath.Join(shared, "models", "tiny-llama"),
		"--text", filepath.Join(shared, "data", "shakespeare_eval.txt"), "--limit", "20", "--batch", "4", "--size", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr is not a terminal, yet got %q", stderr)
	}
	var got struct {
		Model      string   `json:"model"`
		Perplexity float64  `json:"perplexity"`
		Accuracy   *float64 `json:"accuracy"`
		Tokens     int      `json:"tokens"`
		Protocol   struct {
			Kind    string `json:"kind"`
			SeqLen  int    `json:"seq_len"`
			Stride  int    `json:"stride"`
			Windows int    `json:"windows"`
		} `json:"protocol"`
		Size *struct {
			Params      int   `json:"params"`
			BytesOnDisk int64 `json:"bytes_on_disk"`
		} `json:"size"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if got.Perplexity < 1 || got.Accuracy == nil || got.Tokens != 20*128 || got.Protocol.Kind != "text" ||
		got.Protocol.SeqLen != 128 || got.Protocol.Stride != 128 || got.Protocol.Windows != 20 ||
		got.Size == nil || got.Size.Params != 115008 || got.Size.BytesOnDisk == 0 {
		t.Errorf("output %s", out)
	}
}

func TestEvalCLIChoices(t *testing.T) {
	shared := sharedtest.Dir(t)
	path := filepath.Join(t.TempDir(), "tasks.jsonl")
	tasks := `{"context": "ROMEO: I", "choices": ["will", "xqz"], "label": 0}
{"context": "JULIET: O", "choices": ["Romeo", "zzzzz"], "label": 0}
`
	if err := os.WriteFile(path, []byte(tasks), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runEvalCLI("--model", filepath.Join(shared, "models", "tiny-gpt2"), "--choices", path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"acc ", "acc_norm ", "of 2 tasks", "jsonl, 2 of 2 tasks"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestEvalCLIErrors(t *testing.T) {
	shared := sharedtest.Dir(t)
	tiny := filepath.Join(shared, "models", "tiny-llama")
	text := filepath.Join(shared, "data", "shakespeare_eval.txt")
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(bad, []byte(`{"context": "a", "choices": ["b"], "label": 0}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--text", text}, exitUsage, "--model is required"},
		{[]string{"--model", tiny}, exitUsage, "nothing to measure"},
		{[]string{"--model", tiny, "--text", text, "--hellaswag", text}, exitUsage, "give one of"},
		{[]string{"--model", tiny, "--text", text, "--seed", "1"}, exitUsage, "--seed applies to"},
		{[]string{"--model", tiny, "--choices", bad, "--seed", "1"}, exitUsage, "give --limit too"},
		{[]string{"--model", tiny, "--text", text, "--limit", "-1"}, exitUsage, "must not be negative"},
		{[]string{"--model", tiny, "--text", text, "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"--model", tiny, "--text", text, "--seq-len", "129"}, exitFailed, "seq_len 129 exceeds the model's 128 positions"},
		{[]string{"--model", tiny, "--choices", bad}, exitFailed, "bad.jsonl:1: a task needs at least 2 choices, got 1"},
		{[]string{"--model", filepath.Join(shared, "data"), "--text", text}, exitFailed, "lopper eval:"},
	} {
		code, _, stderr := runEvalCLI(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// lopper eval --classify on the encoder quickstart reproduces the dev
// accuracy its lopper.json records, with the JSON fields; --limit
// and --max-length apply; the table names each class.
func TestEvalCLIClassify(t *testing.T) {
	dir, dev := repoPath("quickstart", "bert", "model"), repoPath("quickstart", "bert", "dev.tsv")
	meta, err := os.ReadFile(filepath.Join(dir, "lopper.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Metadata struct {
			Result struct {
				Accuracy float64 `json:"accuracy"`
			} `json:"result"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(meta, &rec); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runEvalCLI("--model", dir, "--classify", dev, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Model    string   `json:"model"`
		Accuracy *float64 `json:"accuracy"`
		MacroF1  *float64 `json:"macro_f1"`
		MCC      *float64 `json:"mcc"`
		Examples int      `json:"examples"`
		PerClass []struct {
			Label   string `json:"label"`
			Support int    `json:"support"`
		} `json:"per_class"`
		Protocol struct {
			Kind      string          `json:"kind"`
			MaxLength int             `json:"max_length"`
			Tokenizer json.RawMessage `json:"tokenizer"`
		} `json:"protocol"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if got.Accuracy == nil || *got.Accuracy != rec.Metadata.Result.Accuracy || got.MacroF1 == nil || got.MCC == nil ||
		got.Examples != 500 || len(got.PerClass) != 2 || got.PerClass[0].Label != "negative" ||
		got.PerClass[0].Support+got.PerClass[1].Support != 500 || got.Protocol.Kind != "classify" ||
		got.Protocol.MaxLength != 64 || got.Protocol.Tokenizer == nil {
		t.Errorf("lopper.json says accuracy %g; output %s", rec.Metadata.Result.Accuracy, out)
	}
	code, out, stderr = runEvalCLI("--model", dir, "--classify", dev, "--limit", "20", "--max-length", "6", "--batch", "3")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"accuracy ", "of 20 examples", "class negative", "class positive", "max length 6 (", "batch 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// --classify's usage errors, and a language model given a labelled task.
func TestEvalCLIClassifyErrors(t *testing.T) {
	dev := repoPath("quickstart", "bert", "dev.tsv")
	bert := repoPath("quickstart", "bert", "model")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--model", bert, "--text", dev, "--classify", dev}, exitUsage, "give one of --text, --hellaswag, --choices and --classify"},
		{[]string{"--model", bert, "--text", dev, "--max-length", "8"}, exitUsage, "--max-length applies to --classify"},
		{[]string{"--model", bert, "--classify", dev, "--seq-len", "8"}, exitUsage, "--classify truncates to --max-length"},
		{[]string{"--model", bert, "--classify", dev, "--max-length", "-1"}, exitUsage, "must not be negative"},
		{[]string{"--model", bert, "--classify", dev, "--max-length", "65"}, exitFailed, "max length 65: want 1…64"},
		{[]string{"--model", repoPath("quickstart", "model"), "--classify", dev}, exitFailed, "not a sequence classifier"},
	} {
		code, _, stderr := runEvalCLI(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
