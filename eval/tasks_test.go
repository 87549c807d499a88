package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lopper/internal/sharedtest"
)

func TestReadHellaSwagShared(t *testing.T) {
	path := sharedtest.Path(t, "data", "hellaswag", "hellaswag_val_200.txt")
	tf, err := ReadHellaSwag(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(tf.Tasks) != 200 || tf.Format != "hellaswag" || len(tf.SHA256) != 64 {
		t.Fatalf("%d tasks, format %q, digest %q", len(tf.Tasks), tf.Format, tf.SHA256)
	}
	first := tf.Tasks[0]
	if first.Context != "Roof shingle removal: A man is sitting on a roof. he" || first.Label != 3 ||
		first.Choices[3] != "starts pulling up roofing on a roof." || first.Line != 1 {
		t.Errorf("first task %+v", first)
	}
	if tf.Tasks[1].Line != 7 || tf.Tasks[199].Line != 1195 {
		t.Errorf("task lines %d and %d, want 7 and 1195", tf.Tasks[1].Line, tf.Tasks[199].Line)
	}
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadHellaSwagFormat(t *testing.T) {
	good := "ctx one\r\n2\r\ne0\r\ne1\r\ne2\r\ne3\r\n\r\nctx two\r\n0\r\nf0\r\nf1\r\nf2\r\nf3\r\n"
	tf, err := ReadHellaSwag(writeTemp(t, "ok.txt", good))
	if err != nil {
		t.Fatal(err)
	}
	if len(tf.Tasks) != 2 || tf.Tasks[0].Choices[2] != "e2" || tf.Tasks[1].Line != 8 || tf.Tasks[1].Label != 0 {
		t.Fatalf("tasks %+v", tf.Tasks)
	}
	for _, c := range []struct{ content, want string }{
		{"ctx\n4\na\nb\nc\nd\n", "bad.txt:2: label \"4\" is not an ending index 0-3"},
		{"ctx\nx\na\nb\nc\nd\n", "bad.txt:2: label \"x\" is not an ending index 0-3"},
		{"ctx\n1\na\nb\nc\nd\nctx2\n1\na\n", "bad.txt:9: the task that starts at line 7 is incomplete: 3 of 6 lines"},
		{"ctx\n1\na\n\nc\nd\n", "bad.txt:4: blank line inside the task that starts at line 1"},
		{"\n\n", "bad.txt: no tasks"},
	} {
		_, err := ReadHellaSwag(writeTemp(t, "bad.txt", c.content))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.content, err, c.want)
		}
	}
	if _, err := ReadHellaSwag(filepath.Join(t.TempDir(), "missing.txt")); err == nil {
		t.Error("a missing file gave no error")
	}
}

func TestReadChoicesJSONL(t *testing.T) {
	good := `{"context": "The sky is", "choices": ["blue", "green"], "label": 0, "id": "q1"}

{"context": "2+2=", "choices": ["3", "4", "5"], "label": 1}
`
	tf, err := ReadChoicesJSONL(writeTemp(t, "ok.jsonl", good))
	if err != nil {
		t.Fatal(err)
	}
	if len(tf.Tasks) != 2 || tf.Tasks[1].Line != 3 || tf.Tasks[1].Label != 1 || tf.Tasks[1].Choices[2] != "5" || tf.Format != "jsonl" {
		t.Fatalf("tasks %+v", tf.Tasks)
	}
	for _, c := range []struct{ content, want string }{
		{`{"context": "a", "choices": ["x", "y"], "label": 0}` + "\n" + `{"context": "a", "choices": ["x" "y"]}`, "bad.jsonl:2:34: invalid JSON"},
		{`{"choices": ["x", "y"], "label": 0}`, `bad.jsonl:1: missing "context"`},
		{`{"context": "a", "choices": ["x", "y"]}`, `bad.jsonl:1: missing "label"`},
		{`{"context": "a", "label": 0}`, `bad.jsonl:1: a task needs at least 2 choices, got 0`},
		{`{"context": "a", "choices": ["x"], "label": 0}`, `bad.jsonl:1: a task needs at least 2 choices, got 1`},
		{`{"context": "a", "choices": ["x", "y"], "label": 2}`, `bad.jsonl:1: label 2 is not an index into 2 choices`},
		{`{"context": "a", "choices": ["x", ""], "label": 0}`, `bad.jsonl:1: choice 1 is empty`},
		{`{"context": "a", "choices": ["x", "y"], "label": "0"}`, `bad.jsonl:1: json: cannot unmarshal string`},
		{`{"context": "a", "choices": ["x", "y"], "label": 0} {}`, `bad.jsonl:1: more than one JSON value on the line`},
		{"\n", "bad.jsonl: no tasks"},
	} {
		_, err := ReadChoicesJSONL(writeTemp(t, "bad.jsonl", c.content))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.content, err, c.want)
		}
	}
}
