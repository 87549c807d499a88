package stages

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"sync"

	"lopper/model"
	"lopper/model/tokenizer"
	"lopper/pipeline"
)

// inputModel returns the model artifact of the stage r names.
func inputModel(sc *pipeline.StageContext, r pipeline.Ref) (*ModelArtifact, error) {
	return pipeline.InputArtifact[*ModelArtifact](sc, r, ArtifactModel)
}

// modelInput declares r as a model input.
func modelInput(r pipeline.Ref) pipeline.Input {
	return pipeline.Input{Ref: r, Artifact: ArtifactModel}
}

// checkRef reports a missing stage reference.
func checkRef(c *pipeline.Checker, field string, r pipeline.Ref, what string) {
	if r.IsZero() {
		c.Errorf(field, "required: the stage whose %s this one reads", what)
	}
}

// checkFile reports a file that cannot be read. It checks when the stage
// is about to run, not when the recipe is loaded: recipes name their data
// through params whose defaults need not exist on every machine (CI
// validates recipes without the data), and a stage whose input is missing
// then fails before doing any work.
func checkFile(c *pipeline.Checker, field, path string) {
	if path == "" || !c.AtRunTime() {
		return
	}
	fi, err := os.Stat(c.Path(path))
	switch {
	case err != nil:
		c.Errorf(field, "%v", err)
	case fi.IsDir():
		c.Errorf(field, "%s is a directory, want a file", c.Path(path))
	}
}

// checkPositive reports an int field that must be ≥ 1 when set.
func checkPositive(c *pipeline.Checker, field string, v int) {
	if v < 0 {
		c.Errorf(field, "must be positive, got %d", v)
	}
}

// tokenCache keeps the tokenization of text files, keyed by tokenizer
// and file identity, so that the stages of a loop do not tokenize the same
// training or calibration text in every iteration.
var tokenCache sync.Map // tokenKey → []int32

type tokenKey struct {
	tokenizer string // sha256 of tokenizer.json
	path      string
	size      int64
	modTime   int64
}

// tokenizeFile reads a UTF-8 text file and tokenizes it with m's tokenizer
// (no special tokens added). The result is shared: do not modify it.
func tokenizeFile(m *model.Model, path string) ([]int32, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	key := tokenKey{tokenizer: sha256Hex(m.TokenizerJSON), path: path, size: fi.Size(), modTime: fi.ModTime().UnixNano()}
	if v, ok := tokenCache.Load(key); ok {
		return v.([]int32), nil
	}
	if len(m.TokenizerJSON) == 0 {
		return nil, fmt.Errorf("the model has no tokenizer.json to tokenize %s with", path)
	}
	tok, err := tokenizer.FromJSON(m.TokenizerJSON)
	if err != nil {
		return nil, fmt.Errorf("the model's tokenizer.json: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ids := tok.Encode(string(data))
	tokenCache.Store(key, ids)
	return ids, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// metricArgs turns metrics into sorted key/value pairs for a log line.
func metricArgs(m pipeline.Metrics) []any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, k, roundForLog(m[k]))
	}
	return args
}

// roundForLog rounds v to 6 significant digits, so log lines read
// acc_drop=0.814 rather than 0.8140000000000001; run.json keeps every bit.
func roundForLog(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// checkRegexp reports a pattern that does not compile.
func checkRegexp(c *pipeline.Checker, field, p string) {
	if _, err := regexp.Compile(p); err != nil {
		c.Errorf(field, "%v", err)
	}
}
