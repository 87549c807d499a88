// Package temporaltest starts Temporal's development server for end-to-end
// tests, offline and on 127.0.0.1 only: the `temporal` binary is the one
// that LOPPER_TEMPORAL_BIN names (.ci/run builds it from the Go module
// proxy and caches it), never downloaded. Without it the test is skipped,
// or failed when the environment variable CI is set.
//
// Only tests import it.
package temporaltest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
)

// BinEnv names the environment variable that holds the temporal binary's
// path.
const BinEnv = "LOPPER_TEMPORAL_BIN"

// DevServer starts a development server (in-memory, headless, on a free
// port of 127.0.0.1) for the test's lifetime and returns it.
func DevServer(t *testing.T) *testsuite.DevServer {
	t.Helper()
	bin := os.Getenv(BinEnv)
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: .ci/run builds the temporal binary and sets it", BinEnv)
		}
		t.Skipf("%s is not set (go install github.com/temporalio/cli/cmd/temporal@v1.5.1, then point it at the binary)", BinEnv)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s: %v", BinEnv, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logf, err := os.Create(filepath.Join(t.TempDir(), "temporal.log"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  bin,
		ClientOptions: &client.Options{Logger: log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, // a free port of 127.0.0.1
		LogLevel:      "error",
		Stdout:        logf,
		Stderr:        logf,
	})
	if err != nil {
		t.Fatalf("start the Temporal dev server (%s): %v", bin, err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil && !strings.Contains(err.Error(), "signal") {
			t.Errorf("stop the Temporal dev server: %v", err)
		}
		if err := logf.Close(); err != nil {
			t.Error(err)
		}
	})
	return srv
}
