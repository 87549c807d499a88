// Package history reads the records of past runs (DIR/<timestamp>-<name>/run.json,
// written by package pipeline): it lists them, finds a run from what a user
// types (a run directory, a run.json path or a prefix of a run directory's
// name), picks out a run's headline results, and compares two runs. It only
// reads; the runner owns writing.
package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"lopper/pipeline"
)

// DefaultOutDir is where `lopper run` creates run directories unless told
// otherwise (the runner's default).
const DefaultOutDir = "runs"

// Read reads and decodes a run.json. Its errors name the file. A run
// whose process died shows as interrupted (pipeline.SettleDead).
func Read(path string) (*pipeline.RunRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rec pipeline.RunRecord
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("%s: not a valid run record: %w", path, jsonPos(data, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: not a valid run record: data after the JSON object", path)
	}
	if rec.Schema != pipeline.RecordSchema {
		return nil, fmt.Errorf("%s: run record schema %d, this lopper reads schema %d", path, rec.Schema, pipeline.RecordSchema)
	}
	// A record that says "running" while no process holds its run
	// directory is the record of a killed run: show it as interrupted.
	pipeline.SettleDead(&rec, filepath.Dir(path))
	return &rec, nil
}

// jsonPos adds the line and column to a JSON syntax or type error.
func jsonPos(data []byte, err error) error {
	var off int64
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	case errors.Is(err, io.EOF):
		return errors.New("the file is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("truncated: the file ends inside the JSON object")
	default:
		return err
	}
	// Offset counts the bytes read, the offending one included.
	off = min(max(off-1, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// Entry is one run directory found by List: either its record or why the
// record could not be read.
type Entry struct {
	Dir    string              // the run directory
	Name   string              // its base name, e.g. 20260102T150405Z-quickstart
	Record *pipeline.RunRecord // nil when Err is set
	Err    error               // run.json missing, unreadable or corrupt
	when   time.Time           // sort key
}

// runDirName matches the names the runner gives run directories.
var runDirName = regexp.MustCompile(`^(\d{8}T\d{6}Z)-`)

// List reads every run under outDir, newest first. A directory counts as a
// run when it holds a run.json or is named like one (<timestamp>-<name>);
// a run whose record cannot be read is listed with its error rather than
// failing the listing. The error is for an outDir that cannot be read.
func List(outDir string) ([]Entry, error) {
	des, err := os.ReadDir(outDir)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, de := range des {
		if !de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		dir := filepath.Join(outDir, de.Name())
		file := filepath.Join(dir, pipeline.RecordFile)
		m := runDirName.FindStringSubmatch(de.Name())
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) && m == nil {
			continue // not a run directory
		}
		e := Entry{Dir: dir, Name: de.Name()}
		e.Record, e.Err = Read(file)
		switch {
		case e.Record != nil:
			e.when = e.Record.Started
		case m != nil:
			e.when, _ = time.Parse("20060102T150405Z", m[1])
		default:
			if info, err := de.Info(); err == nil {
				e.when = info.ModTime()
			}
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b Entry) int {
		if c := b.when.Compare(a.when); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name)
	})
	return out, nil
}

// Resolve finds the run.json that arg names: a run.json file, a run
// directory, or a prefix of the name of a run directory under outDir
// (e.g. "20260102T15" or the full name). An ambiguous prefix is an error
// that lists the candidates.
func Resolve(outDir, arg string) (string, error) {
	if arg == "" {
		return "", errors.New("empty run name")
	}
	if info, err := os.Stat(arg); err == nil {
		if !info.IsDir() {
			return arg, nil
		}
		file := filepath.Join(arg, pipeline.RecordFile)
		if _, err := os.Stat(file); err != nil {
			return "", fmt.Errorf("%s is a directory without a %s: not a run directory", arg, pipeline.RecordFile)
		}
		return file, nil
	}
	if strings.ContainsRune(arg, filepath.Separator) {
		return "", fmt.Errorf("%s: no such run directory or file", arg)
	}
	des, err := os.ReadDir(outDir)
	if err != nil {
		return "", fmt.Errorf("%s is not a run directory or file, and runs in %s cannot be listed: %w", arg, outDir, err)
	}
	var matches []string
	for _, de := range des {
		if de.IsDir() && strings.HasPrefix(de.Name(), arg) {
			if de.Name() == arg {
				matches = []string{arg}
				break
			}
			matches = append(matches, de.Name())
		}
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("no run in %s matches %q (give a run directory, a run.json, or the start of a run's name; `lopper runs` lists them)", outDir, arg)
	case 1:
		return filepath.Join(outDir, matches[0], pipeline.RecordFile), nil
	}
	slices.Sort(matches)
	shown := matches
	if len(shown) > 5 {
		shown = append(slices.Clone(shown[:5]), fmt.Sprintf("and %d more", len(matches)-5))
	}
	return "", fmt.Errorf("%q matches %d runs in %s: %s", arg, len(matches), outDir, strings.Join(shown, ", "))
}
