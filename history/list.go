package history

import (
	"bytes"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"lopper/pipeline"
)

// StatusUnreadable is a listed run whose record could not be read.
const StatusUnreadable = "unreadable"

// Summary is one line of a listing (`lopper runs`, also its --json form).
type Summary struct {
	Dir      string     `json:"dir"`
	Name     string     `json:"name"`             // the run directory's name
	Recipe   string     `json:"recipe,omitempty"` // the recipe's name
	Status   string     `json:"status"`           // the run's status, or "unreadable"
	Started  *time.Time `json:"started,omitempty"`
	Seconds  float64    `json:"seconds,omitempty"` // 0 while running
	Headline *Headline  `json:"headline,omitempty"`
	Error    string     `json:"error,omitempty"` // the run's error, or why it is unreadable
}

// Summarize turns listed entries into summaries.
func Summarize(entries []Entry) []Summary {
	out := make([]Summary, 0, len(entries))
	for _, e := range entries {
		s := Summary{Dir: e.Dir, Name: e.Name}
		if e.Err != nil {
			s.Status, s.Error = StatusUnreadable, e.Err.Error()
			out = append(out, s)
			continue
		}
		r := e.Record
		started := r.Started
		s.Recipe, s.Status, s.Started, s.Error = r.Name, string(r.Status), &started, r.Error
		if r.Status != pipeline.RunRunning {
			s.Seconds = r.Seconds
		}
		if h := HeadlineOf(r); h.Metrics != nil {
			s.Headline = &h
		}
		out = append(out, s)
	}
	return out
}

// WriteList writes summaries as a table, newest first as given, then the
// unreadable runs with their errors.
func WriteList(w io.Writer, list []Summary) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED (UTC)\tRECIPE\tSTATUS\tDURATION\tACCURACY\tPERPLEXITY\tSPARSITY\tRUN")
	var bad []Summary
	for _, s := range list {
		if s.Status == StatusUnreadable {
			bad = append(bad, s)
			fmt.Fprintf(tw, "-\t-\t%s\t-\t-\t-\t-\t%s\n", s.Status, s.Name)
			continue
		}
		dur := "-"
		if s.Seconds > 0 {
			dur = FormatSeconds(s.Seconds)
		}
		acc, ppl, sp := "-", "-", "-"
		if s.Headline != nil {
			m := s.Headline.Metrics
			if v, ok := m[MetricAccuracy]; ok {
				acc = FormatNumber(v)
			} else if v, ok := m[MetricAcc]; ok {
				acc = FormatNumber(v) + " (acc)"
			}
			if v, ok := m[MetricPerplexity]; ok {
				ppl = FormatNumber(v)
			}
			if v, ok := m[MetricSparsity]; ok {
				sp = fmt.Sprintf("%.1f%%", 100*v)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			s.Started.UTC().Format("2006-01-02 15:04:05"), s.Recipe, s.Status, dur, acc, ppl, sp, s.Name)
	}
	if err := tw.Flush(); err != nil { // into a buffer: cannot fail
		return err
	}
	if len(bad) > 0 {
		fmt.Fprintf(&buf, "\n%d run(s) could not be read:\n", len(bad))
		for _, s := range bad {
			fmt.Fprintf(&buf, "  %s\n", s.Error) // the error names the file
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}
