package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"lopper/eval"
	"lopper/model"
)

// The memory modes of lopper eval.
const (
	modeResident = "resident" // model.Load: every weight in memory
	modeStreamed = "streamed" // model.Open: blocks pinned while they run
)

// maxMemory is --max-memory: a number of bytes, a multiple of the
// checkpoint's bytes on disk, or (both zero) auto, the memory available.
// A number of bytes or auto bounds the whole estimate; a multiple bounds
// the weights an evaluation holds, its working set (forward passes,
// tokens, the program) coming on top, bounded by --batch and --seq-len,
// as issue 13 states its goal.
type maxMemory struct {
	bytes int64
	times float64
}

// byteUnits are the units --max-memory accepts, longest first.
var byteUnits = []struct {
	suffix string
	n      float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40}, {"b", 1},
}

// parseMaxMemory reads --max-memory: "auto", SIZE ("6GiB", "512MiB",
// "8GB", "1073741824") or FACTOR "x" ("1.5x", times the bytes on disk).
func parseMaxMemory(s string) (maxMemory, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "auto" {
		return maxMemory{}, nil
	}
	bad := fmt.Errorf("--max-memory %q: want auto, a size such as 6GiB or 512MiB, or a multiple of the checkpoint's size on disk such as 1.5x", s)
	if num, ok := strings.CutSuffix(t, "x"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || !(f > 0) || f > 1e6 {
			return maxMemory{}, bad
		}
		return maxMemory{times: f}, nil
	}
	n, ok := parseSize(t)
	if !ok {
		return maxMemory{}, bad
	}
	return maxMemory{bytes: n}, nil
}

// parseSize reads a positive SIZE: "6GiB", "512MiB", "8GB", "1073741824"
// (lower or upper case).
func parseSize(s string) (int64, bool) {
	t := strings.ToLower(strings.TrimSpace(s))
	unit := 1.0
	for _, u := range byteUnits {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			t, unit = strings.TrimSpace(num), u.n
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || !(f > 0) || f*unit >= 1<<62 || f*unit < 1 {
		return 0, false
	}
	return int64(f * unit), true
}

// budget is the memory lopper eval of the model in dir may take, and how
// it was set, for messages; 0 when there is no budget (auto where the
// available memory is unknown).
func (mm maxMemory) budget(dir string) (int64, string, error) {
	if mm.times > 0 {
		disk, err := eval.DirBytes(dir)
		if err != nil {
			return 0, "", err
		}
		return int64(mm.times * float64(disk)), fmt.Sprintf("--max-memory %gx of %s on disk", mm.times, model.FormatBytes(disk)), nil
	}
	b, set := mm.absolute()
	return b, set, nil
}

// absolute is the budget of a number of bytes or auto (not a multiple),
// for lopper eval and lopper run alike, and how it was set; 0 when auto
// and the available memory is unknown.
func (mm maxMemory) absolute() (int64, string) {
	if mm.bytes > 0 {
		return mm.bytes, "--max-memory"
	}
	return model.AvailableMemory(), "available memory"
}

// evalMemoryPlan is how lopper eval holds the model: its mode, the budget
// that chose it and the estimate of that mode.
type evalMemoryPlan struct {
	mode      string
	budget    int64 // 0: none
	budgetSet string
	weights   bool // the budget bounds the weights only (a multiple of the size on disk)
	estimate  model.MemoryEstimate
}

// bounded is what of e the budget bounds: the weights, or the whole.
func (p evalMemoryPlan) bounded(e model.MemoryEstimate) int64 {
	if p.weights {
		return e.Weights()
	}
	return e.Total()
}

// what names what the budget bounds, for messages.
func (p evalMemoryPlan) what() string {
	if p.weights {
		return "weights"
	}
	return "memory"
}

// String describes the plan for people: "streamed, estimate 1.2 GiB
// within 3.3 GiB (--max-memory 1.5x of 2.2 GiB on disk)".
func (p evalMemoryPlan) String() string {
	s := p.mode
	if p.estimate.Parts != nil {
		s += ", estimate " + model.FormatBytes(p.estimate.Total())
	}
	if p.budget > 0 && p.weights {
		s += fmt.Sprintf(", weights %s within %s (%s)", model.FormatBytes(p.estimate.Weights()), model.FormatBytes(p.budget), p.budgetSet)
	} else if p.budget > 0 {
		s += fmt.Sprintf(" within %s (%s)", model.FormatBytes(p.budget), p.budgetSet)
	} else {
		s += " (no memory budget)"
	}
	return s
}

// planMemory chooses lopper eval's memory mode before any work: resident
// when its estimate fits the budget (or there is none, or the model is an
// encoder classifier, which runs resident only), else streamed when that
// fits; else an error stating both estimates. Without an estimate (a
// config.json that cannot be read, which the load then reports) the model
// is loaded resident.
func (f *evalFlags) planMemory(a *app, mm maxMemory) (p evalMemoryPlan, err error) {
	p.mode = modeResident
	defer func() {
		if err == nil && p.estimate.Parts != nil {
			a.log.Debug("memory estimate", "bytes", p.estimate.Total(), "estimate", p.estimate.String(),
				"mode", p.mode, "budget", p.budget, "budget_set", p.budgetSet)
		}
	}()
	c, err := model.LoadConfig(f.model)
	if err == nil {
		p.estimate, err = withRuntime(&c, f.evalMemory(false))
	}
	if err != nil {
		a.log.Debug("no memory estimate", "error", err)
		return p, nil
	}
	if p.budget, p.budgetSet, err = mm.budget(f.model); err != nil {
		return p, err
	}
	p.weights = mm.times > 0
	resident := p.estimate
	if p.budget <= 0 || p.bounded(resident) <= p.budget {
		return p, nil
	}
	if c.Arch == model.BERT {
		return p, fmt.Errorf("the evaluation needs an estimated %s of %s, more than the budget of %s (%s); encoder classifiers are evaluated resident only",
			model.FormatBytes(p.bounded(resident)), p.what(), model.FormatBytes(p.budget), p.budgetSet)
	}
	if p.estimate, err = withRuntime(&c, f.evalMemory(true)); err != nil {
		return p, err
	}
	if p.bounded(p.estimate) > p.budget {
		return p, fmt.Errorf("the evaluation needs an estimated %s of %s resident or %s streamed, more than the budget of %s (%s)",
			model.FormatBytes(p.bounded(resident)), p.what(), model.FormatBytes(p.bounded(p.estimate)), model.FormatBytes(p.budget), p.budgetSet)
	}
	p.mode = modeStreamed
	return p, nil
}

// load loads the model as the plan says: model.Load when resident,
// model.Open (lazy, closed by the caller) when streamed.
func (p evalMemoryPlan) load(ctx context.Context, dir string) (*model.Model, error) {
	opts := model.LoadOptions{CheckFinite: true}
	if p.mode == modeStreamed {
		return model.Open(ctx, dir, opts)
	}
	return model.Load(dir, opts)
}

// closeModel closes a model lopper eval opened (a no-op for a resident
// one) and turns a failure into exitFailed when the run had succeeded.
func closeModel(a *app, m *model.Model, code int) int {
	if err := m.Close(); err != nil {
		fmt.Fprintf(a.stderr, "lopper eval: %v\n", errors.Join(errors.New("closing the model"), err))
		if code == exitOK {
			return exitFailed
		}
	}
	return code
}
