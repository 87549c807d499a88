package eval

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

// sentiment is a two-class label set with names.
var sentiment = LabelOptions{NumLabels: 2, Label2ID: map[string]int{"negative": 0, "positive": 1}}

// brief is an example's texts, label(s) and line.
type brief struct {
	text, textB string
	pair        bool
	label       int
	labels      []int
	target      float64
	line        int
}

func briefs(exs []Example) []brief {
	var out []brief
	for _, e := range exs {
		out = append(out, brief{e.Text, e.TextB, e.Pair, e.Label, e.Labels, e.Target, e.Line})
	}
	return out
}

func TestReadLabelledFormats(t *testing.T) {
	for _, c := range []struct {
		name, file, content string
		opts                LabelOptions
		cols                []string
		want                []brief
	}{
		{"glue tsv, names and indices, CRLF, BOM, blank lines, quotes are text",
			"dev.tsv", "\ufeffsentence\tlabel\r\nit was \"good\"\tpositive\r\n\r\nbad film\t0\r\n", sentiment,
			[]string{"sentence", "label"},
			[]brief{{text: `it was "good"`, label: 1, line: 2}, {text: "bad film", line: 4}}},
		{"tsv pair among other columns",
			"rte.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta b\tc\t1\n1\td\t\t0\n", LabelOptions{NumLabels: 2},
			[]string{"sentence1", "sentence2", "label"},
			[]brief{{text: "a b", textB: "c", pair: true, label: 1, line: 2}, {text: "d", pair: true, line: 3}}},
		{"qnli: question+sentence is a pair, not the single sentence",
			"qnli.tsv", "index\tquestion\tsentence\tlabel\n0\twho?\tme.\tpositive\n", sentiment,
			[]string{"question", "sentence", "label"},
			[]brief{{text: "who?", textB: "me.", pair: true, label: 1, line: 2}}},
		{"csv: quoted commas, quotes and a line break inside a field",
			"data.csv", "text,label\n\"one, two\",positive\n\"say \"\"hi\"\"\nthere\",negative\nplain,1\n", sentiment,
			[]string{"text", "label"},
			[]brief{{text: "one, two", label: 1, line: 2}, {text: "say \"hi\"\nthere", line: 3}, {text: "plain", label: 1, line: 5}}},
		{"jsonl: single and pairs, labels as names, numbers and strings",
			"data.jsonl", `{"text": "fine", "label": "positive", "id": 7}` + "\n\n" +
				`{"text_a": "x", "text_b": "y", "label": 0}` + "\n" + `{"sentence1": "p", "sentence2": "q", "label": "1"}` + "\n",
			sentiment, []string{"text", "label"},
			[]brief{{text: "fine", label: 1, line: 1}, {text: "x", textB: "y", pair: true, line: 3},
				{text: "p", textB: "q", pair: true, label: 1, line: 4}}},
		{"multi-label: comma lists in TSV, empty is no class",
			"ml.tsv", "text\tlabel\nA\tsport, news\nB\t\nC\t2\n",
			LabelOptions{Problem: MultiLabel, NumLabels: 3, Label2ID: map[string]int{"news": 0, "sport": 1, "art": 2}},
			[]string{"text", "label"},
			[]brief{{text: "A", labels: []int{0, 1}, line: 2}, {text: "B", labels: []int{}, line: 3}, {text: "C", labels: []int{2}, line: 4}}},
		{"multi-label: JSON arrays of names and indices",
			"ml.jsonl", `{"text": "A", "label": ["art", 0]}` + "\n" + `{"text": "B", "label": []}` + "\n",
			LabelOptions{Problem: MultiLabel, NumLabels: 3, Label2ID: map[string]int{"news": 0, "sport": 1, "art": 2}},
			[]string{"text", "label"},
			[]brief{{text: "A", labels: []int{0, 2}, line: 1}, {text: "B", labels: []int{}, line: 2}}},
		{"regression",
			"stsb.tsv", "sentence1\tsentence2\tlabel\na\tb\t4.25\nc\td\t-1e-3\n", LabelOptions{Problem: Regression, NumLabels: 1},
			[]string{"sentence1", "sentence2", "label"},
			[]brief{{text: "a", textB: "b", pair: true, target: 4.25, line: 2}, {text: "c", textB: "d", pair: true, target: -1e-3, line: 3}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeTemp(t, c.file, c.content)
			task, err := ReadLabelled(path, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := briefs(task.Examples); !reflect.DeepEqual(got, c.want) {
				t.Errorf("examples\n got %+v\nwant %+v", got, c.want)
			}
			if !reflect.DeepEqual(task.Columns, c.cols) {
				t.Errorf("columns %v, want %v", task.Columns, c.cols)
			}
			sum := sha256.Sum256([]byte(c.content))
			if task.SHA256 != hex.EncodeToString(sum[:]) || task.Path != path {
				t.Errorf("sha256 %s path %s", task.SHA256, task.Path)
			}
		})
	}
}

// A label that is also a name is the name: a star-rating model whose
// classes 0…4 are named "1"…"5" reads "5" as class 4.
func TestNamesBeforeIndices(t *testing.T) {
	path := writeTemp(t, "stars.tsv", "text\tlabel\ngreat\t5\nmeh\t1\n")
	l2i := map[string]int{"1": 0, "2": 1, "3": 2, "4": 3, "5": 4}
	task, err := ReadLabelled(path, LabelOptions{NumLabels: 5, Label2ID: l2i})
	if err != nil {
		t.Fatal(err)
	}
	if task.Examples[0].Label != 4 || task.Examples[1].Label != 0 {
		t.Errorf("labels %d %d, want 4 0", task.Examples[0].Label, task.Examples[1].Label)
	}
}

// With a limit, the reader stops parsing: a malformed line after the
// limit goes unnoticed, and the digest still covers the whole file.
func TestReadLabelledLimitStreams(t *testing.T) {
	content := "sentence\tlabel\na\t0\nb\t1\nc\t1\nthis line is broken\n"
	path := writeTemp(t, "dev.tsv", content)
	task, err := ReadLabelled(path, LabelOptions{NumLabels: 2, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	if len(task.Examples) != 3 || task.Limit != 3 || task.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("%d examples, limit %d, sha256 %s", len(task.Examples), task.Limit, task.SHA256)
	}
	if _, err := ReadLabelled(path, LabelOptions{NumLabels: 2}); err == nil || !strings.Contains(err.Error(), "dev.tsv:5:") {
		t.Errorf("without a limit: err %v, want the broken line 5", err)
	}
}

func TestReadLabelledErrors(t *testing.T) {
	multi := LabelOptions{Problem: MultiLabel, NumLabels: 2, Label2ID: map[string]int{"a": 0, "b": 1}}
	for _, c := range []struct {
		file, content string
		opts          LabelOptions
		want          string
	}{
		{"d.tsv", "sentence\tlabel\nok\tpositive\nhm\tneutral\n", sentiment,
			`d.tsv:3: unknown label "neutral": want one of negative, positive or a class index 0…1`},
		{"d.tsv", "sentence\tlabel\nhm\t2\n", LabelOptions{NumLabels: 2}, `d.tsv:2: unknown label "2": want a class index 0…1`},
		{"d.tsv", "sentence\tlabel\nhm\t1\textra\n", sentiment, "d.tsv:2: 3 tab-separated fields, the header has 2"},
		{"d.tsv", "sentence\tgold\nhm\t1\n", sentiment, `d.tsv:1: header: no "label" field`},
		{"d.tsv", "sentence1\tlabel\nhm\t1\n", sentiment, `d.tsv:1: header: field "sentence1" without "sentence2"`},
		{"d.tsv", "words\tlabel\nhm\t1\n", sentiment, "d.tsv:1: header: no text field: want sentence or text, or a pair sentence1+sentence2"},
		{"d.tsv", "text\ttext\tlabel\n", sentiment, `d.tsv:1: field "text" twice in the header`},
		{"d.tsv", "", sentiment, "d.tsv: empty file"},
		{"d.tsv", "text\tlabel\n\n", sentiment, "d.tsv: no examples"},
		{"d.csv", "text,label\n\"open,1\n", sentiment, `d.csv:2:`},
		{"d.csv", "text,label\na,1\nb\n", sentiment, "d.csv:3:1: wrong number of fields"},
		{"d.jsonl", `{"text": "a", "label": 1}` + "\n" + `{"text": "b", "label": 1,}` + "\n", sentiment, "d.jsonl:2:26: invalid JSON"},
		{"d.jsonl", `{"text": "a"}` + "\n", sentiment, `d.jsonl:1: no "label" field`},
		{"d.jsonl", `{"text": 3, "label": 1}` + "\n", sentiment, `d.jsonl:1: field "text" is not a string`},
		{"d.jsonl", `{"text": "a", "label": true}` + "\n", sentiment, "d.jsonl:1: label true is not a string, a number or a list"},
		{"d.jsonl", `{"text": "a", "label": [0, 1]}` + "\n", sentiment, "d.jsonl:1: a single_label_classification label is one class, got a list"},
		{"d.jsonl", `["a", 1]` + "\n", sentiment, "d.jsonl:1: want a JSON object"},
		{"d.tsv", "text\tlabel\na\tb,a,b\n", multi, `d.tsv:2: label "b" is given twice`},
		{"d.tsv", "text\tlabel\na\tNaN\n", LabelOptions{Problem: Regression, NumLabels: 1}, `d.tsv:2: regression label "NaN" is not a finite number`},
		{"d.txt", "text\tlabel\n", sentiment, "cannot tell the format from the extension"},
		{"d.tsv", "text\tlabel\n", LabelOptions{NumLabels: 2, Label2ID: map[string]int{"x": 2}}, `label2id: "x" → 2 is not a class index 0…1`},
		{"d.tsv", "text\tlabel\n", LabelOptions{Problem: Regression, NumLabels: 2}, "a regression task has 1 label, got 2"},
		{"d.tsv", "text\tlabel\n", LabelOptions{Problem: "ranking", NumLabels: 2}, `unknown problem type "ranking"`},
	} {
		_, err := ReadLabelled(writeTemp(t, c.file, c.content), c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.content, err, c.want)
		}
	}
}
