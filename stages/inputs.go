package stages

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strconv"

	"lopper/model"
	"lopper/model/tokenizer"
	"lopper/pipeline"
)

// inputModel returns the model artifact of the stage r names.
func inputModel(sc *pipeline.StageContext, r pipeline.Ref) (*ModelArtifact, error) {
	return pipeline.InputArtifact[*ModelArtifact](sc, r, ArtifactModel)
}

// takeModel returns the model artifact of the stage r names and whether
// this stage owns it (see pipeline.StageContext.Take): an owned model may
// be changed in place; any other must be copied first.
func takeModel(sc *pipeline.StageContext, r pipeline.Ref) (*ModelArtifact, bool, error) {
	return pipeline.TakeArtifact[*ModelArtifact](sc, r, ArtifactModel)
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
	fi, err := c.Stat(path)
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

// tokenCacheBudget bounds the tokens the process keeps: the training and
// calibration texts of a recipe's stages, so that a loop does not
// tokenize them in every iteration.
const tokenCacheBudget = 512 << 20

var tokenCache = tokenizer.NewFileCache(tokenCacheBudget)

// tokenizeFile tokenizes a UTF-8 text file with m's tokenizer (no special
// tokens added), the first limit tokens when limit > 0 (reading only what
// they need), through the process's token cache. The result is shared: do
// not modify it.
func tokenizeFile(m *model.Model, path string, limit int) ([]int32, error) {
	return tokenCache.EncodeFile(m.TokenizerJSON, m.Source, path, limit)
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
