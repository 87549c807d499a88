package sched

import "lopper/pipeline"

// Artifact lifetime. A finished stage's result is kept by its scope run for
// the expressions that read its metrics; its artifacts (models: most of the
// run's memory) only for as long as a stage that may still run reads them.
// The readers of a stage are static: the stages of its scope that depend on
// it (a loop or matrix stands for every stage of its body that reads an
// outer stage, and a loop for its from). Once every reader is final, the
// state's result (and the stage's record) keep the artifacts by kind and
// digest only, and the engine no longer reaches the objects. A loop holds
// the carry of the iterations it may still keep (see loopRun).
//
// A stage that is the last reader of an input may take it (Task.Owned): it
// may then change the input's artifacts instead of copying them. It is the
// last reader when every other reader is final, the input is not a loop's
// prev (nor a carry the loop may keep), and no other result the engine
// holds has an artifact of the same digest (a kind that passes its input
// on unchanged). Readers are decided when the task starts, so two stages
// reading one result at the same time never own it.

// takeable reports whether stage reader of this scope run, about to start,
// may take the result of its dependency d.
func (sr *scopeRun) takeable(d, reader int) bool {
	st := &sr.states[d]
	if sr.m.opts.KeepArtifacts || st.held || st.released || len(st.result.Artifacts) == 0 {
		return false
	}
	if !sr.readersFinal(d, reader) {
		return false
	}
	for _, a := range st.result.Artifacts {
		if sr.m.live[a.Digest()] != 1 {
			return false
		}
	}
	return true
}

// readersFinal reports whether every reader of stage d but except (-1:
// none) is final.
func (sr *scopeRun) readersFinal(d, except int) bool {
	for _, j := range sr.plan.readers[d] {
		if j != except && sr.states[j].phase != final {
			return false
		}
	}
	return true
}

// hold counts the artifacts of a result the engine now holds.
func (m *Machine) hold(res *pipeline.Result) {
	if res == nil {
		return
	}
	for _, a := range res.Artifacts {
		m.live[a.Digest()]++
	}
}

// maybeRelease drops the artifacts of stage i's result once no stage that
// may still run reads them.
func (sr *scopeRun) maybeRelease(i int) {
	st := &sr.states[i]
	if sr.m.opts.KeepArtifacts || st.phase != final || st.result == nil || st.held || st.released {
		return
	}
	if !sr.readersFinal(i, -1) {
		return
	}
	st.released = true
	for _, a := range st.result.Artifacts {
		d := a.Digest()
		if sr.m.live[d]--; sr.m.live[d] <= 0 {
			delete(sr.m.live, d)
		}
	}
	st.result = stripped(st.result)
	sr.records[i].SetResult(st.result)
}

// released drops the dependencies of stage i that it was the last reader
// of, and i's own artifacts when nothing reads them, once i is final.
func (sr *scopeRun) released(i int) {
	for _, d := range sr.plan.deps[i] {
		sr.maybeRelease(d)
	}
	sr.maybeRelease(i)
}

// stripped returns res with its artifacts known by kind and digest only.
func stripped(res *pipeline.Result) *pipeline.Result {
	if res == nil || len(res.Artifacts) == 0 {
		return res
	}
	out := *res
	out.Artifacts = make(map[string]pipeline.Artifact, len(res.Artifacts))
	for name, a := range res.Artifacts {
		if _, ok := a.(releasedArtifact); !ok {
			a = releasedArtifact{kind: a.Kind(), digest: a.Digest()}
		}
		out.Artifacts[name] = a
	}
	return &out
}

// releasedArtifact is an artifact no stage reads any more: its kind and
// digest, for the record.
type releasedArtifact struct{ kind, digest string }

func (a releasedArtifact) Kind() string   { return a.kind }
func (a releasedArtifact) Digest() string { return a.digest }

// readersOf lists, for each stage of a plan, the stages that depend on it.
func readersOf(deps [][]int) [][]int {
	readers := make([][]int, len(deps))
	for j, ds := range deps {
		for _, d := range ds {
			readers[d] = append(readers[d], j)
		}
	}
	return readers
}
