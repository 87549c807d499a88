package runner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"lopper/pipeline"
)

// Resumable is a run that --resume can continue: its record, and its
// recipe reloaded as it was run.
type Resumable struct {
	Record *pipeline.RunRecord
	Recipe *pipeline.Recipe
}

// LoadResumable reads the run in runDir and reloads its recipe from the
// text recorded in run.json (not from the file, which may have changed
// since) with the params the run was given with --set. The caller runs it
// with ResumeOptions.
func LoadResumable(runDir string, reg *pipeline.Registry) (*Resumable, error) {
	path := filepath.Join(runDir, pipeline.RecordFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("not a run directory: %w", err)
	}
	var rec pipeline.RunRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if rec.Schema != pipeline.RecordSchema {
		return nil, fmt.Errorf("%s: record schema %d, this lopper reads %d", path, rec.Schema, pipeline.RecordSchema)
	}
	pipeline.SettleDead(&rec, runDir) // lockRunDir then says whether it is still going
	r, err := Recompile(raw, rec.Recipe.File, "", reg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Resumable{Record: &rec, Recipe: r}, nil
}

// Recompile compiles the recipe that a run record (run.json's bytes, raw)
// was run with, from the text it holds, with the params it was given with
// --set; file is the recipe's path (relative paths in it resolve against
// its directory), workDir what relative --set paths resolved against
// ("" the working directory). A worker of a distributed executor compiles
// the recipe of the run it serves this way.
func Recompile(raw []byte, file, workDir string, reg *pipeline.Registry) (*pipeline.Recipe, error) {
	var rec pipeline.RunRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, err
	}
	set, err := setFlags(raw)
	if err != nil {
		return nil, err
	}
	r, err := pipeline.Parse(file, []byte(rec.Recipe.Text), pipeline.LoadOptions{Registry: reg, Set: set, WorkDir: workDir})
	if err != nil {
		return nil, fmt.Errorf("the recorded recipe: %w", err)
	}
	if r.Digest != rec.Recipe.Digest {
		return nil, fmt.Errorf("the recorded recipe text does not match its digest %s", rec.Recipe.Digest)
	}
	return r, nil
}

// setFlags returns the --set overrides a record's params came from, with
// their values spelled as run.json holds them (numbers exactly as written,
// not rounded through float64).
func setFlags(raw []byte) ([]string, error) {
	var rec struct {
		Params []struct {
			Name   string          `json:"name"`
			Value  json.RawMessage `json:"value"`
			Source string          `json:"source"`
		} `json:"params"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, err
	}
	var set []string
	for _, p := range rec.Params {
		if p.Source != "--set" {
			continue
		}
		v := string(p.Value)
		var s string
		if json.Unmarshal(p.Value, &s) == nil {
			v = s
		} else if _, err := strconv.ParseFloat(v, 64); err != nil && v != "true" && v != "false" {
			return nil, fmt.Errorf("param %s: unexpected value %s", p.Name, v)
		}
		set = append(set, p.Name+"="+v)
	}
	return set, nil
}

// ResumeOptions returns the options that continue the run: the same run
// directory and --fail-fast, with the earlier attempt appended to the
// record's list. The rest (jobs, which do not change results, the cache,
// the logger, build and numerics) comes from opts.
func (rs *Resumable) ResumeOptions(opts Options) Options {
	prev := rs.Record
	opts.RunDir, opts.OutDir = prev.RunDir, ""
	opts.FailFast = prev.FailFast
	opts.Resumed = append(append([]pipeline.AttemptRecord(nil), prev.Resumed...),
		pipeline.AttemptRecord{Started: prev.Started, Ended: prev.Ended, Status: prev.Status, Error: prev.Error})
	return opts
}
