package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"lopper/pipeline"
	"lopper/pipeline/pipelinetest"
)

// testKit's kinds (emit) are added to the commands' registry for tests
// only; the program never registers them.
var testKit = pipelinetest.New()

func TestMain(m *testing.M) {
	newRegistry = testRegistry
	os.Exit(m.Run())
}

// testRegistry is the program's registry with testKit's kinds.
func testRegistry() *pipeline.Registry {
	reg := defaultRegistry()
	testKit.Register(reg)
	return reg
}

// lopper runs the CLI in-process.
func lopper(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runMain(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// repoPath is a file of the repository given from its root: tests run in
// internal/cli.
func repoPath(elem ...string) string {
	return filepath.Join(append([]string{"..", ".."}, elem...)...)
}

// recipeFile writes src as NAME in a fresh directory.
func recipeFile(t *testing.T, name, src string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}
