package pipeline

import (
	"strings"
)

// checkCycles reports every dependency cycle of a scope and its bodies, each
// once, as "a → b → a" at the first stage of the cycle. It returns whether
// the recipe is acyclic.
func (l *loader) checkCycles(sc *scope) bool {
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[*Stage]int{}
	var path []*Stage
	ok := true
	var visit func(s *Stage)
	visit = func(s *Stage) {
		state[s] = onPath
		path = append(path, s)
		for _, d := range s.deps {
			switch state[d] {
			case unvisited:
				visit(d)
			case onPath:
				ok = false
				i := len(path) - 1
				for path[i] != d {
					i--
				}
				cycle := path[i:]
				names := make([]string, 0, len(cycle)+1)
				// Print in dependency order: a needs b needs … needs a.
				for _, c := range cycle {
					names = append(names, c.ID)
				}
				names = append(names, d.ID)
				l.ps.add(d.Pos, "dependency cycle: "+strings.Join(names, " → "))
			}
		}
		path = path[:len(path)-1]
		state[s] = done
	}
	for _, s := range sc.stages {
		if state[s] == unvisited {
			visit(s)
		}
	}
	for _, s := range sc.stages {
		if s.body != nil && !l.checkCycles(s.body) {
			ok = false
		}
	}
	return ok
}

// levels groups a scope's stages into parallel levels: level 0 has no
// dependencies, level k depends only on levels below k. Order within a
// level follows the file.
func levels(stages []*Stage) [][]*Stage {
	level := map[*Stage]int{}
	var depth func(s *Stage) int
	depth = func(s *Stage) int {
		if d, ok := level[s]; ok {
			return d
		}
		d := 0
		for _, dep := range s.deps {
			d = max(d, depth(dep)+1)
		}
		level[s] = d
		return d
	}
	var out [][]*Stage
	for _, s := range stages {
		d := depth(s)
		for len(out) <= d {
			out = append(out, nil)
		}
		out[d] = append(out[d], s)
	}
	return out
}

// markDerived marks the stages downstream of the baseline: they get the
// derived metrics acc_drop and ppl_ratio.
func (l *loader) markDerived() {
	b := l.r.top.baseline
	if b == nil {
		return
	}
	memo := map[*Stage]bool{}
	var down func(s *Stage) bool
	down = func(s *Stage) bool {
		if v, ok := memo[s]; ok {
			return v
		}
		v := s.Parent != nil && down(s.Parent)
		for _, d := range s.deps {
			if v {
				break
			}
			v = d == b || down(d)
		}
		memo[s] = v
		return v
	}
	for _, s := range l.r.byID {
		s.derived = down(s)
	}
}
