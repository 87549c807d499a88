package pipeline

import (
	"context"
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

// errGate marks a failed gate.
type gateError struct {
	msg string
}

func (e *gateError) Error() string { return e.msg }

// runAssert evaluates the gate on the values in scope.
func runAssert(_ context.Context, s *Stage, values map[string]any) (*Result, error) {
	ok, err := s.assert.that.evalBool(values)
	if err != nil {
		return nil, err
	}
	if ok {
		return &Result{Metrics: Metrics{}}, nil
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
	return nil, &gateError{msg: b.String()}
}
