package eval

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Problem is what a classifier's outputs mean, in Hugging Face's words
// (config.json's problem_type).
type Problem string

// The problem types of Hugging Face's sequence classifiers.
const (
	// SingleLabel: one class per input, the first largest logit
	// (cross-entropy training).
	SingleLabel Problem = "single_label_classification"
	// MultiLabel: any set of classes per input, those whose logit is above
	// 0, i.e. whose sigmoid is above 0.5 (binary cross-entropy training).
	MultiLabel Problem = "multi_label_classification"
	// Regression: one number per input, the single logit (MSE training).
	Regression Problem = "regression"
)

// check reports a problem type lopper does not know.
func (p Problem) check() error {
	switch p {
	case SingleLabel, MultiLabel, Regression:
		return nil
	}
	return fmt.Errorf("unknown problem type %q (want %s, %s or %s)", string(p), SingleLabel, MultiLabel, Regression)
}

// Example is one labelled input of a classification task: a text or a pair
// of texts, and its label in the form the task's Problem asks for.
type Example struct {
	// Text is the input, or the first text of a pair; TextB is the second
	// text when Pair is set (it may be empty).
	Text, TextB string
	Pair        bool
	// Label is the class index (SingleLabel); Labels the class indices,
	// ascending and distinct (MultiLabel); Target the number (Regression).
	Label  int
	Labels []int
	Target float64
	// Line is where the example is in its file (1-based), for messages.
	Line int
}

// LabelledTask is a labelled-text task read from a file.
type LabelledTask struct {
	Format string // "tsv", "csv" or "jsonl"
	Path   string
	SHA256 string // of the whole file's bytes
	// Columns are the fields the examples came from: the text (or the two
	// texts of a pair) and the label, e.g. ["sentence1", "sentence2",
	// "label"]. For JSONL, those of the first example.
	Columns []string
	// Problem and NumLabels are the options the labels were read with.
	Problem   Problem
	NumLabels int
	// Limit is the limit the file was read with (0: none).
	Limit    int
	Examples []Example
}

// LabelOptions says how to read a labelled-text file.
type LabelOptions struct {
	// Format is "tsv", "csv" or "jsonl"; empty means the file's extension
	// (.tsv, .csv, .jsonl or .json).
	Format string
	// Problem is the kind of label; empty means SingleLabel.
	Problem Problem
	// NumLabels is the number of classes (1 for Regression).
	NumLabels int
	// Label2ID maps label names to class indices (config.json's
	// label2id). A label is looked up here first, then read as a class
	// index 0…NumLabels−1.
	Label2ID map[string]int
	// Limit > 0 stops reading after Limit examples.
	Limit int
}

// withDefaults checks o and fills in its defaults.
func (o LabelOptions) withDefaults() (LabelOptions, error) {
	if o.Problem == "" {
		o.Problem = SingleLabel
	}
	if err := o.Problem.check(); err != nil {
		return o, err
	}
	if o.Limit < 0 {
		return o, fmt.Errorf("limit must not be negative, got %d", o.Limit)
	}
	switch {
	case o.Problem == Regression && o.NumLabels != 1:
		return o, fmt.Errorf("a regression task has 1 label, got %d", o.NumLabels)
	case o.Problem != Regression && o.NumLabels < 2:
		return o, fmt.Errorf("a %s task needs at least 2 labels, got %d", o.Problem, o.NumLabels)
	}
	for _, name := range slices.Sorted(maps.Keys(o.Label2ID)) {
		if id := o.Label2ID[name]; id < 0 || id >= o.NumLabels {
			return o, fmt.Errorf("label2id: %q → %d is not a class index 0…%d", name, id, o.NumLabels-1)
		}
	}
	return o, nil
}

// rawLabel is a label as written in a file: one value, or a list of values
// (a multi-label JSON array). Text-file multi-labels are one value,
// comma-separated.
type rawLabel struct {
	value  string
	list   []string
	isList bool
}

// parseLabel reads raw into ex's label for the problem o describes.
func (o LabelOptions) parseLabel(raw rawLabel, ex *Example) error {
	switch o.Problem {
	case Regression:
		if raw.isList {
			return fmt.Errorf("a regression label is a number, got a list")
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(raw.value), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("regression label %q is not a finite number", raw.value)
		}
		ex.Target = v
	case MultiLabel:
		values := raw.list
		if !raw.isList {
			values = nil
			if s := strings.TrimSpace(raw.value); s != "" {
				values = strings.Split(s, ",")
			}
		}
		labels := make([]int, 0, len(values))
		for _, v := range values {
			c, err := o.classOf(strings.TrimSpace(v))
			if err != nil {
				return err
			}
			if slices.Contains(labels, c) {
				return fmt.Errorf("label %q is given twice", strings.TrimSpace(v))
			}
			labels = append(labels, c)
		}
		slices.Sort(labels)
		ex.Labels = labels
	default:
		if raw.isList {
			return fmt.Errorf("a %s label is one class, got a list", o.Problem)
		}
		c, err := o.classOf(strings.TrimSpace(raw.value))
		if err != nil {
			return err
		}
		ex.Label = c
	}
	return nil
}

// classOf maps a label to its class: through Label2ID, else as an index.
func (o LabelOptions) classOf(s string) (int, error) {
	if id, ok := o.Label2ID[s]; ok {
		return id, nil
	}
	if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < o.NumLabels {
		return i, nil
	}
	if len(o.Label2ID) == 0 {
		return 0, fmt.Errorf("unknown label %q: want a class index 0…%d", s, o.NumLabels-1)
	}
	return 0, fmt.Errorf("unknown label %q: want one of %s or a class index 0…%d",
		s, strings.Join(slices.Sorted(maps.Keys(o.Label2ID)), ", "), o.NumLabels-1)
}

// pairColumns are the field names recognised as a pair of texts, in order
// of precedence; then single texts; then the label.
var (
	pairColumns = [][2]string{
		{"sentence1", "sentence2"}, // GLUE MRPC, RTE, STS-B, WNLI; HF datasets
		{"text_a", "text_b"},
		{"text", "text_pair"},      // transformers' pipelines
		{"question", "sentence"},   // GLUE QNLI
		{"question1", "question2"}, // GLUE QQP
		{"premise", "hypothesis"},  // MNLI, SNLI, XNLI in HF datasets
	}
	singleColumns = []string{"sentence", "text"}
	labelColumn   = "label"
)

// chooseColumns picks the text field(s) and checks the label field among
// the fields has says exist: the first pair of pairColumns, else the first
// of singleColumns. cols is [text, label] or [textA, textB, label].
func chooseColumns(has func(string) bool) (cols []string, err error) {
	for _, p := range pairColumns {
		if has(p[0]) && has(p[1]) {
			cols = []string{p[0], p[1]}
			break
		}
	}
	if cols == nil {
		for _, s := range singleColumns {
			if has(s) {
				cols = []string{s}
				break
			}
		}
	}
	if cols == nil {
		for _, p := range pairColumns {
			if has(p[0]) != has(p[1]) {
				a, b := p[0], p[1]
				if has(b) {
					a, b = b, a
				}
				return nil, fmt.Errorf("field %q without %q", a, b)
			}
		}
		return nil, fmt.Errorf("no text field: want %s, or a pair %s", strings.Join(singleColumns, " or "), pairNames())
	}
	if !has(labelColumn) {
		return nil, fmt.Errorf("no %q field", labelColumn)
	}
	return append(cols, labelColumn), nil
}

// pairNames lists pairColumns for messages: "sentence1+sentence2, …".
func pairNames() string {
	var s []string
	for _, p := range pairColumns {
		s = append(s, p[0]+"+"+p[1])
	}
	return strings.Join(s, ", ")
}
