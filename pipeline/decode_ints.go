package pipeline

import (
	"fmt"
	"math"
	"reflect"
	"strconv"

	"gopkg.in/yaml.v3"
)

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// fractionalInts reports numbers with a fraction written where the config
// type wants an integer: yaml.v3 silently truncates them (`steps: 2.5`
// decodes as 2). It walks the block along the config type; types with their
// own UnmarshalYAML are left to it.
func fractionalInts(file string, t reflect.Type, n *yaml.Node, path string) []*Problem {
	n = resolveAlias(n)
	if n == nil || t == nil {
		return nil
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	t = derefType(t)
	var out []*Problem
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		for _, p := range mappingPairs(n) {
			if f, ok := fieldByYAMLName(t, p.key.Value); ok {
				out = append(out, fractionalInts(file, f.typ, p.value, joinPath(path, p.key.Value))...)
			}
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for _, p := range mappingPairs(n) {
			out = append(out, fractionalInts(file, t.Elem(), p.value, joinPath(path, p.key.Value))...)
		}
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			out = append(out, fractionalInts(file, t.Elem(), c, joinPath(path, strconv.Itoa(i)))...)
		}
	case isIntKind(t.Kind()) && n.Kind == yaml.ScalarNode && n.Tag == "!!float":
		var v float64
		if err := n.Decode(&v); err == nil && (v != math.Trunc(v) || math.IsInf(v, 0) || math.IsNaN(v)) {
			out = append(out, &Problem{Pos: nodePos(file, n), Msg: fmt.Sprintf("%s: want an integer, got number %q", fieldLabel(path), n.Value)})
		}
	}
	return out
}

func isIntKind(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}
