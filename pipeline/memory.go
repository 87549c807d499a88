package pipeline

import "fmt"

// MemoryQuery is what a kind's Decl.Memory is given to estimate a stage's
// memory before anything runs (`lopper plan`).
type MemoryQuery struct {
	// Dir is the recipe's directory: relative paths of a config are
	// relative to it.
	Dir string
	// Input returns what the stage ref names produces, as that stage's
	// StageMemory.Shape said (nil when unknown).
	Input func(ref Ref) any
}

// StageMemory is a stage's memory estimate.
type StageMemory struct {
	// Bytes is the estimated peak while the stage runs, its inputs
	// included; Total says it for people ("1.3 GiB") and Detail lists its
	// parts ("weights 417.8 MiB, mask 104.5 MiB, …").
	Bytes         int64
	Total, Detail string
	// Shape describes what the stage produces (a model's config, say), for
	// the estimates of the stages that read it. The engine only hands it on.
	Shape any
}

// PlanMemory is a stage's memory estimate in a plan: Bytes, Total and
// Detail as the kind estimated them, or Unknown saying why there is none.
type PlanMemory struct {
	Bytes   int64  `json:"bytes,omitempty"`
	Total   string `json:"total,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Unknown string `json:"unknown,omitempty"`
}

// EstimateMemory fills in the memory estimate of every stage of p (made by
// r.Plan) whose kind declares one (Decl.Memory), in plan order, so that a
// stage sees the shapes of its inputs. Inside a loop, `prev` is the loop's
// `from` stage; a loop produces what its carry stage does. Estimates read
// files (a load stage reads config.json) but never weights.
func (r *Recipe) EstimateMemory(p *Plan) {
	shapes := map[string]any{}
	r.estimateLevels(p.Levels, nil, shapes)
}

func (r *Recipe) estimateLevels(lvls [][]*PlanStage, loop *loopSpec, shapes map[string]any) {
	for _, lvl := range lvls {
		for _, ps := range lvl {
			s := r.byID[ps.ID]
			if s == nil {
				continue
			}
			if s.body != nil {
				inner := loop
				if s.loop != nil {
					inner = s.loop
				}
				r.estimateLevels(ps.Levels, inner, shapes)
				if s.loop != nil {
					shapes[s.ID] = shapes[s.loop.carry.ID]
				}
				continue
			}
			if s.broken || s.decl.Memory == nil {
				continue
			}
			q := MemoryQuery{Dir: r.Dir, Input: func(ref Ref) any {
				if ref.ID == idPrev && loop != nil {
					return shapes[loop.from.ID]
				}
				return shapes[ref.ID]
			}}
			est, err := callMemory(s, q)
			switch {
			case err != nil:
				ps.Memory = &PlanMemory{Unknown: err.Error()}
			case est != nil:
				ps.Memory = &PlanMemory{Bytes: est.Bytes, Total: est.Total, Detail: est.Detail}
				shapes[s.ID] = est.Shape
			}
		}
	}
}

// callMemory runs a kind's estimate, turning a panic into an error.
func callMemory(s *Stage, q MemoryQuery) (est *StageMemory, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("internal error: kind %s panicked estimating its memory: %v", s.Uses, v)
		}
	}()
	return s.decl.Memory(q)
}
