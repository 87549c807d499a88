package pipeline

import (
	"fmt"
	"strings"
)

// assertSpec is a quality gate: `with: {that: EXPR, message: TEXT}`. When
// the condition is false the stage fails as a gate failure: the run's exit
// code is 3 (unless another stage failed), and stages that depend on the
// gate do not run.
type assertSpec struct {
	that    *Expr
	message string
}

type assertConfig struct {
	That    string `yaml:"that"`
	Message string `yaml:"message"`
}

func (l *loader) configureAssert(s *Stage) {
	var cfg assertConfig
	inst, ok := l.decodeControl(s, &cfg, "that")
	s.assert = &assertSpec{message: cfg.Message}
	if !ok {
		return
	}
	if cfg.That == "" {
		l.ps.add(l.fieldPos(s, inst, "that"), fmt.Sprintf("stage %s: that: required: the condition that must hold, e.g. \"final.perplexity < baseline.perplexity * 1.1\"", s.ID))
		return
	}
	s.assert.that = l.controlExpr(s, inst, "that", cfg.That)
}

// GateError is the error of an assert stage whose condition is false: a
// failed gate, not a failed stage (the run's exit code is 3 unless a stage
// failed too).
type GateError struct {
	msg string
}

// Error implements error.
func (e *GateError) Error() string { return e.msg }

// NewGateError returns a failed gate with the message msg: what a gate's
// error becomes again after travelling as text (a distributed executor).
func NewGateError(msg string) *GateError { return &GateError{msg: msg} }

// Gate evaluates an assert stage's condition on the values in scope (see
// Values): nil when it holds, a *GateError naming the condition, its
// message and the values it read when it does not, or the evaluation's
// error.
func (s *Stage) Gate(values map[string]any) error {
	ok, err := s.assert.that.evalBool(values)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "gate failed: %s", s.assert.that.Source)
	if s.assert.message != "" {
		fmt.Fprintf(&b, ": %s", s.assert.message)
	}
	var vals []string
	for _, m := range s.assert.that.memberRefs() {
		if obj, ok := values[m[0]].(map[string]any); ok {
			if v, ok := obj[m[1]]; ok {
				vals = append(vals, fmt.Sprintf("%s.%s = %s", m[0], m[1], formatValue(v)))
			}
		}
	}
	if len(vals) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(vals, ", "))
	}
	return &GateError{msg: b.String()}
}
