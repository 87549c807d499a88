package runner_test

import (
	"testing"

	"lopper/pipeline/pipelinetest"
	"lopper/pipeline/runner"
)

func TestResumeRefusesWhatIsNotARun(t *testing.T) {
	if _, err := runner.LoadResumable(t.TempDir(), registry(pipelinetest.New())); err == nil {
		t.Errorf("resumed an empty directory")
	}
}
