package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"lopper/model"
)

// runOptions say what to measure.
type runOptions struct {
	Results, Label, Lopper, Text, Commands, Scratch string
	SeqLen, Samples                                 int
}

// Result is one measured command.
type Result struct {
	Label      string   `json:"label"`
	Checkpoint string   `json:"checkpoint"`
	Params     int      `json:"params"`
	DiskBytes  int64    `json:"disk_bytes"` // the checkpoint's weight files
	Command    string   `json:"command"`
	Args       []string `json:"args"`
	// PeakRSS is the child's ru_maxrss in bytes.
	PeakRSS     int64   `json:"peak_rss"`
	WallSeconds float64 `json:"wall_s"`
	UserSeconds float64 `json:"user_s"`
	SysSeconds  float64 `json:"sys_s"`
	// Estimate is what lopper estimates the command needs (its log line
	// "memory estimate"), 0 when it logged none.
	Estimate int64  `json:"estimate"`
	When     string `json:"when"`
}

// command is one benchmarked lopper command line.
type command struct {
	name string
	args func(o runOptions, model, out string) []string
}

func calibArgs(o runOptions) []string {
	return []string{"--calib", o.Text, "--calib-seq-len", strconv.Itoa(o.SeqLen), "--calib-samples", strconv.Itoa(o.Samples)}
}

var commands = []command{
	{"prune magnitude", func(o runOptions, m, out string) []string {
		return []string{"prune", "--model", m, "--out", out, "--method", "magnitude", "--sparsity", "0.5"}
	}},
	{"prune wanda", func(o runOptions, m, out string) []string {
		return append([]string{"prune", "--model", m, "--out", out, "--method", "wanda", "--sparsity", "0.5"}, calibArgs(o)...)
	}},
	{"prune wanda one-pass", func(o runOptions, m, out string) []string {
		return append([]string{"prune", "--model", m, "--out", out, "--method", "wanda", "--sparsity", "0.5", "--calib-mode", "one-pass"}, calibArgs(o)...)
	}},
	{"prune sparsegpt", func(o runOptions, m, out string) []string {
		return append([]string{"prune", "--model", m, "--out", out, "--method", "sparsegpt", "--sparsity", "0.5"}, calibArgs(o)...)
	}},
	{"eval", func(o runOptions, m, _ string) []string {
		return evalArgs(o, m)
	}},
	// Streamed: the weights bounded by 1.5 × the checkpoint's bytes on disk,
	// which a BF16 checkpoint's float32 weights (2×) exceed.
	{"eval streamed", func(o runOptions, m, _ string) []string {
		return append(evalArgs(o, m), "--max-memory", "1.5x")
	}},
}

func evalArgs(o runOptions, m string) []string {
	return []string{"eval", "--model", m, "--text", o.Text, "--seq-len", strconv.Itoa(o.SeqLen), "--limit", strconv.Itoa(o.Samples)}
}

func commandNames() []string {
	n := make([]string, len(commands))
	for i, c := range commands {
		n[i] = c.name
	}
	return n
}

// measure runs every command on every checkpoint, one at a time, and
// appends each result to o.Results as soon as it is measured.
func measure(o runOptions, checkpoints []string, log io.Writer) error {
	if o.Lopper == "" || o.Text == "" || len(checkpoints) == 0 {
		return errors.New("measuring needs -lopper, -text and at least one -checkpoint")
	}
	want := strings.Split(o.Commands, ",")
	for _, w := range want {
		if !slices.Contains(commandNames(), w) {
			return fmt.Errorf("unknown command %q (want some of %s)", w, strings.Join(commandNames(), ", "))
		}
	}
	for _, cp := range checkpoints {
		name, dir, ok := strings.Cut(cp, "=")
		if !ok {
			return fmt.Errorf("-checkpoint %q: want NAME=DIR", cp)
		}
		params, err := paramCount(dir)
		if err != nil {
			return err
		}
		disk, err := weightBytes(dir)
		if err != nil {
			return err
		}
		for _, c := range commands {
			if !slices.Contains(want, c.name) {
				continue
			}
			out := filepath.Join(o.Scratch, "benchmem-out")
			if err := os.RemoveAll(out); err != nil {
				return err
			}
			r, err := runOne(o.Lopper, c.args(o, dir, out))
			if rerr := os.RemoveAll(out); err == nil {
				err = rerr
			}
			if err != nil {
				return fmt.Errorf("%s on %s: %w", c.name, name, err)
			}
			r.Label, r.Checkpoint, r.Params, r.DiskBytes, r.Command = o.Label, name, params, disk, c.name
			fmt.Fprintf(log, "%-8s %-22s peak %9s (estimate %9s)  %7.1f s\n", name, c.name,
				model.FormatBytes(r.PeakRSS), model.FormatBytes(r.Estimate), r.WallSeconds)
			if err := appendResult(o.Results, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// runOne runs lopper with args and measures it. Its log goes through a
// buffer, from which the "memory estimate" line's bytes are read.
func runOne(bin string, args []string) (Result, error) {
	full := append([]string{args[0], "--log-level", "debug", "--log-format", "json"}, args[1:]...)
	cmd := exec.Command(bin, full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return Result{}, fmt.Errorf("%v: %s", err, lastLines(stderr.String(), 5))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return Result{}, errors.New("no resource usage for the child on this system")
	}
	return Result{
		Args: args, PeakRSS: ru.Maxrss * 1024, WallSeconds: wall.Seconds(),
		UserSeconds: cmd.ProcessState.UserTime().Seconds(), SysSeconds: cmd.ProcessState.SystemTime().Seconds(),
		Estimate: estimateFromLog(stderr.Bytes()), When: start.UTC().Format(time.RFC3339),
	}, nil
}

// estimateFromLog returns the bytes of the last "memory estimate" log
// line (JSON log format), or 0.
func estimateFromLog(log []byte) int64 {
	var est int64
	for _, line := range bytes.Split(log, []byte("\n")) {
		var rec struct {
			Msg   string `json:"@message"`
			Bytes int64  `json:"bytes"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "memory estimate" {
			est = rec.Bytes
		}
	}
	return est
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// paramCount reads the parameter count from dir's config.json (the
// weights are not read).
func paramCount(dir string) (int, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	c, err := model.ParseConfig(data)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return c.NumParams()
}

// weightBytes is the size of a model directory's safetensors files.
func weightBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".safetensors") {
			return err
		}
		fi, err := d.Info()
		n += fi.Size()
		return err
	})
	return n, err
}

// readResults reads the results file (none yet: no results).
func readResults(path string) ([]Result, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rs []Result
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}

// appendResult adds r to the results file, replacing an earlier result
// with the same label, checkpoint and command.
func appendResult(path string, r Result) error {
	rs, err := readResults(path)
	if err != nil {
		return err
	}
	rs = slices.DeleteFunc(rs, func(q Result) bool {
		return q.Label == r.Label && q.Checkpoint == r.Checkpoint && q.Command == r.Command
	})
	rs = append(rs, r)
	b, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
