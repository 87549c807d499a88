package runner

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
)

// Values are what a stage's expressions read (params, stage metrics,
// iteration, prev, matrix; see pipeline.Values), in a JSON form that keeps
// every value's Go type and every float's bits: an int stays an int, a
// float 1 stays a float, NaN and ±Inf survive. A task that travels to
// another machine must interpolate its config exactly as it would here.
//
// Each value is an object with one key naming its type: {"i": "3"},
// {"f": "0.30000000000000004"}, {"s": "text"}, {"b": true},
// {"m": {NAME: VALUE…}}, {"l": [VALUE…]}; null is nil.
type Values map[string]any

// List is a list of values in the same form as Values (a log line's scope
// fields: "iteration", 2, "branch", "n=1").
type List []any

// MarshalJSON implements json.Marshaler.
func (v Values) MarshalJSON() ([]byte, error) { return marshalTagged(map[string]any(v), v == nil) }

// UnmarshalJSON implements json.Unmarshaler.
func (v *Values) UnmarshalJSON(b []byte) error {
	m, err := unmarshalTagged[map[string]any](b, "map")
	*v = m
	return err
}

// MarshalJSON implements json.Marshaler.
func (l List) MarshalJSON() ([]byte, error) { return marshalTagged([]any(l), l == nil) }

// UnmarshalJSON implements json.Unmarshaler.
func (l *List) UnmarshalJSON(b []byte) error {
	list, err := unmarshalTagged[[]any](b, "list")
	*l = list
	return err
}

// marshalTagged encodes a map or list of values; a nil one is null.
func marshalTagged(v any, isNil bool) ([]byte, error) {
	if isNil {
		return []byte("null"), nil
	}
	enc, err := encodeValue(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(enc)
}

// unmarshalTagged decodes a map or list of values (what names it in
// messages); null is nil.
func unmarshalTagged[T map[string]any | []any](b []byte, what string) (T, error) {
	var zero T
	x, err := decodeValue(b)
	if err != nil || x == nil {
		return zero, err
	}
	t, ok := x.(T)
	if !ok {
		return zero, fmt.Errorf("values: want a %s, got %T", what, x)
	}
	return t, nil
}

// encodeValue returns v in its tagged form, ready for json.Marshal (whose
// map keys are sorted, so equal values encode to equal bytes).
func encodeValue(v any) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case bool:
		return map[string]bool{"b": v}, nil
	case int:
		return map[string]string{"i": strconv.Itoa(v)}, nil
	case float64:
		return map[string]string{"f": formatFloat(v)}, nil
	case string:
		return map[string]string{"s": v}, nil
	case map[string]any:
		m := make(map[string]any, len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			e, err := encodeValue(v[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = e
		}
		return map[string]any{"m": m}, nil
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			e, err := encodeValue(x)
			if err != nil {
				return nil, fmt.Errorf("%d: %w", i, err)
			}
			l[i] = e
		}
		return map[string]any{"l": l}, nil
	}
	return nil, fmt.Errorf("values: cannot encode a %T", v)
}

// formatFloat writes a float so that strconv.ParseFloat gives its bits
// back: the shortest exact form, or NaN, +Inf, -Inf.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// decodeValue reads one tagged value.
func decodeValue(b []byte) (any, error) {
	var tagged map[string]json.RawMessage
	if err := json.Unmarshal(b, &tagged); err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	if tagged == nil {
		return nil, nil
	}
	if len(tagged) != 1 {
		return nil, fmt.Errorf("values: want one type key, got %d", len(tagged))
	}
	for tag, raw := range tagged {
		return decodeTagged(tag, raw)
	}
	panic("unreachable")
}

func decodeTagged(tag string, raw json.RawMessage) (any, error) {
	var s string
	switch tag {
	case "b":
		var v bool
		err := json.Unmarshal(raw, &v)
		return v, err
	case "i":
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return strconv.Atoi(s)
	case "f":
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return strconv.ParseFloat(s, 64)
	case "s":
		err := json.Unmarshal(raw, &s)
		return s, err
	case "m":
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		out := make(map[string]any, len(m))
		for k, r := range m {
			v, err := decodeValue(r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = v
		}
		return out, nil
	case "l":
		var l []json.RawMessage
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, err
		}
		out := make([]any, len(l))
		for i, r := range l {
			v, err := decodeValue(r)
			if err != nil {
				return nil, fmt.Errorf("%d: %w", i, err)
			}
			out[i] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("values: unknown type key %q", tag)
}
