package eval

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxLabelledLine is the longest line ReadLabelled accepts in a TSV or
// JSONL file: it keeps a malformed file from filling memory.
const maxLabelledLine = 16 << 20

// ReadLabelled reads a labelled-text task, streaming: with opts.Limit it
// stops parsing after that many examples (the SHA-256 still covers the
// whole file). Formats:
//
//   - TSV (GLUE's): a header line naming the fields, then one example a
//     line, fields separated by tabs, no quoting (quotes are text);
//   - CSV (RFC 4180, encoding/csv): a header record, then one example a
//     record;
//   - JSONL: one JSON object a line, its keys the field names.
//
// The text is the field sentence or text; a pair of texts is
// sentence1+sentence2, text_a+text_b, text+text_pair, question+sentence,
// question1+question2 or premise+hypothesis (the first such pair present
// wins over a single text). The label is the field label: a class name
// (through opts.Label2ID) or index, a number for Regression, and for
// MultiLabel a list (a JSON array, or names or indices separated by commas
// in TSV and CSV; empty is no class). Other fields are ignored. Blank lines
// are skipped, CRLF line ends and a UTF-8 byte order mark accepted. Errors
// name FILE:LINE.
func ReadLabelled(path string, opts LabelOptions) (task *LabelledTask, err error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	format := o.Format
	if format == "" {
		if format, err = labelledFormat(path); err != nil {
			return nil, err
		}
	}
	var read func(path string, r io.Reader, emit emitFunc) ([]string, error)
	switch format {
	case "tsv":
		read = readTSV
	case "csv":
		read = readCSV
	case "jsonl":
		read = readLabelledJSONL
	default:
		return nil, fmt.Errorf("%s: unknown labelled-text format %q (want tsv, csv or jsonl)", path, format)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			task, err = nil, cerr
		}
	}()
	h := sha256.New()
	t := &LabelledTask{Format: format, Path: path, Problem: o.Problem, NumLabels: o.NumLabels, Limit: o.Limit}
	emit := func(row labelledRow) (bool, error) {
		ex := Example{Text: row.text, TextB: row.textB, Pair: row.pair, Line: row.line}
		if err := o.parseLabel(row.label, &ex); err != nil {
			return false, fmt.Errorf("%s:%d: %w", path, row.line, err)
		}
		t.Examples = append(t.Examples, ex)
		return o.Limit > 0 && len(t.Examples) == o.Limit, nil
	}
	if t.Columns, err = read(path, skipBOM(io.TeeReader(f, h)), emit); err != nil {
		return nil, err
	}
	if len(t.Examples) == 0 {
		return nil, fmt.Errorf("%s: no examples", path)
	}
	if _, err := io.Copy(h, f); err != nil { // the rest a limit left unread
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t.SHA256 = hex.EncodeToString(h.Sum(nil))
	return t, nil
}

// labelledFormat is the format a file's extension names.
func labelledFormat(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".tsv":
		return "tsv", nil
	case ".csv":
		return "csv", nil
	case ".jsonl", ".json":
		return "jsonl", nil
	}
	return "", fmt.Errorf("%s: cannot tell the format from the extension: want .tsv, .csv or .jsonl", path)
}

// labelledRow is one example as read, before its label is parsed.
type labelledRow struct {
	line        int
	text, textB string
	pair        bool
	label       rawLabel
}

// emitFunc takes a row; it returns true when no more rows are wanted.
type emitFunc func(labelledRow) (stop bool, err error)

// skipBOM drops a UTF-8 byte order mark at the start of r.
func skipBOM(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\ufeff")) {
		_, _ = br.Discard(3) // cannot fail: the bytes are buffered
	}
	return br
}

// lines calls fn with each line of r (without "\n" or "\r\n") and its
// number, until fn says stop.
func lines(path string, r io.Reader, fn func(n int, line string) (stop bool, err error)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLabelledLine)
	n := 0
	for sc.Scan() {
		n++
		stop, err := fn(n, strings.TrimSuffix(sc.Text(), "\r"))
		if err != nil || stop {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s:%d: line longer than %d MiB", path, n+1, maxLabelledLine>>20)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// header indexes a header's field names.
type header map[string]int

func newHeader(path string, line int, names []string) (header, []string, error) {
	h := header{}
	for i, name := range names {
		if _, dup := h[name]; dup {
			return nil, nil, fmt.Errorf("%s:%d: field %q twice in the header", path, line, name)
		}
		h[name] = i
	}
	cols, err := chooseColumns(func(s string) bool { _, ok := h[s]; return ok })
	if err != nil {
		return nil, nil, fmt.Errorf("%s:%d: header: %w", path, line, err)
	}
	return h, cols, nil
}

// row makes the example of a record under the chosen columns.
func (h header) row(line int, cols, rec []string) labelledRow {
	r := labelledRow{line: line, text: rec[h[cols[0]]], label: rawLabel{value: rec[h[cols[len(cols)-1]]]}}
	if len(cols) == 3 {
		r.textB, r.pair = rec[h[cols[1]]], true
	}
	return r
}

func readTSV(path string, r io.Reader, emit emitFunc) ([]string, error) {
	var h header
	var cols []string
	err := lines(path, r, func(n int, line string) (bool, error) {
		if strings.TrimSpace(line) == "" {
			return false, nil
		}
		rec := strings.Split(line, "\t")
		if h == nil {
			var err error
			h, cols, err = newHeader(path, n, rec)
			return false, err
		}
		if len(rec) != len(h) {
			return false, fmt.Errorf("%s:%d: %d tab-separated fields, the header has %d", path, n, len(rec), len(h))
		}
		return emit(h.row(n, cols, rec))
	})
	if err == nil && h == nil {
		err = fmt.Errorf("%s: empty file: want a header line", path)
	}
	return cols, err
}

func readCSV(path string, r io.Reader, emit emitFunc) ([]string, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	csvErr := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s:%d:%d: %w", path, pe.Line, pe.Column, pe.Err)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	rec, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file: want a header record", path)
	}
	if err != nil {
		return nil, csvErr(err)
	}
	line, _ := cr.FieldPos(0)
	h, cols, err := newHeader(path, line, rec)
	if err != nil {
		return nil, err
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return cols, nil
		}
		if err != nil {
			return nil, csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		stop, err := emit(h.row(line, cols, rec))
		if err != nil || stop {
			return cols, err
		}
	}
}

func readLabelledJSONL(path string, r io.Reader, emit emitFunc) ([]string, error) {
	var first []string
	err := lines(path, r, func(n int, line string) (bool, error) {
		if strings.TrimSpace(line) == "" {
			return false, nil
		}
		row, cols, err := jsonRow(n, line)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return false, fmt.Errorf("%s:%d:%d: invalid JSON: %w", path, n, se.Offset, err)
		}
		if err != nil {
			return false, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if first == nil {
			first = cols
		}
		return emit(row)
	})
	return first, err
}

// jsonRow reads one JSONL line into a row and the fields it used.
func jsonRow(n int, line string) (labelledRow, []string, error) {
	var obj map[string]json.RawMessage
	if err := decodeOne([]byte(line), &obj); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return labelledRow{}, nil, err
		}
		return labelledRow{}, nil, fmt.Errorf("want a JSON object: %w", err)
	}
	cols, err := chooseColumns(func(s string) bool { _, ok := obj[s]; return ok })
	if err != nil {
		return labelledRow{}, nil, err
	}
	texts := make([]string, len(cols)-1)
	for i, c := range cols[:len(cols)-1] {
		if err := json.Unmarshal(obj[c], &texts[i]); err != nil || string(bytes.TrimSpace(obj[c])) == "null" {
			return labelledRow{}, nil, fmt.Errorf("field %q is not a string", c)
		}
	}
	label, err := jsonLabel(obj[labelColumn])
	if err != nil {
		return labelledRow{}, nil, err
	}
	row := labelledRow{line: n, text: texts[0], label: label}
	if len(texts) == 2 {
		row.textB, row.pair = texts[1], true
	}
	return row, cols, nil
}

// jsonLabel reads a JSON label: a string or a number (its literal text),
// or an array of them.
func jsonLabel(raw json.RawMessage) (rawLabel, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return rawLabel{}, fmt.Errorf("label: %v", err)
	}
	scalar := func(v any) (string, bool) {
		switch x := v.(type) {
		case string:
			return x, true
		case json.Number:
			return x.String(), true
		}
		return "", false
	}
	if list, ok := v.([]any); ok {
		l := rawLabel{isList: true, list: make([]string, len(list))}
		for i, e := range list {
			s, ok := scalar(e)
			if !ok {
				return rawLabel{}, fmt.Errorf("label: element %d of the list is not a string or a number", i)
			}
			l.list[i] = s
		}
		return l, nil
	}
	s, ok := scalar(v)
	if !ok {
		return rawLabel{}, fmt.Errorf("label %s is not a string, a number or a list", raw)
	}
	return rawLabel{value: s}, nil
}
