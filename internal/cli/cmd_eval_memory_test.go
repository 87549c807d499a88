package cli

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"lopper/eval"
	"lopper/internal/sharedtest"
	"lopper/model"
)

// lopper eval --speed with a batch whose activations cannot fit in memory
// is a usage error that says how much it needs, found before anything
// runs, not Go's "out of memory".
func TestEvalCLIBatchTooLarge(t *testing.T) {
	dir := sharedtest.ModelDir(t, "tiny-llama")
	code, _, stderr := runEvalCLI("--model", dir, "--speed", "--batch", "100000000", "--text", sharedtest.Path(t, "data", "shakespeare_eval.txt"))
	if code != exitUsage || !strings.Contains(stderr, "batch 100000000 × sequence 128 needs") || !strings.Contains(stderr, "lower --batch or --seq-len") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// --max-memory reads sizes with binary and decimal units, multiples of
// the size on disk and auto, and refuses anything else.
func TestParseMaxMemory(t *testing.T) {
	for _, c := range []struct {
		in   string
		want maxMemory
	}{
		{"auto", maxMemory{}}, {"AUTO", maxMemory{}},
		{"6GiB", maxMemory{bytes: 6 << 30}}, {"512MiB", maxMemory{bytes: 512 << 20}}, {"1.5G", maxMemory{bytes: 3 << 29}},
		{"8GB", maxMemory{bytes: 8e9}}, {"1000", maxMemory{bytes: 1000}}, {"64 kb", maxMemory{bytes: 64000}},
		{"1.5x", maxMemory{times: 1.5}}, {"2X", maxMemory{times: 2}},
	} {
		got, err := parseMaxMemory(c.in)
		if err != nil || got != c.want {
			t.Errorf("parseMaxMemory(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "x", "0", "-1GiB", "0x", "1.5y", "GiB", "NaNx", "1e30GiB", "lots"} {
		if got, err := parseMaxMemory(in); err == nil {
			t.Errorf("parseMaxMemory(%q) = %+v, want an error", in, got)
		}
	}
}

// With a budget that fits the streamed estimate but not the resident
// one, lopper eval streams and prints the same numbers as resident; with
// one that fits neither it fails before any work, stating both estimates;
// encoder classifiers are not streamed.
func TestEvalCLIStreamed(t *testing.T) {
	dir := sharedtest.ModelDir(t, "tiny-llama")
	text := sharedtest.Path(t, "data", "shakespeare_eval.txt")
	c, err := model.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := evalFlags{text: text, seqLen: 64, limit: 2, batch: 2} // one pass: one block of two pinned
	resident, err := withRuntime(&c, f.evalMemory(false))
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := withRuntime(&c, f.evalMemory(true))
	if err != nil {
		t.Fatal(err)
	}
	if streamed.Total() >= resident.Total() {
		t.Fatalf("streamed estimate %v is not below resident %v", streamed, resident)
	}
	run := func(budget string) map[string]any {
		t.Helper()
		code, out, stderr := runEvalCLI("--model", dir, "--text", text, "--seq-len", "64", "--limit", "2", "--batch", "2",
			"--size", "--json", "--max-memory", budget)
		if code != exitOK {
			t.Fatalf("--max-memory %s: exit %d: %s", budget, code, stderr)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	res, str := run(strconv.FormatInt(resident.Total(), 10)), run(strconv.FormatInt(streamed.Total(), 10))
	if res["memory_mode"] != "resident" || str["memory_mode"] != "streamed" {
		t.Errorf("memory_mode %v and %v, want resident and streamed", res["memory_mode"], str["memory_mode"])
	}
	delete(res, "memory_mode")
	delete(str, "memory_mode")
	if !reflect.DeepEqual(res, str) {
		t.Errorf("streamed output differs:\n%v\n%v", str, res)
	}

	code, out, stderr := runEvalCLI("--model", dir, "--text", text, "--seq-len", "64", "--limit", "2", "--batch", "2",
		"--max-memory", strconv.FormatInt(streamed.Total(), 10))
	if code != exitOK || !strings.Contains(out, "memory      streamed, estimate "+model.FormatBytes(streamed.Total())) {
		t.Errorf("text output: exit %d, %s%s", code, out, stderr)
	}
	code, _, stderr = runEvalCLI("--model", dir, "--text", text, "--seq-len", "64", "--max-memory", "1MiB")
	if code != exitFailed || !strings.Contains(stderr, "of memory resident or") || !strings.Contains(stderr, "streamed, more than the budget of 1.0 MiB") {
		t.Errorf("a budget too small: exit %d, %s", code, stderr)
	}
	// A multiple of the size on disk bounds the weights only.
	disk, err := eval.DirBytes(dir)
	if err != nil {
		t.Fatal(err)
	}
	factor := strconv.FormatFloat(float64(resident.Weights()+streamed.Weights())/2/float64(disk), 'g', -1, 64) + "x"
	if str := run(factor); str["memory_mode"] != "streamed" {
		t.Errorf("--max-memory %s: %v", factor, str["memory_mode"])
	}
	code, _, stderr = runEvalCLI("--model", dir, "--text", text, "--seq-len", "64", "--max-memory", "0.001x")
	if code != exitFailed || !strings.Contains(stderr, "of weights resident or") {
		t.Errorf("a factor too small: exit %d, %s", code, stderr)
	}
	code, _, stderr = runEvalCLI("--model", repoPath("quickstart", "bert", "model"), "--classify", repoPath("quickstart", "bert", "dev.tsv"), "--max-memory", "1MiB")
	if code != exitFailed || !strings.Contains(stderr, "encoder classifiers are evaluated resident only") {
		t.Errorf("an encoder: exit %d, %s", code, stderr)
	}
	code, _, stderr = runEvalCLI("--model", dir, "--text", text, "--max-memory", "lots")
	if code != exitUsage || !strings.Contains(stderr, `--max-memory "lots"`) {
		t.Errorf("a bad --max-memory: exit %d, %s", code, stderr)
	}
}
