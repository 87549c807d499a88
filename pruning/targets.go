package pruning

import (
	"fmt"
	"regexp"

	"lopper/model"
)

// TargetSpec selects the tensors to prune by Hugging Face name. With no
// Include patterns the targets are model.Prunable: every linear weight
// inside the transformer blocks. Include patterns may select any tensor
// (embeddings, lm_head, norms, biases) when asked explicitly; Ignore
// patterns then remove tensors from the selection. Patterns are Go regular
// expressions matched anywhere in the name (anchor them with ^…$ for an
// exact name).
type TargetSpec struct {
	Include []string `json:"include,omitempty"`
	Ignore  []string `json:"ignore,omitempty"`
}

// SelectTargets returns the tensors spec selects, in layout order. It is an
// error for a pattern not to compile or for the selection to be empty.
func SelectTargets(l *model.Layout, spec TargetSpec) ([]model.TensorInfo, error) {
	include, err := compileAll("target", spec.Include)
	if err != nil {
		return nil, err
	}
	ignore, err := compileAll("ignore", spec.Ignore)
	if err != nil {
		return nil, err
	}
	var out []model.TensorInfo
	for _, t := range l.Tensors {
		ok := model.Prunable(t)
		if len(include) > 0 {
			ok = matchAny(include, t.Name)
		}
		if ok && !matchAny(ignore, t.Name) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no tensor matches targets %q minus ignore %q", spec.Include, spec.Ignore)
	}
	return out, nil
}

func compileAll(what string, pats []string) ([]*regexp.Regexp, error) {
	res := make([]*regexp.Regexp, 0, len(pats))
	for _, p := range pats {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%s pattern %q: %w", what, p, err)
		}
		res = append(res, re)
	}
	return res, nil
}

func matchAny(res []*regexp.Regexp, name string) bool {
	for _, re := range res {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

// rowsCols is the [rows, cols] view pruning takes of a tensor: [out, in]
// for a matrix, one row for a vector.
func rowsCols(t model.TensorInfo) (rows, cols int) {
	if len(t.Shape) == 1 {
		return 1, t.Shape[0]
	}
	return t.Size / t.Shape[len(t.Shape)-1], t.Shape[len(t.Shape)-1]
}

// blockTargets groups targets by transformer block (index = layer); targets
// outside the blocks (Layer < 0) are returned separately.
func blockTargets(targets []model.TensorInfo, layers int) (byBlock [][]model.TensorInfo, outside []model.TensorInfo) {
	byBlock = make([][]model.TensorInfo, layers)
	for _, t := range targets {
		if t.Layer < 0 || t.Layer >= layers {
			outside = append(outside, t)
			continue
		}
		byBlock[t.Layer] = append(byBlock[t.Layer], t)
	}
	return byBlock, outside
}
