package archtest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// ciTest matches a line of README.md that .ci/run runs (the same pattern
// as its sed).
var ciTest = regexp.MustCompile(`(?m)^(.*[^ ]) *# ci:test$`)

// CI runs the whole module's tests both without and with the race
// detector: under -race some reference tests are trimmed (see
// pruning/fidelity_test.go, model/alloc_test.go), so the plain run is the
// one that runs every fidelity case.
func TestCIRunsTestsWithAndWithoutRace(t *testing.T) {
	root, _ := listModule(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var plain, race bool
	for _, m := range ciTest.FindAllSubmatch(readme, -1) {
		f := strings.Fields(string(m[1]))
		if len(f) < 2 || f[0] != "go" || f[1] != "test" || !slices.Contains(f, "./...") {
			continue
		}
		if slices.Contains(f, "-short") {
			continue
		}
		if slices.Contains(f, "-race") {
			race = true
		} else {
			plain = true
		}
	}
	if !plain || !race {
		t.Errorf("README.md's ci:test lines run `go test ./...` without -race: %v, with -race: %v; CI needs both (and neither with -short)", plain, race)
	}
}
