package model

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// lopper inspect on the config.json of released encoder checkpoints:
// base (masked-LM) checkpoints are refused, naming the architecture; with
// the classifier head that fine-tuning adds, the backbone and the whole
// classifier have their published parameter counts
// (testdata/configs/SOURCES.md). A published classifier loads as it is.
func TestPublishedEncoderConfigs(t *testing.T) {
	cases := []struct {
		dir, prefix, arch string
		backbone, total   int
	}{
		// BertModel includes bert.pooler, which the classifier uses.
		{"bert-base-uncased", "bert.", "BertForMaskedLM", 109_482_240, 109_483_778},
		// RobertaModel's 124,645,632 include a pooler (768·768+768) that
		// RobertaForSequenceClassification does not have.
		{"roberta-base", "roberta.", "RobertaForMaskedLM", 124_645_632 - 590_592, 124_647_170},
		{"distilbert-base-uncased", "distilbert.", "DistilBertForMaskedLM", 66_362_880, 66_955_010},
	}
	for _, tc := range cases {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", "configs", tc.dir)
			_, err := Inspect(dir)
			if err == nil || !strings.Contains(err.Error(), "config.json") || !strings.Contains(err.Error(), `unsupported entry "`+tc.arch+`"`) {
				t.Fatalf("inspect of the base checkpoint: %v", err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			mt := strings.TrimSuffix(tc.prefix, ".")
			head := strings.Replace(string(raw), tc.arch, families[mt].architectures, 1)
			head = strings.Replace(head, "{", `{"id2label": {"0": "LABEL_0", "1": "LABEL_1"}, "label2id": {"LABEL_0": 0, "LABEL_1": 1},`, 1)
			c, err := ParseConfig([]byte(head))
			if err != nil {
				t.Fatal(err)
			}
			s, err := SummarizeConfig(&c)
			if err != nil {
				t.Fatal(err)
			}
			backbone := 0
			for _, ts := range s.Tensors {
				if strings.HasPrefix(ts.Name, tc.prefix) {
					backbone += ts.Parameters
				}
			}
			if backbone != tc.backbone || s.Parameters != tc.total || s.Architecture != BERT || s.ModelType != mt {
				t.Errorf("backbone %d, total %d (%s %s); want %d, %d", backbone, s.Parameters, s.Architecture, s.ModelType, tc.backbone, tc.total)
			}
		})
	}
	s, err := Inspect(filepath.Join("testdata", "configs", "distilbert-base-uncased-finetuned-sst-2-english"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.ConfigOnly || s.Parameters != 66_955_010 || !slices.Equal(s.Labels, []string{"NEGATIVE", "POSITIVE"}) || s.ProblemType != string(SingleLabel) || s.DType != "unknown" {
		t.Errorf("sst-2 classifier: %+v", s)
	}
}
