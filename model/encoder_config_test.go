package model

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const bertJSON = `{"model_type":"bert","architectures":["BertForSequenceClassification"],"hidden_size":16,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":24,"vocab_size":40`

func TestParseEncoderConfigs(t *testing.T) {
	cases := []struct {
		name, json string
		check      func(t *testing.T, c Config)
	}{
		{"bert defaults", bertJSON + `}`, func(t *testing.T, c Config) {
			// BertConfig: 512 positions, 2 token types, eps 1e-12, pad 0;
			// PretrainedConfig: 2 labels LABEL_0, LABEL_1, single-label.
			if c.Arch != BERT || c.MaxPos != 512 || c.TypeVocab != 2 || c.NormEps != 1e-12 || c.PadID != 0 || c.HeadDim != 4 ||
				!slices.Equal(c.Labels, []string{"LABEL_0", "LABEL_1"}) || c.Label2ID["LABEL_1"] != 1 || c.Problem != SingleLabel || c.Act != GELU {
				t.Errorf("%+v", c)
			}
		}},
		{"num_labels 1 is regression", bertJSON + `,"num_labels":1}`, func(t *testing.T, c Config) {
			if c.NumLabels() != 1 || c.Problem != Regression {
				t.Errorf("%+v", c)
			}
		}},
		{"id2label wins over num_labels", bertJSON + `,"num_labels":5,"id2label":{"1":"pos","0":"neg"},"problem_type":"multi_label_classification"}`, func(t *testing.T, c Config) {
			if !slices.Equal(c.Labels, []string{"neg", "pos"}) || c.Problem != MultiLabel {
				t.Errorf("%+v", c)
			}
			if id, ok := c.LabelID("pos"); !ok || id != 1 {
				t.Errorf("LabelID(pos) = %d, %v", id, ok)
			}
		}},
		{"label2id kept", bertJSON + `,"id2label":{"0":"neg","1":"pos"},"label2id":{"negative":0,"positive":1}}`, func(t *testing.T, c Config) {
			if id, ok := c.LabelID("positive"); !ok || id != 1 {
				t.Errorf("LabelID(positive) = %d, %v", id, ok)
			}
			if id, ok := c.LabelID("neg"); !ok || id != 0 {
				t.Errorf("LabelID(neg) through id2label = %d, %v", id, ok)
			}
			if _, ok := c.LabelID("other"); ok {
				t.Error("unknown label found")
			}
		}},
		{"pruned heads", bertJSON + `,"pruned_heads":{"1":[3,0,1]}}`, func(t *testing.T, c Config) {
			if c.Layers[0].Heads != 4 || c.Layers[1].Heads != 1 || c.Layers[1].KVHeads != 1 || c.HFCompatible() != nil {
				t.Errorf("%+v (hf compatible: %v)", c.Layers, c.HFCompatible())
			}
		}},
		{"roberta", `{"model_type":"roberta","architectures":["RobertaForSequenceClassification"],"hidden_size":16,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":24,"vocab_size":40,"max_position_embeddings":18,"type_vocab_size":1,"layer_norm_eps":1e-05,"bos_token_id":0,"eos_token_id":2}`, func(t *testing.T, c Config) {
			// RobertaConfig's pad is 1; positions 2 … T+1 leave 16 tokens.
			if c.PadID != 1 || c.TypeVocab != 1 || c.NormEps != 1e-5 || c.MaxSeqLen() != 16 {
				t.Errorf("%+v", c)
			}
		}},
		// The config of distilbert-base-uncased-finetuned-sst-2-english as
		// transformers 2.x saved it, with the PretrainedConfig fields of
		// that time (dims made small).
		{"distilbert 2.x", `{"_num_labels":2,"activation":"gelu","architectures":["DistilBertForSequenceClassification"],"attention_dropout":0.1,"bad_words_ids":null,"bos_token_id":null,"decoder_start_token_id":null,"dim":16,"do_sample":false,"dropout":0.1,"early_stopping":false,"eos_token_id":null,"finetuning_task":"sst-2","hidden_dim":24,"id2label":{"0":"NEGATIVE","1":"POSITIVE"},"initializer_range":0.02,"is_decoder":false,"is_encoder_decoder":false,"label2id":{"NEGATIVE":0,"POSITIVE":1},"length_penalty":1.0,"max_length":20,"max_position_embeddings":512,"min_length":0,"model_type":"distilbert","n_heads":4,"n_layers":2,"no_repeat_ngram_size":0,"num_beams":1,"num_return_sequences":1,"output_attentions":false,"output_hidden_states":false,"output_past":true,"pad_token_id":0,"prefix":null,"pruned_heads":{},"qa_dropout":0.1,"repetition_penalty":1.0,"seq_classif_dropout":0.2,"sinusoidal_pos_embds":false,"task_specific_params":null,"temperature":1.0,"tie_weights_":true,"top_k":50,"top_p":1.0,"torchscript":false,"use_bfloat16":false,"vocab_size":40}`,
			func(t *testing.T, c Config) {
				if c.Hidden != 16 || c.HeadDim != 4 || c.Layers[1].Intermediate != 24 || c.TypeVocab != 0 || c.NormEps != 1e-12 ||
					!slices.Equal(c.Labels, []string{"NEGATIVE", "POSITIVE"}) || c.Problem != SingleLabel {
					t.Errorf("%+v", c)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// Configs that would make lopper compute something other than transformers
// does are refused, naming the field.
func TestParseEncoderConfigRejects(t *testing.T) {
	cases := map[string]struct{ json, want string }{
		"masked LM":       {strings.Replace(bertJSON, "BertForSequenceClassification", "BertForMaskedLM", 1) + `}`, `field "architectures" = ["BertForMaskedLM"]: unsupported entry "BertForMaskedLM" (lopper runs BertForSequenceClassification`},
		"relative":        {bertJSON + `,"position_embedding_type":"relative_key"}`, `field "position_embedding_type" = "relative_key": only absolute`},
		"decoder":         {bertJSON + `,"is_decoder":true}`, `field "is_decoder" = true`},
		"cross attention": {bertJSON + `,"add_cross_attention":true}`, `field "add_cross_attention" = true`},
		"activation":      {bertJSON + `,"hidden_act":"relu"}`, `field "hidden_act" = "relu": unsupported activation`},
		"heads":           {strings.Replace(bertJSON, `"num_attention_heads":4`, `"num_attention_heads":5`, 1) + `}`, `field "num_attention_heads" = 5: does not divide the hidden size 16`},
		"problem":         {bertJSON + `,"problem_type":"ranking"}`, `field "problem_type" = "ranking"`},
		"id2label keys":   {bertJSON + `,"id2label":{"0":"a","2":"b"}}`, `field "id2label" = {"0":"a","2":"b"}: key "2"`},
		"label2id range":  {bertJSON + `,"id2label":{"0":"a","1":"b"},"label2id":{"a":0,"b":2}}`, `field "label2id"`},
		"num_labels":      {bertJSON + `,"num_labels":0}`, `field "num_labels" = 0`},
		"pruned layer":    {bertJSON + `,"pruned_heads":{"2":[0]}}`, `key "2" is not a layer of 2`},
		"pruned head":     {bertJSON + `,"pruned_heads":{"0":[4]}}`, `layer 0: head 4 is not one of 4 distinct heads`},
		"pruned all":      {bertJSON + `,"pruned_heads":{"0":[0,1,2,3]}}`, `removes every head of layer 0`},
		"pad":             {bertJSON + `,"pad_token_id":40}`, `pad token id 40 is outside the vocabulary of 40`},
		"roberta pos":     {`{"model_type":"roberta","hidden_size":16,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":24,"vocab_size":40,"max_position_embeddings":2}`, `2 positions leave no room`},
		"sinusoidal":      {`{"model_type":"distilbert","dim":16,"n_layers":1,"n_heads":2,"hidden_dim":24,"vocab_size":40,"sinusoidal_pos_embds":true}`, `field "sinusoidal_pos_embds" = true`},
		"distil act":      {`{"model_type":"distilbert","dim":16,"n_layers":1,"n_heads":2,"hidden_dim":24,"vocab_size":40,"activation":"relu"}`, `field "activation" = "relu"`},
		"xlm-roberta":     {`{"model_type":"xlm-roberta"}`, `field "model_type" = "xlm-roberta": unsupported`},
	}
	for name, tc := range cases {
		if _, err := ParseConfig([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

// Save → Load → Save is byte-identical for every encoder golden; the saved
// files use today's names (weight/bias for gamma/beta) and drop the
// buffers and RoBERTa's unused pooler, and the weights are unchanged.
func TestEncoderSaveLoadSave(t *testing.T) {
	for _, gm := range encoderGoldens {
		t.Run(gm.name, func(t *testing.T) {
			src := filepath.Join("testdata", "goldens", gm.name)
			m, err := Load(src, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			a, m2 := saveLoadSave(t, m)
			if !slices.Equal(m2.Config.Labels, m.Config.Labels) || m2.Config.Problem != m.Config.Problem {
				t.Fatalf("reload: labels %q, problem %s", m2.Config.Labels, m2.Config.Problem)
			}
			// config.json keeps every field as it was (the source's
			// writer sorted keys and indented as Hugging Face does).
			want, _ := os.ReadFile(filepath.Join(src, "config.json"))
			got, _ := os.ReadFile(filepath.Join(a, "config.json"))
			if !bytes.Equal(got, want) {
				t.Errorf("config.json changed:\n%s\nwas\n%s", got, want)
			}
			f, err := openSafetensors(filepath.Join(a, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, e := range f.hdr.Entries {
				if strings.HasSuffix(e.Name, ".gamma") || strings.HasSuffix(e.Name, ".beta") || strings.Contains(e.Name, "position_ids") || strings.HasPrefix(e.Name, "roberta.pooler.") {
					t.Errorf("saved weights hold %q", e.Name)
				}
			}
			if len(f.hdr.Entries) != len(m.Layout.Tensors) {
				t.Errorf("saved %d tensors, the layout has %d", len(f.hdr.Entries), len(m.Layout.Tensors))
			}
		})
	}
}

// A classifier whose layers lost heads saves them as transformers'
// pruned_heads (loadable by transformers, hf_compatible), one whose FFN
// widths differ records them in lopper_dims; both reload with their dims.
// A model built in memory writes a config.json that parses back the same.
func TestEncoderStructuredRoundTrip(t *testing.T) {
	base := tinyEncoders()["bert"]
	base.Layers = []LayerDims{{4, 4, 24}, {4, 4, 24}}
	cases := map[string]struct {
		layers []LayerDims
		hf     bool
		field  string
	}{
		"dense":       {[]LayerDims{{4, 4, 24}, {4, 4, 24}}, true, ""},
		"heads":       {[]LayerDims{{4, 4, 24}, {1, 1, 24}}, true, `"pruned_heads": {`},
		"ffn":         {[]LayerDims{{4, 4, 24}, {4, 4, 10}}, false, `"lopper_dims"`},
		"heads + ffn": {[]LayerDims{{2, 2, 24}, {4, 4, 10}}, false, `"pruned_heads"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := base.Clone()
			cfg.Layers = tc.layers
			m := randomModel(t, cfg, 7)
			dir := filepath.Join(t.TempDir(), "m")
			if err := m.Save(dir, SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
			if !bytes.Contains(raw, []byte(tc.field)) {
				t.Errorf("config.json lacks %s:\n%s", tc.field, raw)
			}
			var doc lopperDoc
			meta, _ := os.ReadFile(filepath.Join(dir, "lopper.json"))
			if err := json.Unmarshal(meta, &doc); err != nil || doc.HFCompatible != tc.hf {
				t.Errorf("lopper.json hf_compatible %v (%s), want %v", doc.HFCompatible, doc.Reason, tc.hf)
			}
			m2, err := Load(dir, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			c2 := m2.Config
			if !slices.Equal(c2.Layers, tc.layers) || c2.HeadDim != 4 || !slices.Equal(c2.Labels, cfg.Labels) || c2.Problem != cfg.Problem || c2.TypeVocab != 2 {
				t.Errorf("reloaded %+v", c2)
			}
			if i := firstBitDiff(m.W, m2.W); i >= 0 {
				t.Errorf("weight %d changed", i)
			}
			again, err := m2.Config.MarshalHF("")
			if err != nil || !bytes.Equal(again, raw) {
				t.Errorf("config.json not stable (%v):\n%s\nthen\n%s", err, raw, again)
			}
		})
	}
}

// lopper inspect describes a classifier: its labels and problem type, the
// encoder's linears as prunable, the heads each layer keeps.
func TestEncoderSummary(t *testing.T) {
	s, err := Inspect(filepath.Join("testdata", "goldens", "bert-f32"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Architecture != BERT || s.ModelType != "bert" || !slices.Equal(s.Labels, []string{"LABEL_0", "LABEL_1", "LABEL_2"}) ||
		s.ProblemType != string(SingleLabel) || s.Layers[1].Heads != 2 || !s.HFCompatible || s.RoPE != "" || s.DType != "F32" {
		t.Errorf("%+v", s)
	}
	prunable := 0
	for _, ts := range s.Tensors {
		if ts.Prunable {
			prunable += ts.Parameters
			if ts.Layer < 0 || ts.Shape[0] == 1 {
				t.Errorf("%s prunable", ts.Name)
			}
		}
	}
	// Layer 0: q, k, v, o 16×16 and up, down 24×16; layer 1 keeps 2 heads
	// of 4 dims: q, k, v 8×16 and o 16×8.
	if want := (4*16*16 + 2*24*16) + (4*8*16 + 2*24*16); prunable != want || s.PrunableParameters != want {
		t.Errorf("prunable %d, summary %d, want %d", prunable, s.PrunableParameters, want)
	}
}
