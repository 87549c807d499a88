package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"lopper/pipeline"
)

// Comparison is two runs side by side (`lopper diff A B`). Rows follow
// run A's order, with what only run B has merged in where B has it. A value missing on one side is
// nil (JSON null).
type Comparison struct {
	A         string        `json:"a"` // run A's run.json
	B         string        `json:"b"`
	Run       []FieldRow    `json:"run"`
	Params    []ParamRow    `json:"params"`
	Stages    []StageRow    `json:"stages"`
	Metrics   []MetricRow   `json:"metrics"`
	Artifacts []ArtifactRow `json:"artifacts"`
}

// FieldRow is one run-level field.
type FieldRow struct {
	Field   string `json:"field"`
	A       string `json:"a"`
	B       string `json:"b"`
	Changed bool   `json:"changed"`
}

// ParamRow is one param's resolved value in each run.
type ParamRow struct {
	Name    string `json:"name"`
	A       any    `json:"a"`
	B       any    `json:"b"`
	Changed bool   `json:"changed"`
}

// StageRow is one stage instance (by path, nested ones included).
type StageRow struct {
	Stage         string  `json:"stage"` // e.g. "gradual[2]/prune"
	Kind          string  `json:"kind"`
	StatusA       string  `json:"status_a,omitempty"` // "" when the run has no such stage
	StatusB       string  `json:"status_b,omitempty"`
	SecondsA      *Number `json:"seconds_a"`
	SecondsB      *Number `json:"seconds_b"`
	ConfigChanged bool    `json:"config_changed"` // both ran, with different resolved configs
}

// MetricRow is one metric of one stage instance.
type MetricRow struct {
	Stage  string  `json:"stage"`
	Metric string  `json:"metric"`
	A      *Number `json:"a"`
	B      *Number `json:"b"`
	Delta  *Number `json:"delta"` // B − A when both are there
}

// ArtifactRow is one artifact of one stage instance.
type ArtifactRow struct {
	Stage    string `json:"stage"`
	Artifact string `json:"artifact"`
	Kind     string `json:"kind"`
	A        string `json:"a"` // digest, "" when absent
	B        string `json:"b"`
	Same     bool   `json:"same"`
}

// Number is a float that survives JSON: NaN and ±Inf are written as the
// strings "NaN", "+Inf", "-Inf" (as in run.json).
type Number float64

// MarshalJSON implements json.Marshaler.
func (n Number) MarshalJSON() ([]byte, error) {
	v := float64(n)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return json.Marshal(v)
}

func num(v float64) *Number { n := Number(v); return &n }

// Compare lines up two run records. fileA and fileB name them in the
// output.
func Compare(fileA string, a *pipeline.RunRecord, fileB string, b *pipeline.RunRecord) *Comparison {
	c := &Comparison{A: fileA, B: fileB}
	c.Run = runFields(a, b)
	c.Params = paramRows(a.Params, b.Params)
	sa, sb := stageIndex(a), stageIndex(b)
	for _, path := range unionOrder(sa.order, sb.order) {
		x, y := sa.byPath[path], sb.byPath[path]
		c.Stages = append(c.Stages, stageRow(path, x, y))
		c.Metrics = append(c.Metrics, metricRows(path, x, y)...)
		c.Artifacts = append(c.Artifacts, artifactRows(path, x, y)...)
	}
	return c
}

func runFields(a, b *pipeline.RunRecord) []FieldRow {
	when := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	}
	dur := func(r *pipeline.RunRecord) string {
		if r.Status == pipeline.RunRunning || r.Ended.IsZero() { // still going, or died
			return "-"
		}
		return FormatSeconds(r.Seconds)
	}
	rows := []FieldRow{
		{Field: "run dir", A: a.RunDir, B: b.RunDir},
		{Field: "recipe", A: a.Name, B: b.Name},
		{Field: "status", A: string(a.Status), B: string(b.Status)},
		{Field: "error", A: a.Error, B: b.Error},
		{Field: "started", A: when(a.Started), B: when(b.Started)},
		{Field: "duration", A: dur(a), B: dur(b)},
		{Field: "recipe file", A: a.Recipe.File, B: b.Recipe.File},
		{Field: "recipe digest", A: a.Recipe.Digest, B: b.Recipe.Digest},
		{Field: "lopper", A: a.Lopper, B: b.Lopper},
		{Field: "go", A: a.Go, B: b.Go},
		{Field: "platform", A: a.Platform, B: b.Platform},
		{Field: "jobs", A: fmt.Sprint(a.Jobs), B: fmt.Sprint(b.Jobs)},
	}
	for i := range rows {
		switch rows[i].Field {
		case "run dir", "started", "duration": // always differ; not a change
		default:
			rows[i].Changed = rows[i].A != rows[i].B
		}
	}
	return rows
}

func paramRows(a, b []pipeline.ParamValue) []ParamRow {
	va, vb := map[string]any{}, map[string]any{}
	var order []string
	for _, p := range a {
		va[p.Name] = p.Value
		order = append(order, p.Name)
	}
	for _, p := range b {
		vb[p.Name] = p.Value
		if _, ok := va[p.Name]; !ok {
			order = append(order, p.Name)
		}
	}
	rows := make([]ParamRow, 0, len(order))
	for _, n := range order {
		x, inA := va[n]
		y, inB := vb[n]
		rows = append(rows, ParamRow{Name: n, A: x, B: y, Changed: inA != inB || !sameJSON(x, y)})
	}
	return rows
}

// sameJSON compares two decoded or in-memory param values by their JSON.
func sameJSON(x, y any) bool {
	bx, ex := json.Marshal(x)
	by, ey := json.Marshal(y)
	return ex == nil && ey == nil && bytes.Equal(bx, by)
}

type stageSet struct {
	order  []string
	byPath map[string]*pipeline.StageRecord
}

func stageIndex(r *pipeline.RunRecord) stageSet {
	s := stageSet{byPath: map[string]*pipeline.StageRecord{}}
	r.Walk(func(st *pipeline.StageRecord) {
		if _, dup := s.byPath[st.Path]; !dup {
			s.order = append(s.order, st.Path)
			s.byPath[st.Path] = st
		}
	})
	return s
}

// unionOrder is a's order with what only b has merged in: each such entry
// right after the entry that precedes it in b (so a stage that ran only in
// B appears among its neighbours).
func unionOrder(a, b []string) []string {
	out := slices.Clone(a)
	last := -1
	for _, p := range b {
		i := slices.Index(out, p)
		if i < 0 {
			i = last + 1
			out = slices.Insert(out, i, p)
		}
		last = i
	}
	return out
}

func stageRow(path string, x, y *pipeline.StageRecord) StageRow {
	r := StageRow{Stage: path}
	if x != nil {
		r.Kind, r.StatusA, r.SecondsA = x.Uses, string(x.Status), num(x.Seconds)
	}
	if y != nil {
		r.StatusB, r.SecondsB = string(y.Status), num(y.Seconds)
		if r.Kind == "" {
			r.Kind = y.Uses
		}
	}
	if x != nil && y != nil && x.ConfigDigest != "" && y.ConfigDigest != "" {
		r.ConfigChanged = x.ConfigDigest != y.ConfigDigest
	}
	return r
}

func metricRows(path string, x, y *pipeline.StageRecord) []MetricRow {
	var names []string
	if x != nil {
		names = slices.Sorted(maps.Keys(x.Metrics))
	}
	if y != nil {
		names = unionOrder(names, slices.Sorted(maps.Keys(y.Metrics)))
	}
	rows := make([]MetricRow, 0, len(names))
	for _, n := range names {
		r := MetricRow{Stage: path, Metric: n}
		if v, ok := metric(x, n); ok {
			r.A = num(v)
		}
		if v, ok := metric(y, n); ok {
			r.B = num(v)
		}
		if r.A != nil && r.B != nil {
			r.Delta = num(float64(*r.B) - float64(*r.A))
		}
		rows = append(rows, r)
	}
	return rows
}

func metric(s *pipeline.StageRecord, name string) (float64, bool) {
	if s == nil {
		return 0, false
	}
	v, ok := s.Metrics[name]
	return v, ok
}

func artifactRows(path string, x, y *pipeline.StageRecord) []ArtifactRow {
	var names []string
	if x != nil {
		names = slices.Sorted(maps.Keys(x.Artifacts))
	}
	if y != nil {
		names = unionOrder(names, slices.Sorted(maps.Keys(y.Artifacts)))
	}
	rows := make([]ArtifactRow, 0, len(names))
	for _, n := range names {
		r := ArtifactRow{Stage: path, Artifact: n}
		if x != nil {
			if a, ok := x.Artifacts[n]; ok {
				r.Kind, r.A = a.Kind, a.Digest
			}
		}
		if y != nil {
			if a, ok := y.Artifacts[n]; ok {
				r.B = a.Digest
				if r.Kind == "" {
					r.Kind = a.Kind
				}
			}
		}
		r.Same = r.A != "" && r.A == r.B
		rows = append(rows, r)
	}
	return rows
}
