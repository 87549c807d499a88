package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Task is one multiple-choice question: the model scores each choice as a
// continuation of Context and is right when the best-scoring choice is
// Label.
type Task struct {
	Context string
	// Choices are the candidate continuations as written in the file; the
	// scorer puts Delimiter (" ") between the context and each of them.
	Choices []string
	Label   int
	// Line is where the task starts in its file (1-based), for messages.
	Line int
}

// check reports what makes t unscorable: fewer than two choices, an empty
// choice (acc_norm divides by its length) or a label that is not an index.
func (t Task) check() error {
	if len(t.Choices) < 2 {
		return fmt.Errorf("a task needs at least 2 choices, got %d", len(t.Choices))
	}
	for i, c := range t.Choices {
		if c == "" {
			return fmt.Errorf("choice %d is empty", i)
		}
	}
	if t.Label < 0 || t.Label >= len(t.Choices) {
		return fmt.Errorf("label %d is not an index into %d choices", t.Label, len(t.Choices))
	}
	return nil
}

// Delimiter separates a task's context from each choice, as
// lm-evaluation-harness's default target_delimiter does.
const Delimiter = " "

// TaskFile is a parsed multiple-choice file.
type TaskFile struct {
	Format string // "hellaswag" or "jsonl"
	Path   string
	SHA256 string // of the file's bytes
	Tasks  []Task
}

// ReadHellaSwag reads HellaSwag's 6-line text format: per task a context
// line ("activity label: context", already preprocessed as the harness
// does), the correct ending's index (0–3), then the four endings, one per
// line. Blank lines between tasks and CRLF line ends are accepted. Errors
// name FILE:LINE.
func ReadHellaSwag(path string) (*TaskFile, error) {
	return readTaskFile(path, "hellaswag", parseHellaSwag)
}

// readTaskFile reads path and parses it with parse.
func readTaskFile(path, format string, parse func(path string, data []byte) ([]Task, error)) (*TaskFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tasks, err := parse(path, data)
	if err != nil {
		return nil, err
	}
	return &TaskFile{Format: format, Path: path, SHA256: sha256Hex(data), Tasks: tasks}, nil
}

// hellaSwagEndings is the number of endings per HellaSwag task.
const hellaSwagEndings = 4

func parseHellaSwag(path string, data []byte) ([]Task, error) {
	var tasks []Task
	var cur []string // lines of the task being read
	start := 0
	lines := splitLines(data)
	for i, line := range lines {
		n := i + 1
		if len(cur) == 0 && strings.TrimSpace(line) == "" {
			continue
		}
		if len(cur) == 0 {
			start = n
		}
		if strings.TrimSpace(line) == "" {
			return nil, fmt.Errorf("%s:%d: blank line inside the task that starts at line %d (a task is 6 lines: context, label, 4 endings)", path, n, start)
		}
		cur = append(cur, line)
		if len(cur) < 2+hellaSwagEndings {
			continue
		}
		label, err := strconv.Atoi(strings.TrimSpace(cur[1]))
		if err != nil || label < 0 || label >= hellaSwagEndings {
			return nil, fmt.Errorf("%s:%d: label %q is not an ending index 0-%d", path, start+1, cur[1], hellaSwagEndings-1)
		}
		tasks = append(tasks, Task{Context: cur[0], Choices: append([]string(nil), cur[2:]...), Label: label, Line: start})
		cur = cur[:0]
	}
	if len(cur) > 0 {
		return nil, fmt.Errorf("%s:%d: the task that starts at line %d is incomplete: %d of 6 lines", path, len(lines), start, len(cur))
	}
	if len(tasks) == 0 {
		return nil, fmt.Errorf("%s: no tasks", path)
	}
	return tasks, nil
}

// splitLines splits data into lines without their "\n" or "\r\n"; a final
// line end does not start another line.
func splitLines(data []byte) []string {
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// jsonTask is one line of the JSONL format. Fields other than these are
// ignored (ids, sources, …).
type jsonTask struct {
	Context *string  `json:"context"`
	Choices []string `json:"choices"`
	Label   *int     `json:"label"`
}

// ReadChoicesJSONL reads multiple-choice tasks, one JSON object per line:
// {"context": "…", "choices": ["…", "…"], "label": N}. Blank lines are
// skipped. Errors name FILE:LINE (and the column of a JSON syntax error).
func ReadChoicesJSONL(path string) (*TaskFile, error) {
	return readTaskFile(path, "jsonl", parseChoicesJSONL)
}

func parseChoicesJSONL(path string, data []byte) ([]Task, error) {
	var tasks []Task
	for i, line := range splitLines(data) {
		n := i + 1
		if strings.TrimSpace(line) == "" {
			continue
		}
		var jt jsonTask
		if err := decodeOne([]byte(line), &jt); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("%s:%d:%d: invalid JSON: %v", path, n, se.Offset, err)
			}
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		switch {
		case jt.Context == nil:
			return nil, fmt.Errorf(`%s:%d: missing "context"`, path, n)
		case jt.Label == nil:
			return nil, fmt.Errorf(`%s:%d: missing "label"`, path, n)
		}
		t := Task{Context: *jt.Context, Choices: jt.Choices, Label: *jt.Label, Line: n}
		if err := t.check(); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		tasks = append(tasks, t)
	}
	if len(tasks) == 0 {
		return nil, fmt.Errorf("%s: no tasks", path)
	}
	return tasks, nil
}

// decodeOne decodes exactly one JSON value from line into v.
func decodeOne(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}
