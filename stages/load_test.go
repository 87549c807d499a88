package stages

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"

	"lopper/pipeline"
)

// The load stage hands its context to the model loader: a cancelled stage
// stops loading with the context's error instead of reading the whole
// checkpoint (it used to load and succeed).
func TestLoadStopsWhenCancelled(t *testing.T) {
	sc := &pipeline.StageContext{ID: "base", Log: hclog.NewNullLogger(), RecipeDir: filepath.Join(repoRoot(t), "quickstart")}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := runLoad(ctx, sc, &LoadConfig{Path: "model"})
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Errorf("cancelled load: result %v, err %v", res != nil, err)
	}
}
