package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"lopper/pipeline"
)

// execProgram is one run of an exec stage's program.
type execProgram struct {
	argv    []string
	env     []string // the whole environment
	dir     string   // its working directory: the recipe's
	work    string   // the stage's work directory: exec.stdout, exec.stderr
	timeout time.Duration
	grace   time.Duration // between SIGTERM and SIGKILL
}

// stderrTail is how much of stderr a failure quotes.
const (
	stderrTailLines = 20
	stderrTailBytes = 8 << 10
)

// run runs the program to its end. It returns nil when it exited 0; an
// error quoting the end of its stderr when it exited otherwise; and, when
// ctx ends or the timeout passes first, an error after stopping its
// process group.
func (p *execProgram) run(ctx context.Context) error {
	path, err := p.lookPath()
	if err != nil {
		return err
	}
	stdout, err := os.Create(filepath.Join(p.work, execStdout))
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(p.work, execStderr))
	if err != nil {
		return err
	}
	defer stderr.Close()
	cmd := &exec.Cmd{Path: path, Args: p.argv, Env: p.env, Dir: p.dir, Stdout: stdout, Stderr: stderr}
	newProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", p.argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var deadline <-chan time.Time
	if p.timeout > 0 {
		t := time.NewTimer(p.timeout)
		defer t.Stop()
		deadline = t.C
	}
	select {
	case err := <-done:
		return p.exited(err)
	case <-ctx.Done():
		return errors.Join(fmt.Errorf("%s stopped: %w", p.argv[0], context.Cause(ctx)), p.stop(cmd, done))
	case <-deadline:
		return errors.Join(fmt.Errorf("%s timed out after %s and was stopped%s", p.argv[0], p.timeout, p.tail()), p.stop(cmd, done))
	}
}

// lookPath finds the program: a name without a slash on lopper's PATH, a
// relative path with one in the recipe's directory.
func (p *execProgram) lookPath() (string, error) {
	name := p.argv[0]
	if strings.ContainsRune(name, '/') || strings.ContainsRune(name, filepath.Separator) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(p.dir, name)
		}
		return name, nil
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("run.0: %w", err)
	}
	return path, nil
}

// stop ends the program's process group: SIGTERM, then SIGKILL to what is
// left after the grace period (at once when the program itself has
// exited: what it started goes with it), and waits for the program. The
// error is a signal that could not be sent.
func (p *execProgram) stop(cmd *exec.Cmd, done <-chan error) error {
	if err := signalGroup(cmd, false); err != nil {
		return fmt.Errorf("stopping %s: %w", p.argv[0], err)
	}
	t := time.NewTimer(p.grace)
	defer t.Stop()
	exited := false
	select {
	case <-done:
		exited = true
	case <-t.C:
	}
	err := signalGroup(cmd, true)
	if !exited {
		<-done
	}
	if err != nil {
		return fmt.Errorf("stopping %s: %w", p.argv[0], err)
	}
	return nil
}

// exited turns the program's exit into the stage's error.
func (p *execProgram) exited(err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("%s: %w", p.argv[0], err)
	}
	how := fmt.Sprintf("exited with status %d", ee.ExitCode())
	if ee.ExitCode() < 0 {
		how = "was killed: " + ee.String()
	}
	return fmt.Errorf("%s %s%s", p.argv[0], how, p.tail())
}

// tail quotes the last lines of the program's stderr, for an error.
func (p *execProgram) tail() string {
	file := filepath.Join(p.work, execStderr)
	lines, err := tailLines(file, stderrTailLines, stderrTailBytes)
	switch {
	case err != nil:
		return fmt.Sprintf(" (its stderr: %v)", err)
	case len(lines) == 0:
		return fmt.Sprintf(" (nothing on stderr; stdout is in %s)", filepath.Join(p.work, execStdout))
	}
	return fmt.Sprintf("; the last %d lines of its stderr (%s):\n%s", len(lines), file, strings.Join(lines, "\n"))
}

// tailLines returns the last n lines of a file, reading at most limit
// bytes from its end.
func tailLines(file string, n int, limit int64) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(fi.Size()-limit, 0)
	buf, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return nil, err
	}
	if off > 0 { // the first line is cut: drop it
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	text := strings.TrimRight(string(bytes.ToValidUTF8(buf, []byte("?"))), "\n")
	if text == "" {
		return nil, nil
	}
	lines := strings.Split(text, "\n")
	return lines[max(len(lines)-n, 0):], nil
}

// readExecMetrics reads a program's metrics file: a JSON object whose
// values are numbers, holding at least the names it must.
func readExecMetrics(file string, must []string) (pipeline.Metrics, error) {
	raw, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("metrics: the program exited 0 but did not write %s (pass it ${{ outputs.metrics }})", file)
	}
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("metrics: %s is not a JSON object of numbers: %v", file, err)
	}
	m := pipeline.Metrics{}
	for k, v := range obj {
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			return nil, fmt.Errorf("metrics: %s: %q is %s, want a number", file, k, v)
		}
		m[k] = f
	}
	var missing []string
	for _, n := range must {
		if _, ok := m[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		have := "nothing"
		if len(m) > 0 {
			have = strings.Join(slices.Sorted(maps.Keys(m)), ", ")
		}
		return nil, fmt.Errorf("metrics: %s lacks %s, which metric_names declares (it has %s)", file, strings.Join(missing, ", "), have)
	}
	return m, nil
}
