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

// Encode implements pipeline.Codec.
func (NumberCodec) Encode(_ context.Context, a pipeline.Artifact, dir string) error {
	n, ok := a.(*Number)
	if !ok {
		return fmt.Errorf("not a number: %T", a)
	}
	return os.WriteFile(filepath.Join(dir, "value.txt"), []byte(strconv.FormatFloat(n.V, 'g', -1, 64)), 0o644)
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
