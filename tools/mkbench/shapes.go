package main

// shapes are the config.json files of the benchmark checkpoints, keyed by
// -shape. tinyllama-1.1b and llama-3.2-1b are the released models'
// (TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T, meta-llama/Llama-3.2-1B);
// 110m is llama2.c's stories110M as a Hugging Face Llama; 25m is a
// smaller Llama of the same family, with grouped-query attention.
var shapes = map[string]string{
	"tinyllama-1.1b": `{
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "hidden_size": 2048, "num_hidden_layers": 22, "num_attention_heads": 32, "num_key_value_heads": 4,
  "intermediate_size": 5632, "vocab_size": 32000, "max_position_embeddings": 2048,
  "hidden_act": "silu", "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "rope_scaling": null,
  "tie_word_embeddings": false, "attention_bias": false, "initializer_range": 0.02,
  "bos_token_id": 1, "eos_token_id": 2, "pretraining_tp": 1, "torch_dtype": "bfloat16", "use_cache": true
}`,
	"llama-3.2-1b": `{
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "hidden_size": 2048, "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8,
  "head_dim": 64, "intermediate_size": 8192, "vocab_size": 128256, "max_position_embeddings": 131072,
  "hidden_act": "silu", "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
    "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "tie_word_embeddings": true, "attention_bias": false, "attention_dropout": 0.0, "mlp_bias": false,
  "initializer_range": 0.02, "bos_token_id": 128000, "eos_token_id": 128001, "pretraining_tp": 1,
  "torch_dtype": "bfloat16", "use_cache": true
}`,
	"110m": `{
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "num_key_value_heads": 12,
  "intermediate_size": 2048, "vocab_size": 32000, "max_position_embeddings": 1024,
  "hidden_act": "silu", "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
  "tie_word_embeddings": true, "attention_bias": false, "initializer_range": 0.02,
  "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"
}`,
	"25m": `{
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "hidden_size": 384, "num_hidden_layers": 8, "num_attention_heads": 6, "num_key_value_heads": 2,
  "intermediate_size": 1024, "vocab_size": 32000, "max_position_embeddings": 1024,
  "hidden_act": "silu", "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
  "tie_word_embeddings": true, "attention_bias": false, "initializer_range": 0.02,
  "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"
}`,
}
