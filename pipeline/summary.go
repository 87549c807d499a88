package pipeline

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Summary is the machine-readable outcome of a run (--summary-json): the
// status, the counts, and every stage instance with its metrics.
type Summary struct {
	Name     string              `json:"name"`
	Status   RunStatus           `json:"status"`
	ExitCode int                 `json:"exit_code"` // set by the program
	Error    string              `json:"error,omitempty"`
	Seconds  float64             `json:"seconds"`
	RunDir   string              `json:"run_dir"`
	Record   string              `json:"record"`
	Counts   map[StageStatus]int `json:"counts"`
	Stages   []StageSummary      `json:"stages"`
}

// StageSummary is one stage instance in a Summary.
type StageSummary struct {
	Path    string      `json:"path"`
	Uses    string      `json:"uses"`
	Status  StageStatus `json:"status"`
	Metrics Metrics     `json:"metrics,omitempty"`
	Error   string      `json:"error,omitempty"`
}

// Summarize builds the summary of a run record.
func Summarize(rec *RunRecord) *Summary {
	s := &Summary{Name: rec.Name, Status: rec.Status, Error: rec.Error, Seconds: rec.Seconds, RunDir: rec.RunDir,
		Record: filepath.Join(rec.RunDir, RecordFile), Counts: map[StageStatus]int{}, Stages: []StageSummary{}}
	rec.Walk(func(st *StageRecord) {
		s.Counts[st.Status]++
		s.Stages = append(s.Stages, StageSummary{Path: st.Path, Uses: st.Uses, Status: st.Status, Metrics: st.Metrics, Error: st.Error})
	})
	return s
}

// Line is the one-line summary printed at the end of a run, e.g.
// "run quickstart succeeded in 12.3s: 7 succeeded, 1 skipped; record runs/…/run.json".
// Paths are shown relative to dir when they are below it (dir "": absolute).
func (s *Summary) Line(dir string) string {
	var counts []string
	for _, st := range []StageStatus{StageSucceeded, StageCached, StageFailed, StageCancelled, StageSkipped, StagePending, StageRunning} {
		if n := s.Counts[st]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, st))
		}
	}
	line := fmt.Sprintf("run %s %s in %.1fs: %s", s.Name, strings.ReplaceAll(string(s.Status), "_", " "), s.Seconds, strings.Join(counts, ", "))
	if s.Error != "" {
		line += "; " + firstLine(s.Error)
	}
	return line + "; record " + RelPath(dir, s.Record)
}

// RelPath returns path relative to dir when it lies below dir, else path
// unchanged (also when dir is "").
func RelPath(dir, path string) string {
	if dir == "" {
		return path
	}
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}
