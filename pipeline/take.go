package pipeline

import "fmt"

// StageTaker is a StageHost that can hand a stage an input it is the last
// reader of (see StageContext.Take); the local executor's is one.
type StageTaker interface {
	// Take returns the result of input id (as Input does) and whether the
	// stage owns it.
	Take(id string) (res *Result, owned, ok bool)
}

// Take returns the result of the stage r names, as Input does, and
// whether this stage owns it: no other stage that may still run reads it
// and the engine needs its artifacts no more, so the stage may change them
// (prune a model in place) instead of copying them. An owned result must
// not be read again, through Input or Take. A stage that is not the last
// reader (another stage reads the input, now or later; a loop's prev; a
// run that keeps every artifact) gets owned false and must copy as usual.
func (sc *StageContext) Take(r Ref) (*Result, bool, error) {
	t, ok := sc.host.(StageTaker)
	if !ok {
		res, err := sc.Input(r)
		return res, false, err
	}
	res, owned, ok := t.Take(r.ID)
	if !ok {
		return nil, false, fmt.Errorf("stage %s: no result for input %q (not a finished dependency)", sc.ID, r.ID)
	}
	return res, owned, nil
}

// TakeArtifact is InputArtifact through Take: the artifact called name of
// the stage r names as a T, and whether this stage owns it.
func TakeArtifact[T Artifact](sc *StageContext, r Ref, name string) (T, bool, error) {
	var zero T
	res, owned, err := sc.Take(r)
	if err != nil {
		return zero, false, err
	}
	a, ok := res.Artifacts[name]
	if !ok {
		return zero, false, fmt.Errorf("stage %s: input %s has no %q artifact", sc.ID, r.ID, name)
	}
	t, ok := a.(T)
	if !ok {
		return zero, false, fmt.Errorf("stage %s: input %s's %q artifact is a %s (%T), want %T", sc.ID, r.ID, name, a.Kind(), a, zero)
	}
	return t, owned, nil
}
