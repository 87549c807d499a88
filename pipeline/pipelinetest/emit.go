package pipelinetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"lopper/pipeline"
)

// EmitConfig is the config of the `emit` test kind.
type EmitConfig struct {
	// Input is a stage whose "number" artifact this one reads.
	Input pipeline.Ref `yaml:"input"`
	// Reads are stages this one depends on for their metrics only.
	Reads []pipeline.Ref `yaml:"reads"`
	// Metrics are produced as given.
	Metrics map[string]float64 `yaml:"metrics"`
	// Value sets the "number" artifact; with Input it is Input + Add.
	Value *float64 `yaml:"value"`
	Add   float64  `yaml:"add"`
	// Sleep is a duration ("50ms") to wait, cancellably.
	Sleep string `yaml:"sleep"`
	// Block waits until the stage is cancelled.
	Block bool `yaml:"block"`
	// Deaf makes Sleep ignore cancellation (a misbehaving stage).
	Deaf bool `yaml:"deaf"`
	// Meet waits at the named rendezvous for Parties stages.
	Meet    string `yaml:"meet"`
	Parties int    `yaml:"parties"`
	// Fail makes Run return this error; Panic makes it panic.
	Fail  string `yaml:"fail"`
	Panic string `yaml:"panic"`
	// File must exist (relative to the recipe) when checked at run time;
	// it is declared as read (part of the cache key).
	File string `yaml:"file"`
	// Details are returned as the result's details.
	Details map[string]any `yaml:"details"`
	// Schedule exercises nested config positions.
	Schedule *Schedule `yaml:"schedule"`
	// Volatile declares the stage uncacheable.
	Volatile bool `yaml:"volatile"`
	// OnDisk asks for Input's artifact on disk and returns the directory
	// as the details {"dir": …}.
	OnDisk bool `yaml:"on_disk"`
	// Out is declared as an output directory (Export lets it leave the run
	// directory); Run creates it with a file out.txt.
	Out    string `yaml:"out"`
	Export bool   `yaml:"export"`
	// Memory declares a memory estimate: the stage holds its input's shape
	// (a number of bytes, or 0) plus Memory bytes, and produces a shape of
	// that size. Unsure fails the estimate instead, with its text.
	Memory int64  `yaml:"memory"`
	Unsure string `yaml:"unsure"`
}

// Schedule is a nested test config.
type Schedule struct {
	From  float64 `yaml:"from"`
	To    float64 `yaml:"to"`
	Steps int     `yaml:"steps"`
}

// Register adds the test kinds (emit) and the number codec to reg.
func (k *Kit) Register(reg *pipeline.Registry) {
	reg.Register("emit", pipeline.Typed(pipeline.KindOf[EmitConfig]{
		Check:   checkEmit,
		Declare: declareEmit,
		Run:     k.runEmit,
	}))
	reg.RegisterCodec(NumberCodec{})
}

func checkEmit(c *pipeline.Checker, cfg *EmitConfig) {
	if cfg.Sleep != "" {
		if d, err := time.ParseDuration(cfg.Sleep); err != nil || d < 0 {
			c.Errorf("sleep", "want a duration such as 50ms, got %q", cfg.Sleep)
		}
	}
	if cfg.Meet != "" && cfg.Parties < 2 {
		c.Errorf("parties", "a rendezvous needs at least 2 parties, got %d", cfg.Parties)
	}
	if cfg.Add != 0 && cfg.Input.IsZero() {
		c.Errorf("add", "add needs an input")
	}
	if cfg.Schedule != nil {
		if cfg.Schedule.From < 0 || cfg.Schedule.From >= 1 {
			c.Errorf("schedule.from", "must be in [0, 1), got %g", cfg.Schedule.From)
		}
		if cfg.Schedule.To < cfg.Schedule.From {
			c.Errorf("schedule.to", "must be at least from (%g), got %g", cfg.Schedule.From, cfg.Schedule.To)
		}
	}
	if cfg.File != "" && c.AtRunTime() {
		if _, err := c.Stat(cfg.File); err != nil {
			c.Errorf("file", "%v", err)
		}
	}
}

func declareEmit(cfg *EmitConfig) pipeline.Decl {
	d := pipeline.Decl{Files: []string{cfg.File}, Volatile: cfg.Volatile}
	if cfg.Out != "" {
		d.Outputs = []pipeline.Output{{Field: "out", Path: cfg.Out, Export: cfg.Export}}
	}
	if !cfg.Input.IsZero() || cfg.Input.Line != 0 {
		d.Inputs = append(d.Inputs, pipeline.Input{Ref: cfg.Input, Artifact: "number"})
	}
	for _, r := range cfg.Reads {
		d.Inputs = append(d.Inputs, pipeline.Input{Ref: r})
	}
	for m := range cfg.Metrics {
		d.Metrics = append(d.Metrics, m)
	}
	slices.Sort(d.Metrics)
	if cfg.Value != nil || !cfg.Input.IsZero() {
		d.Metrics = append(d.Metrics, "value")
		d.Artifacts = []string{"number"}
	}
	if cfg.Memory != 0 || cfg.Unsure != "" {
		d.Memory = func(q pipeline.MemoryQuery) (*pipeline.StageMemory, error) {
			if cfg.Unsure != "" {
				return nil, errors.New(cfg.Unsure)
			}
			in, _ := q.Input(cfg.Input).(int64)
			n := in + cfg.Memory
			return &pipeline.StageMemory{Bytes: n, Total: fmt.Sprintf("%d B", n), Detail: fmt.Sprintf("input %d B, own %d B", in, cfg.Memory), Shape: n}, nil
		}
	}
	return d
}

func (k *Kit) runEmit(ctx context.Context, sc *pipeline.StageContext, cfg *EmitConfig) (*pipeline.Result, error) {
	k.start(sc.Path)
	defer k.stop()
	if cfg.Sleep != "" {
		d, _ := time.ParseDuration(cfg.Sleep) // checked by checkEmit
		if cfg.Deaf {
			time.Sleep(d)
		} else {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	if cfg.Meet != "" {
		if err := k.meet(ctx, cfg.Meet, cfg.Parties); err != nil {
			return nil, err
		}
	}
	if cfg.Block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if cfg.Panic != "" {
		panic(cfg.Panic)
	}
	if cfg.Fail != "" {
		return nil, errors.New(cfg.Fail)
	}
	res := &pipeline.Result{Metrics: pipeline.Metrics{}}
	if cfg.Details != nil {
		res.Details = cfg.Details
	}
	for m, v := range cfg.Metrics {
		res.Metrics[m] = v
	}
	var n *Number
	switch {
	case !cfg.Input.IsZero():
		in, err := pipeline.InputArtifact[*Number](sc, cfg.Input, "number")
		if err != nil {
			return nil, err
		}
		n = &Number{V: in.V + cfg.Add}
		if cfg.OnDisk {
			dir, err := sc.ArtifactDir(ctx, cfg.Input, "number")
			if err != nil {
				return nil, err
			}
			res.Details = map[string]any{"dir": dir}
		}
	case cfg.Value != nil:
		n = &Number{V: *cfg.Value}
	}
	if n != nil {
		res.Metrics["value"] = n.V
		res.Artifacts = map[string]pipeline.Artifact{"number": n}
	}
	if cfg.Out != "" {
		dir := sc.OutputPath(pipeline.Output{Path: cfg.Out, Export: cfg.Export})
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "out.txt"), []byte(sc.Path), 0o644); err != nil {
			return nil, err
		}
	}
	sc.Progress(1, 1, "steps")
	return res, nil
}

// Number is the test artifact: one float.
type Number struct{ V float64 }

// Kind implements pipeline.Artifact.
func (n *Number) Kind() string { return "number" }

// Digest implements pipeline.Artifact.
func (n *Number) Digest() string { return fmt.Sprintf("number:%v", n.V) }
