// Package lab runs xent's losses on real data: it trains small
// classifiers with every registered loss side by side, under label
// noise, and reports accuracy, calibration and speed in tables and
// figures. It is what "xent lab" runs.
//
// # Models and training
//
// Model is softmax regression (NewLinear) or a one-hidden-layer ReLU
// perceptron (NewMLP), its parameters one flat []float32, its forward and
// backward passes made of internal/gemm products. Train runs mini-batch
// training with SGD (momentum) or Adam (decoupled weight decay), an
// optional cosine learning-rate schedule, and an Objective: a loss built
// by name from the loss registry ("gce:q=0.7"), so a newly registered
// loss can be trained without touching this package. Losses that read
// target distributions rather than labels get one-hot targets, and
// losses with per-example state (aldr-kl's adaptive temperatures) get it
// kept across epochs; see Objective.
//
// # Determinism
//
// A seed fixes everything random (initial weights, the order of the
// examples in every epoch, the hold-out split, the label noise), through
// generators whose algorithms are part of this package. Work is split
// over threads only where the split does not change the arithmetic:
// gemm splits over blocks of its output, never over the inner dimension;
// bias gradients add rows in order; the optimizers update elements
// independently. So the same seed gives the same bits for any number of
// threads.
//
// # Experiments and reports
//
// Run trains every loss of a Config at every noise rate (Noise:
// symmetric, or asymmetric between similar classes), all from the same
// initial weights and batches, and evaluates on the clean test set:
// accuracy, negative log-likelihood, expected calibration error, the same
// after temperature scaling fitted on a held-out slice of the noisy
// training set, and the wall time of an epoch. A loss that is not
// registered is skipped with a warning. WriteReport writes the results as
// a directory — report.md with tables and PNG figures, the data of every
// figure as JSON, results.json — atomically: it is built in a temporary
// directory and renamed into place, and an existing report is replaced
// only when asked.
//
// The experiment is one workload of the lab; the command line gives each
// workload its own subcommand ("xent lab NAME"), and the workloads share
// the optimizers, the figures and the report writer (WriteDir,
// WriteFigures).
//
// # The language-model workload
//
// "xent lab lm" runs RunLM: LoadCorpus tokenizes the Go standard
// library's own source (GoSourceDir) with go/scanner into a vocabulary of
// the most frequent tokens plus <unk>, split by package into training and
// validation files (see Corpus for every choice); LM, a next-token model
// (embeddings of the previous tokens → a ReLU layer → the classifier head
// over the vocabulary), is trained with Adam three times from the same
// weights on the same batches, once per head of LMHeads — the fused head
// of package linear exact, the same with gradient filtering, and the
// materialized head (full logits, package loss, two GEMMs) — and
// WriteLMReport reports the time of a step, the head's scratch memory,
// the validation perplexity and the loss curves of each.
package lab
