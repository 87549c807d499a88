package runner

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"lopper/pipeline"
)

// StatusReport is what `lopper status` says about a recipe.
type StatusReport struct {
	Recipe   string `json:"recipe"`
	UpToDate bool   `json:"up_to_date"` // no stage is stale (volatile ones always run)
	// Changes are the recipe-wide differences from the lockfile: params,
	// the recipe text, lopper's build, float arithmetic.
	Changes []string     `json:"changes,omitempty"`
	Stages  []StageState `json:"stages"`
}

// StageState is one stage instance's state: up-to-date, stale, volatile
// or skipped, with the reasons.
type StageState struct {
	Path    string   `json:"path"`
	Uses    string   `json:"uses"`
	State   string   `json:"state"`
	Reasons []string `json:"reasons,omitempty"`
}

// report turns the replayed record into a StatusReport.
func (o *lockOracle) report(r *pipeline.Recipe, rec *pipeline.RunRecord) *StatusReport {
	rep := &StatusReport{Recipe: r.File, UpToDate: true, Changes: o.changes(r, rec)}
	byPath := map[string]*pipeline.StageRecord{}
	rec.Walk(func(s *pipeline.StageRecord) { byPath[s.Path] = s })
	memo := map[string]verdict{}
	var judge func(s *pipeline.StageRecord, depth int) verdict
	judge = func(s *pipeline.StageRecord, depth int) verdict {
		if v, ok := memo[s.Path]; ok {
			return v
		}
		v := o.judge(s, byPath, func(p string) (verdict, bool) {
			d, ok := byPath[p]
			if !ok || depth > len(byPath) {
				return verdict{}, false
			}
			return judge(d, depth+1), true
		})
		memo[s.Path] = v
		return v
	}
	rec.Walk(func(s *pipeline.StageRecord) {
		v := judge(s, 0)
		rep.Stages = append(rep.Stages, StageState{Path: s.Path, Uses: s.Uses, State: v.state, Reasons: v.reasons})
		if v.state == StateStale {
			rep.UpToDate = false
		}
	})
	return rep
}

// judge gives a replayed stage's state: the oracle's verdict for kinds, or
// one derived from what the replay recorded for the others.
func (o *lockOracle) judge(s *pipeline.StageRecord, byPath map[string]*pipeline.StageRecord, dep func(path string) (verdict, bool)) verdict {
	o.mu.Lock()
	v, ok := o.verdicts[s.Path]
	o.mu.Unlock()
	if ok {
		return v
	}
	switch s.Status {
	case pipeline.StageSucceeded, pipeline.StageCached:
		return verdict{state: StateUpToDate}
	case pipeline.StageSkipped:
		return verdict{state: StateSkipped, reasons: []string{s.Reason}}
	case pipeline.StageCancelled:
		var id string
		if _, err := fmt.Sscanf(s.Reason, "dependency %s", &id); err == nil {
			p := strings.TrimSuffix(s.Path, s.ID) + id
			if d, ok := dep(p); ok {
				if d.state == StateVolatile {
					return verdict{state: StateVolatile, reasons: []string{"reads " + p + ", which runs every time"}}
				}
				return verdict{state: StateStale, reasons: []string{"upstream " + p + " is stale"}}
			}
		}
	case pipeline.StageFailed:
		if nested := nestedStates(s, dep); len(nested) > 0 {
			return summarizeNested(nested)
		}
	}
	reason := s.Error
	if reason == "" {
		reason = s.Reason
	}
	return verdict{state: StateStale, reasons: []string{reason}}
}

// nestedStates returns the verdicts of a loop's or matrix's stages that
// are not up to date, by path.
func nestedStates(s *pipeline.StageRecord, dep func(string) (verdict, bool)) map[string]verdict {
	out := map[string]verdict{}
	for _, n := range s.Children() {
		if v, ok := dep(n.Path); ok && v.state != StateUpToDate && v.state != StateSkipped {
			out[n.Path] = v
		}
	}
	return out
}

func summarizeNested(nested map[string]verdict) verdict {
	paths := slices.Sorted(maps.Keys(nested))
	for _, p := range paths {
		if nested[p].state == StateStale {
			return verdict{state: StateStale, reasons: []string{"its stage " + p + " is stale"}}
		}
	}
	return verdict{state: StateVolatile, reasons: []string{"its stage " + paths[0] + " runs every time"}}
}

// changes lists the recipe-wide differences from the lockfile.
func (o *lockOracle) changes(r *pipeline.Recipe, rec *pipeline.RunRecord) []string {
	var out []string
	if o.lock.RecipeDigest != r.Digest {
		out = append(out, "the recipe file changed (its stages are compared one by one)")
	}
	locked := map[string]any{}
	for _, p := range o.lock.Params {
		locked[p.Name] = p.Value
	}
	for _, p := range rec.Params {
		v := p.Value
		if s, ok := v.(string); ok && p.Type == pipeline.ParamPath {
			v = relTo(o.lockDir, s)
		}
		old, ok := locked[p.Name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("param %s is new (%v)", p.Name, v))
		case !sameValue(old, v):
			out = append(out, fmt.Sprintf("param %s: %v → %v", p.Name, old, v))
		}
		delete(locked, p.Name)
	}
	for _, n := range slices.Sorted(maps.Keys(locked)) {
		out = append(out, fmt.Sprintf("param %s was removed", n))
	}
	if o.lock.Build != o.now.Build {
		out = append(out, fmt.Sprintf("lopper build changed (%s → %s): every stage is recomputed", o.lock.Build, o.now.Build))
	}
	if o.lock.Numerics != o.now.Numerics {
		out = append(out, fmt.Sprintf("this machine computes floats differently (%s → %s): every stage is recomputed", o.lock.Numerics, o.now.Numerics))
	}
	return out
}

// sameValue compares a param value read back from YAML with a resolved
// one by their JSON (YAML gives an int where a float param had an
// integral value; both encode as the same number).
func sameValue(a, b any) bool {
	x, errx := json.Marshal(a)
	y, erry := json.Marshal(b)
	return errx == nil && erry == nil && string(x) == string(y)
}

// normalized passes a value through JSON, so that it has the types a
// JSON-decoded value has.
func normalized(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

// configDiff lists the fields of a stage's config that differ between the
// lockfile and now, as "field: old → new".
func configDiff(locked any, now json.RawMessage) []string {
	var cur any
	if len(now) > 0 && json.Unmarshal(now, &cur) != nil {
		return []string{"config changed"}
	}
	a, b := map[string]string{}, map[string]string{}
	flatten("", normalized(locked), a)
	flatten("", cur, b)
	keys := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		x, okx := a[k]
		y, oky := b[k]
		switch {
		case !okx:
			out = append(out, fmt.Sprintf("config %s: (unset) → %s", k, y))
		case !oky:
			out = append(out, fmt.Sprintf("config %s: %s → (unset)", k, x))
		case x != y:
			out = append(out, fmt.Sprintf("config %s: %s → %s", k, x, y))
		}
	}
	return out
}

// flatten writes a JSON-decoded tree as dotted paths → JSON text.
func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(dotted(prefix, k), e, out)
		}
	case []any:
		for i, e := range x {
			flatten(dotted(prefix, fmt.Sprint(i)), e, out)
		}
	default:
		b, _ := json.Marshal(x) // a JSON-decoded scalar always encodes
		out[prefix] = string(b)
	}
}

// WriteText writes the report for people: the changes, then one line per
// stage instance that is not up to date, and a count.
func (rep *StatusReport) WriteText(w io.Writer, all bool) error {
	var b strings.Builder
	for _, c := range rep.Changes {
		fmt.Fprintf(&b, "changed: %s\n", c)
	}
	counts := map[string]int{}
	for _, s := range rep.Stages {
		counts[s.State]++
		if s.State == StateUpToDate && !all {
			continue
		}
		fmt.Fprintf(&b, "%-10s %s (%s)", s.State, s.Path, s.Uses)
		if len(s.Reasons) > 0 {
			fmt.Fprintf(&b, ": %s", strings.Join(s.Reasons, "; "))
		}
		b.WriteByte('\n')
	}
	verdict := "up to date"
	if !rep.UpToDate {
		verdict = "stale"
	}
	fmt.Fprintf(&b, "%s: %s: %d stage(s) up to date, %d stale, %d volatile, %d skipped\n", rep.Recipe, verdict,
		counts[StateUpToDate], counts[StateStale], counts[StateVolatile], counts[StateSkipped])
	_, err := io.WriteString(w, b.String())
	return err
}

// dotted joins a dotted path and a key.
func dotted(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
