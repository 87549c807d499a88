package pipeline

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// params parses the `params` mapping. Long form: {type, default, doc}; short
// form: a scalar default whose YAML type gives the param type.
func (l *loader) params(n *yaml.Node) {
	for _, p := range l.pairs(n, "params") {
		name := p.key.Value
		if !identRE.MatchString(name) {
			l.errorf(p.key, "param %q: use letters, digits and '_', starting with a letter (params are read as params.NAME)", name)
			continue
		}
		prm := &Param{Name: name, Pos: l.pos(p.key), Source: "default"}
		v := resolveAlias(p.value)
		var def *yaml.Node
		if v.Kind == yaml.MappingNode {
			what := "param " + name
			f := l.fields(v, what, []string{"type", "default", "doc"})
			if t, ok := f["type"]; ok {
				if s, ok := l.str(t.value, what+": type"); ok {
					if !slices.Contains(paramTypes, s) {
						l.errorf(t.value, "param %s: unknown type %q%s; want one of %s", name, s, didYouMean(s, paramTypes), oneOf(paramTypes))
						continue
					}
					prm.Type = ParamType(s)
				}
			}
			if d, ok := f["doc"]; ok {
				prm.Doc, _ = l.str(d.value, what+": doc")
			}
			d, ok := f["default"]
			if !ok {
				l.errorf(p.key, "param %s: missing `default` (every param has one; override it with --set %s=VALUE)", name, name)
				continue
			}
			def = resolveAlias(d.value)
		} else {
			def = v
		}
		if prm.Type == "" {
			t, ok := inferParamType(def)
			if !ok {
				l.errorf(def, "param %s: cannot infer a type from %s; write {type: …, default: …}", name, describe(def))
				continue
			}
			prm.Type = t
		}
		val, err := parseParamNode(prm.Type, def)
		if err != nil {
			l.errorf(def, "param %s: default: %v", name, err)
			continue
		}
		if prm.Type == ParamPath {
			val = resolvePath(l.r.Dir, val.(string))
		}
		prm.Default, prm.Value = val, val
		l.r.Params = append(l.r.Params, prm)
	}
}

func inferParamType(n *yaml.Node) (ParamType, bool) {
	if n.Kind != yaml.ScalarNode {
		return "", false
	}
	switch n.Tag {
	case "!!int":
		return ParamInt, true
	case "!!float":
		return ParamFloat, true
	case "!!bool":
		return ParamBool, true
	case "!!str":
		return ParamString, true
	}
	return "", false
}

func (t ParamType) withArticle() string {
	if t == ParamInt {
		return "an int"
	}
	return "a " + string(t)
}

// parseParamNode decodes a YAML default of type t.
func parseParamNode(t ParamType, n *yaml.Node) (any, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return nil, fmt.Errorf("want %s, got %s", t.withArticle(), describe(n))
	}
	switch t {
	case ParamInt:
		var v int
		if n.Tag != "!!int" || n.Decode(&v) != nil {
			return nil, fmt.Errorf("want an int, got %s", describe(n))
		}
		return v, nil
	case ParamFloat:
		var v float64
		if (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&v) != nil {
			return nil, fmt.Errorf("want a float, got %s", describe(n))
		}
		return checkFloat(v)
	case ParamBool:
		var v bool
		if n.Tag != "!!bool" || n.Decode(&v) != nil {
			return nil, fmt.Errorf("want a bool, got %s", describe(n))
		}
		return v, nil
	}
	return n.Value, nil
}

// parseParamString parses a --set value of type t.
func parseParamString(t ParamType, s string) (any, error) {
	switch t {
	case ParamInt:
		v, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, strconv.IntSize)
		if err != nil {
			return nil, fmt.Errorf("want an int, got %q", s)
		}
		return int(v), nil
	case ParamFloat:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("want a float, got %q", s)
		}
		return checkFloat(v)
	case ParamBool:
		v, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("want a bool (true or false), got %q", s)
		}
		return v, nil
	}
	return s, nil
}

func checkFloat(v float64) (any, error) {
	if math.IsNaN(v) {
		return nil, fmt.Errorf("NaN is not a usable value")
	}
	return v, nil
}

// applySet applies the --set overrides.
func (l *loader) applySet() {
	byName := map[string]*Param{}
	var names []string
	for _, p := range l.r.Params {
		byName[p.Name] = p
		names = append(names, p.Name)
	}
	seen := map[string]bool{}
	for _, kv := range l.opts.Set {
		name, val, ok := strings.Cut(kv, "=")
		if !ok {
			l.ps.add(Pos{}, fmt.Sprintf("--set %s: want NAME=VALUE", kv))
			continue
		}
		p, ok := byName[name]
		if !ok {
			msg := "the recipe has no params"
			if len(names) > 0 {
				msg = "params are " + oneOf(names)
			}
			l.ps.add(Pos{}, fmt.Sprintf("--set %s: unknown param %q%s; %s", kv, name, didYouMean(name, names), msg))
			continue
		}
		if seen[name] {
			l.ps.add(Pos{}, fmt.Sprintf("--set %s: param %s is set twice", kv, name))
			continue
		}
		seen[name] = true
		v, err := parseParamString(p.Type, val)
		if err != nil {
			l.ps.add(Pos{}, fmt.Sprintf("--set %s: param %s is %s: %v", kv, name, p.Type.withArticle(), err))
			continue
		}
		if p.Type == ParamPath {
			wd := l.opts.WorkDir
			if wd == "" {
				wd, err = os.Getwd()
				if err != nil {
					l.ps.add(Pos{}, fmt.Sprintf("--set %s: %v", kv, err))
					continue
				}
			}
			v = resolvePath(wd, val)
		}
		p.Value, p.Source = v, "--set"
	}
}

// paramValues returns the resolved params as an expression value.
func (r *Recipe) paramValues() map[string]any {
	m := make(map[string]any, len(r.Params))
	for _, p := range r.Params {
		m[p.Name] = p.Value
	}
	return m
}

// ParamValues returns the resolved param values by name.
func (r *Recipe) ParamValues() map[string]any { return r.paramValues() }
