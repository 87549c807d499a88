package stages

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// writeScript writes an executable shell script.
func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// recipes/lm-eval.yaml with a stand-in for lm_eval on PATH, which checks
// that it is given a model directory and writes results the way lm_eval
// does (an accuracy made from the model file's checksum, so that the dense
// and the pruned model score differently): the adapter script turns them
// into metrics, and the pruned evaluation gets acc_drop against the dense
// one.
func TestLMEvalRecipeWithStandIn(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("the adapter script needs python3")
	}
	bin := t.TempDir()
	writeScript(t, filepath.Join(bin, "lm_eval"), `
while [ $# -gt 0 ]; do
  case "$1" in
    --model_args) margs=$2; shift ;;
    --output_path) out=$2; shift ;;
  esac
  shift
done
dir=${margs#pretrained=}; dir=${dir%%,*}
[ -f "$dir/config.json" ] && [ -f "$dir/model.safetensors" ] || { echo "no model in $dir" >&2; exit 1; }
n=$(cksum < "$dir/model.safetensors" | cut -c1-2)
mkdir -p "$out/fake__model"
cat > "$out/fake__model/results_2024-01-01T00-00-00.json" <<EOF
{"results": {"hellaswag": {"alias": "hellaswag", "acc,none": 0.$n, "acc_stderr,none": 0.01, "acc_norm,none": 0.$n, "acc_norm_stderr,none": "N/A"}}}
EOF
`)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	r := loadRecipe(t, filepath.Join(repoRoot(t), "recipes", "lm-eval.yaml"), "device=cpu", "max_acc_drop=1")
	rec := run(t, r)
	dense, pruned := stage(t, rec, "dense_eval").Metrics, stage(t, rec, "pruned_eval").Metrics
	for _, m := range []string{"accuracy", "hellaswag_acc", "hellaswag_acc_norm", "hellaswag_acc_stderr", "tasks"} {
		if _, ok := pruned[m]; !ok {
			t.Errorf("pruned_eval has no %s: %v", m, pruned)
		}
	}
	if _, ok := pruned["hellaswag_acc_norm_stderr"]; ok {
		t.Errorf("an N/A stderr became a metric")
	}
	if dense["accuracy"] == pruned["accuracy"] {
		t.Errorf("the stand-in gave both models accuracy %g", dense["accuracy"])
	}
	if got, want := pruned["acc_drop"], dense["accuracy"]-pruned["accuracy"]; math.Abs(got-want) > 1e-12 {
		t.Errorf("acc_drop %g, want %g", got, want)
	}
}

// recipes/finetune-exec.yaml with a stand-in training script (a shell
// script that copies the model and reports a loss): the fine-tuned model
// comes back, verify finds the pruned weights still zero, and the
// evaluation of the fine-tuned model is the pruned model's.
func TestFinetuneRecipeWithStandIn(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "train.sh")
	writeScript(t, script, `
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift ;;
    --out) out=$2; shift ;;
    --metrics) metrics=$2; shift ;;
  esac
  shift
done
cp -R "$model"/. "$out" && echo '{"train_loss": 1.25}' > "$metrics"
`)
	r := loadRecipe(t, filepath.Join(repoRoot(t), "recipes", "finetune-exec.yaml"), "python=sh", "script="+script, "seq_len=32")
	rec := run(t, r)
	ft := stage(t, rec, "finetune")
	if ft.Metrics["train_loss"] != 1.25 {
		t.Errorf("finetune metrics %v", ft.Metrics)
	}
	if !slices.Equal(modelOf(t, ft).Model.W, modelOf(t, stage(t, rec, "prune")).Model.W) {
		t.Errorf("the fine-tuned model is not the stand-in's copy of the pruned one")
	}
	if v := stage(t, rec, "masks_held").Metrics["violations"]; v != 0 {
		t.Errorf("verify found %g violations", v)
	}
	if got := stage(t, rec, "finetuned").Metrics["sparsity"]; got < 0.3 {
		t.Errorf("the fine-tuned model's sparsity is %g", got)
	}
}
