package model

import "strings"

// The naming tables of the encoder classifiers (Arch BERT), from
// transformers' modeling_bert.py (BertEmbeddings, BertSelfAttention,
// BertSelfOutput, BertIntermediate, BertOutput, BertPooler,
// BertForSequenceClassification), modeling_roberta.py (RobertaEmbeddings,
// RobertaClassificationHead; RobertaModel without a pooler) and
// modeling_distilbert.py (Embeddings, MultiHeadSelfAttention, FFN,
// TransformerBlock, DistilBertForSequenceClassification).
//
// Roles: the post-attention LayerNorm is RoleAttnNorm and the block's
// output LayerNorm RoleMLPNorm (the norm of each sublayer, after it in
// these post-LN blocks); intermediate.dense / ffn.lin1 is RoleUp and
// output.dense / ffn.lin2 RoleDown, so pruning treats the encoder's
// linears as it treats a decoder's.

// Roles of the encoders' tensors outside the blocks.
const (
	RoleTypeEmbed      Role = "type_embed" // token type embeddings [type_vocab, hidden]
	RoleEmbedNorm      Role = "embed_norm" // embeddings LayerNorm
	RoleEmbedNormBias  Role = "embed_norm_bias"
	RolePooler         Role = "pooler" // BERT pooler.dense, RoBERTa classifier.dense, DistilBERT pre_classifier [hidden, hidden]
	RolePoolerBias     Role = "pooler_bias"
	RoleClassifier     Role = "classifier" // the classifier's output layer [num_labels, hidden]
	RoleClassifierBias Role = "classifier_bias"
)

func typeVocab(c *Config, _ LayerDims) int { return c.TypeVocab }
func numLabels(c *Config, _ LayerDims) int { return len(c.Labels) }

// encoderBlock is the block table of BERT and RoBERTa under prefix
// (bert., roberta.).
func encoderBlock(prefix string) []tensorSpec {
	l := prefix + "encoder.layer.{L}."
	return []tensorSpec{
		{RoleQ, l + "attention.self.query.weight", mat(qDim, hidden), nil, false},
		{RoleK, l + "attention.self.key.weight", mat(qDim, hidden), nil, false},
		{RoleV, l + "attention.self.value.weight", mat(qDim, hidden), nil, false},
		{RoleQBias, l + "attention.self.query.bias", vec(qDim), nil, false},
		{RoleKBias, l + "attention.self.key.bias", vec(qDim), nil, false},
		{RoleVBias, l + "attention.self.value.bias", vec(qDim), nil, false},
		{RoleO, l + "attention.output.dense.weight", mat(hidden, qDim), nil, false},
		{RoleOBias, l + "attention.output.dense.bias", vec(hidden), nil, false},
		{RoleAttnNorm, l + "attention.output.LayerNorm.weight", vec(hidden), nil, false},
		{RoleAttnNormBias, l + "attention.output.LayerNorm.bias", vec(hidden), nil, false},
		{RoleUp, l + "intermediate.dense.weight", mat(inter, hidden), nil, false},
		{RoleUpBias, l + "intermediate.dense.bias", vec(inter), nil, false},
		{RoleDown, l + "output.dense.weight", mat(hidden, inter), nil, false},
		{RoleDownBias, l + "output.dense.bias", vec(hidden), nil, false},
		{RoleMLPNorm, l + "output.LayerNorm.weight", vec(hidden), nil, false},
		{RoleMLPNormBias, l + "output.LayerNorm.bias", vec(hidden), nil, false},
	}
}

// encoderEmbeddings is the embeddings table of BERT and RoBERTa.
func encoderEmbeddings(prefix string) []tensorSpec {
	e := prefix + "embeddings."
	return []tensorSpec{
		{RoleEmbed, e + "word_embeddings.weight", mat(vocab, hidden), nil, false},
		{RolePosEmbed, e + "position_embeddings.weight", mat(maxPos, hidden), nil, false},
		{RoleTypeEmbed, e + "token_type_embeddings.weight", mat(typeVocab, hidden), nil, false},
		{RoleEmbedNorm, e + "LayerNorm.weight", vec(hidden), nil, false},
		{RoleEmbedNormBias, e + "LayerNorm.bias", vec(hidden), nil, false},
	}
}

var (
	bertPre   = encoderEmbeddings("bert.")
	bertBlock = encoderBlock("bert.")
	bertPost  = []tensorSpec{
		{RolePooler, "bert.pooler.dense.weight", mat(hidden, hidden), nil, false},
		{RolePoolerBias, "bert.pooler.dense.bias", vec(hidden), nil, false},
		{RoleClassifier, "classifier.weight", mat(numLabels, hidden), nil, false},
		{RoleClassifierBias, "classifier.bias", vec(numLabels), nil, false},
	}

	robertaPre   = encoderEmbeddings("roberta.")
	robertaBlock = encoderBlock("roberta.")
	robertaPost  = []tensorSpec{
		{RolePooler, "classifier.dense.weight", mat(hidden, hidden), nil, false},
		{RolePoolerBias, "classifier.dense.bias", vec(hidden), nil, false},
		{RoleClassifier, "classifier.out_proj.weight", mat(numLabels, hidden), nil, false},
		{RoleClassifierBias, "classifier.out_proj.bias", vec(numLabels), nil, false},
	}

	distilPre = []tensorSpec{
		{RoleEmbed, "distilbert.embeddings.word_embeddings.weight", mat(vocab, hidden), nil, false},
		{RolePosEmbed, "distilbert.embeddings.position_embeddings.weight", mat(maxPos, hidden), nil, false},
		{RoleEmbedNorm, "distilbert.embeddings.LayerNorm.weight", vec(hidden), nil, false},
		{RoleEmbedNormBias, "distilbert.embeddings.LayerNorm.bias", vec(hidden), nil, false},
	}
	distilBlock = []tensorSpec{
		{RoleQ, "distilbert.transformer.layer.{L}.attention.q_lin.weight", mat(qDim, hidden), nil, false},
		{RoleK, "distilbert.transformer.layer.{L}.attention.k_lin.weight", mat(qDim, hidden), nil, false},
		{RoleV, "distilbert.transformer.layer.{L}.attention.v_lin.weight", mat(qDim, hidden), nil, false},
		{RoleQBias, "distilbert.transformer.layer.{L}.attention.q_lin.bias", vec(qDim), nil, false},
		{RoleKBias, "distilbert.transformer.layer.{L}.attention.k_lin.bias", vec(qDim), nil, false},
		{RoleVBias, "distilbert.transformer.layer.{L}.attention.v_lin.bias", vec(qDim), nil, false},
		{RoleO, "distilbert.transformer.layer.{L}.attention.out_lin.weight", mat(hidden, qDim), nil, false},
		{RoleOBias, "distilbert.transformer.layer.{L}.attention.out_lin.bias", vec(hidden), nil, false},
		{RoleAttnNorm, "distilbert.transformer.layer.{L}.sa_layer_norm.weight", vec(hidden), nil, false},
		{RoleAttnNormBias, "distilbert.transformer.layer.{L}.sa_layer_norm.bias", vec(hidden), nil, false},
		{RoleUp, "distilbert.transformer.layer.{L}.ffn.lin1.weight", mat(inter, hidden), nil, false},
		{RoleUpBias, "distilbert.transformer.layer.{L}.ffn.lin1.bias", vec(inter), nil, false},
		{RoleDown, "distilbert.transformer.layer.{L}.ffn.lin2.weight", mat(hidden, inter), nil, false},
		{RoleDownBias, "distilbert.transformer.layer.{L}.ffn.lin2.bias", vec(hidden), nil, false},
		{RoleMLPNorm, "distilbert.transformer.layer.{L}.output_layer_norm.weight", vec(hidden), nil, false},
		{RoleMLPNormBias, "distilbert.transformer.layer.{L}.output_layer_norm.bias", vec(hidden), nil, false},
	}
	distilPost = []tensorSpec{
		{RolePooler, "pre_classifier.weight", mat(hidden, hidden), nil, false},
		{RolePoolerBias, "pre_classifier.bias", vec(hidden), nil, false},
		{RoleClassifier, "classifier.weight", mat(numLabels, hidden), nil, false},
		{RoleClassifierBias, "classifier.bias", vec(numLabels), nil, false},
	}
)

// encoderTables returns the naming tables of an encoder's model_type.
func encoderTables(modelType string) (pre, block, post []tensorSpec) {
	switch modelType {
	case "roberta":
		return robertaPre, robertaBlock, robertaPost
	case "distilbert":
		return distilPre, distilBlock, distilPost
	}
	return bertPre, bertBlock, bertPost
}

// encoderAlias maps the names of TF-era checkpoints to today's:
// LayerNorm.gamma and .beta are .weight and .bias, as transformers'
// _fix_state_dict_key_on_load renames them.
func encoderAlias(name string) string {
	if s, ok := strings.CutSuffix(name, ".gamma"); ok {
		return s + ".weight"
	}
	if s, ok := strings.CutSuffix(name, ".beta"); ok {
		return s + ".bias"
	}
	return name
}

// encoderIgnored reports whether an encoder checkpoint's tensor is one
// transformers does not use for classification and loading skips: the
// position_ids buffer older files store, and RoBERTa's pooler, which
// RobertaForSequenceClassification does not have.
func encoderIgnored(name string) bool {
	return strings.HasSuffix(name, "embeddings.position_ids") || strings.HasPrefix(name, "roberta.pooler.")
}
