package model

import (
	"path/filepath"
	"strings"
	"testing"
)

// WithDTypes sets the named tensors' on-disk dtypes in a copy (the
// original, shared by clones, is untouched), keeps the others, and Save
// writes what it says: Load reads the same dtypes back.
func TestLayoutWithDTypes(t *testing.T) {
	m := randomModel(t, tinyConfigs()["gpt2"], 3)
	before := m.Layout
	q := m.Layout.Tensors[2].Name
	emb := m.Layout.Tensors[0].Name
	l, err := m.Layout.WithDTypes(map[string]DType{q: BF16, emb: F16})
	if err != nil {
		t.Fatal(err)
	}
	for i, ti := range l.Tensors {
		want := F32
		switch ti.Name {
		case q:
			want = BF16
		case emb:
			want = F16
		}
		if ti.DType != want {
			t.Errorf("%s: dtype %s, want %s", ti.Name, ti.DType, want)
		}
		if before.Tensors[i].DType != F32 {
			t.Errorf("%s: the original layout changed to %s", ti.Name, before.Tensors[i].DType)
		}
		if got, ok := l.Lookup(ti.Name); !ok || got.DType != want || got.Offset != ti.Offset {
			t.Errorf("Lookup(%s) on the copy = %v, %v", ti.Name, got, ok)
		}
	}
	m.Layout = l
	dir := filepath.Join(t.TempDir(), "m")
	if err := m.Save(dir, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, ti := range back.Layout.Tensors {
		if ti.DType != l.Tensors[i].DType {
			t.Errorf("%s: saved and loaded as %s, set to %s", ti.Name, ti.DType, l.Tensors[i].DType)
		}
	}
}

// Unknown tensor names and dtypes lopper cannot store are errors naming
// the tensor.
func TestLayoutWithDTypesRejects(t *testing.T) {
	m := randomModel(t, tinyConfigs()["llama"], 3)
	q := m.Layout.Tensors[1].Name
	for _, tc := range []struct {
		dt   map[string]DType
		want string
	}{
		{map[string]DType{"model.layers.9.mlp.up_proj.weight": F16}, `"model.layers.9.mlp.up_proj.weight"`},
		{map[string]DType{q: "F64"}, q},
		{map[string]DType{q: ""}, q},
	} {
		_, err := m.Layout.WithDTypes(tc.dt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("WithDTypes(%v): error %v, want one naming %s", tc.dt, err, tc.want)
		}
	}
}
