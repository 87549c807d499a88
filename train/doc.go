// Package train is lopper's short recovery-training loop: AdamW over a
// model's flat parameter buffer, linear warmup then cosine, linear or
// constant learning-rate decay, gradient-norm clipping, batches drawn with
// an explicit seeded RNG, masks held (pruned weights stay exactly zero), and
// optional knowledge distillation from a teacher model.
//
// Train mutates the model it is given: callers that must not change a
// shared model (pipeline stages) train a Clone.
//
// Determinism. Batches come from a PCG generator seeded by Config.Seed and
// nothing else; the model's forward and backward passes, the loss, the
// gradient norm and AdamW are each computed over fixed partitions reduced in
// a fixed order. The same model, data, config and seed therefore give
// bit-identical weights for any GOMAXPROCS.
//
// The loss of one step over the batch's N scored targets (targets < 0 are
// not scored) is
//
//	loss = (1 − α)·CE + α·T²·KL(softmax(z_t/T) ‖ softmax(z_s/T))
//
// with CE the mean cross-entropy of the student logits z_s, z_t the
// teacher's logits on the same inputs, T the temperature and α the
// distillation weight (Hinton et al. 2015; the T² keeps the soft term's
// gradient scale independent of T). Without a teacher, loss = CE. The KL
// term is averaged over the same N positions as CE.
//
// Encoder classifiers. TrainClassifier fine-tunes a BERT, RoBERTa or
// DistilBERT classifier on labelled Examples with the same Config: the
// model's own loss (cross-entropy, binary cross-entropy or MSE), batches
// of a shuffled pass over the examples padded to their longest with an
// attention mask, masks held, and distillation from a teacher classifier's
// logits (KL with temperature over the labels; per-label Bernoulli KL for
// multi-label; MSE to the teacher's output for regression).
package train
