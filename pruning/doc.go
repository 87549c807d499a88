// Package pruning removes weights from a model: it selects target tensors,
// scores their weights (magnitude, random, Wanda, first-order Taylor,
// SparseGPT), chooses what to remove (unstructured or N:M patterns, compared
// per output row, per tensor, globally, or with OWL's per-layer ratios), and
// returns a new model with a mask. It is pure computation over package
// model: no recipes, no files except through the caller.
//
// Conventions every file follows:
//
//   - Linear weights are [out, in] (model's canonical layout): rows are
//     outputs, columns are inputs, N:M groups run along a row.
//   - A weight counts as pruned when its mask entry is 0 or it is exactly 0
//     (a pruned model loaded from disk has zeros but no mask). Pruning never
//     revives a pruned weight.
//   - A sparsity s is the target for the whole comparison group, counting
//     what is already pruned: a group of n weights ends with
//     max(round(s·n), already pruned) zeros, round being round-half-even
//     (torch.nn.utils.prune's rule). torch's own "fraction of the survivors"
//     semantics for repeated pruning are in torchprune.go.
//   - The lowest scores are pruned. Ties are broken by position: the entry
//     earlier in the layout goes first. Selection is sort-free (radix select
//     over the scores' bits), and parallel work is split over fixed groups
//     (rows, tensors, chunks) so results do not depend on GOMAXPROCS.
//   - The input model is never mutated; Prune returns a new one.
//
// Calibration (Wanda, SparseGPT, Taylor, OWL) reads token windows
// (Calibration). Wanda and SparseGPT calibrate block by block by default, as
// in their papers' code: block i's statistics come from the inputs that the
// already-pruned blocks 0..i−1 produce; every linear layer of block i is
// calibrated on the dense block i, pruned, and then block i's outputs are
// recomputed. Peak memory is the calibration set's hidden states plus one
// batch of one block's activations (and, for SparseGPT, one block's
// Hessians).
//
// Encoder classifiers (BERT, RoBERTa, DistilBERT) calibrate on the
// examples of a labelled task (ExampleCalibration: one example a window,
// right-padded, with a mask whose padding no statistic sees), through
// model.ClassifierState; see calib_encoder.go.
//
// Long calls report progress through Options.Progress (ScoreOptions,
// StructuredOptions): see ProgressFunc for its phases. CheckMasks checks,
// after any later change to the weights, that what was pruned is still
// exactly zero.
package pruning
