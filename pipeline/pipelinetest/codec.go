package pipelinetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"lopper/pipeline"
)

// NumberCodec stores a Number as text in value.txt.
type NumberCodec struct{}

// Kind implements pipeline.Codec.
func (NumberCodec) Kind() string { return "number" }

// EncodeWaitEnv names an environment variable for tests that kill a
// process in the middle of writing an artifact: when it holds a path,
// NumberCodec.Encode writes its file, creates that path (the signal that it
// is there) and waits until its context ends.
const EncodeWaitEnv = "LOPPER_TEST_ENCODE_WAIT"

// Encode implements pipeline.Codec.
func (NumberCodec) Encode(ctx context.Context, a pipeline.Artifact, dir string) error {
	n, ok := a.(*Number)
	if !ok {
		return fmt.Errorf("not a number: %T", a)
	}
	if err := os.WriteFile(filepath.Join(dir, "value.txt"), []byte(strconv.FormatFloat(n.V, 'g', -1, 64)), 0o644); err != nil {
		return err
	}
	if ready := os.Getenv(EncodeWaitEnv); ready != "" {
		if err := os.WriteFile(ready, nil, 0o644); err != nil {
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// Decode implements pipeline.Codec.
func (NumberCodec) Decode(_ context.Context, dir string) (pipeline.Artifact, error) {
	b, err := os.ReadFile(filepath.Join(dir, "value.txt"))
	if err != nil {
		return nil, err
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		return nil, err
	}
	return &Number{V: v}, nil
}
