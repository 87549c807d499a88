// Package eval measures what pruning cost: perplexity and next-token
// accuracy on a text, multiple-choice accuracy in lm-evaluation-harness's
// way, a classifier's accuracy on a labelled-text task, size (parameters,
// sparsity, bytes on disk) and forward speed, and the relative metrics that
// recipes' stop conditions read (acc_drop, ppl_ratio, size_ratio, speedup).
//
// Every result carries its protocol, because a perplexity means nothing
// without the windowing, the tokenizer and the text it was computed on.
//
// Text protocol. Window w takes inputs tokens[w·stride : w·stride+seq_len]
// and targets shifted by one. The first window scores all seq_len
// predictions, each later window only its last stride predictions (those
// the previous window did not reach), as in Hugging Face's sliding-window
// perplexity; with stride == seq_len (the default) the windows do not
// overlap and every prediction is scored, which is the protocol of the
// shared PyTorch references. Windows are full: the tail of the text that
// does not fill one is not scored. Perplexity is exp of the mean negative
// log-likelihood; accuracy counts predictions whose first maximal logit is
// the target. Log-probabilities are computed in float64 from the model's
// float32 logits.
//
// Multiple choice. Each choice is scored as the continuation Delimiter+choice
// of the task's context, tokenized as the harness does: trailing whitespace
// of the context moves to the continuation, the continuation's tokens are
// those of context+continuation after the context's own tokens, an empty
// context starts from the tokenizer's BOS/EOS token, and a sequence longer
// than the model's positions (+1) is cut from the left. acc takes the
// choice with the largest summed log-likelihood; acc_norm divides each sum
// by the choice's length in Unicode characters (len(choice) in the
// harness, without the delimiter). Ties go to the first choice.
//
// Classification. A labelled-text task (ReadLabelled: GLUE-style TSV, CSV
// or JSONL) is scored with a sequence classifier (the Classifier
// interface): each example is encoded with the classifier's tokenizer and
// special tokens, truncated longest_first to the max length, batches of
// consecutive examples are right-padded with the pad id and attention mask
// 0, and the predictions (the first largest logit; for multi-label the
// logits above 0; for regression the logit) give accuracy, macro F1 and MCC
// (or subset accuracy and micro F1, or MSE, Pearson and Spearman), as
// scikit-learn and scipy define them.
//
// Determinism. Windows (tasks, batches of examples) are grouped into
// forward passes by index alone and run concurrently, each worker with its
// own model state; every
// window's negative log-likelihood is summed in float64 in position order
// and the windows' sums are combined in window order, so results are
// bit-identical for any number of workers and any GOMAXPROCS (given the
// model's own forward pass is, which package model guarantees).
package eval
