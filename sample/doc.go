// Package sample draws tokens from a language model's logits through a
// chain of stages — the sampler of every decoding step — exactly and
// without sorting the vocabulary.
//
// A Sampler is built from a chain and a seed:
//
//	chain, _ := sample.Parse("penalties=64,repeat=1.1;top_k=40;top_p=0.95;min_p=0.05;temp=0.8")
//	s, _ := sample.New(chain, 1)
//	res, err := s.Sample(sample.Input{Logits: row, History: tokens})
//
// It takes one row of float32 logits (Sample, SampleRow) or a batch of
// rows in parallel (SampleBatch), writes a row's final distribution
// instead of drawing (Probs, for checking a chain against another
// engine), reports log-probabilities (Result, LogProbs) and verifies
// speculative-decoding drafts (VerifyRow, VerifyBatch). It owns its
// buffers: once they have grown to the vocabulary, a call allocates
// nothing.
//
// # Stages
//
// The stages (each documented with its semantics on its constructor)
// are logit_bias, penalties (repeat, frequency, presence over the last
// n tokens), dry, top_n_sigma, top_k, typical, top_p, min_p, xtc, temp
// (with the entropy-based dynamic temperature), and the final stages
// dist, greedy, mirostat and mirostat_v2; Input.Allowed masks tokens
// before the first stage (grammar-constrained decoding). They run in the
// order given; Default is llama.cpp's order and defaults. Every
// truncating stage takes min_keep. The semantics follow llama.cpp where
// it defines them, with these rules made exact:
//
//   - The candidates are the tokens with a finite logit; a removed token
//     has logit −Inf and probability exactly 0. Probabilities are the
//     softmax of the candidates' current logits.
//   - Orders are by logit (or probability) descending, ties broken by the
//     lower token id first; typical's order is by |−ln p − H| ascending,
//     ties by the lower id.
//   - top_p and typical keep the shortest prefix of their order whose
//     cumulative probability is ≥ P: the token that crosses P is kept.
//   - min_p keeps logit ≥ max + ln P (compared in float64), top_n_sigma
//     logit ≥ max − n·σ: no exponential.
//   - temp divides the logits by T in float32; T ≤ 0, or a T so small that
//     max/T overflows, keeps the argmax only.
//   - A stage never leaves fewer than one candidate, nor fewer than
//     min(min_keep, candidates).
//
// # Without sorting
//
// top_k selects: the maxima of chunks of 256 logits bound the K-th
// largest from below, so only the few chunks that can hold the top K are
// read again, and a radix selection (on the float's bits, one byte at a
// time) finds the K-th largest among them; ties are taken in id order.
// top_p and typical search a threshold: one pass computes the masses
// exp(z − max) (the exponential kernel of package internal/vek), a
// fixed subsample of the row estimates where the cumulative mass
// crosses P, one pass sums the masses (per block) and notes the entries
// near the estimate, and rounds of eight thresholds (massAbove) narrow
// those down to at most 128 entries, which alone are ordered. The kept
// prefix of a long row is not copied out: the row is cut at the crossing
// logit, and the draw uses the masses per block from that pass. Sums are
// in float64.
// The result is the same as sorting: the tests compare every stage with
// a float64 reference that sorts, on vocabularies from 1 to 262 144.
//
// # Randomness
//
// Row r of a batch, and SampleRow(r, …), draws from stream r: ChaCha8
// (math/rand/v2) keyed by the seed and r (little-endian, 8 bytes each)
// and the tag "xent/sample v1"; a uniform is the top 53 bits of the next
// 64-bit output times 2⁻⁵³ (StreamVersion 1). dist draws one uniform u
// and takes the first candidate in id order whose cumulative mass
// exceeds u times the total; xtc draws one uniform each time it runs;
// mirostat draws as dist. A row's tokens therefore depend only on the
// seed, its index and its inputs — not on the other rows, the batch size
// or the number of threads.
//
// # Accuracy and determinism
//
// Masses are float32 exponentials within 2 ulp of exp(z − max); they are
// summed in float64, in sixteen lanes in a fixed order (the AVX-512
// kernels of this package and their portable twins give the same bits).
// A cumulative probability is thus within about 5·10⁻⁷ of the exact one;
// a decision at a threshold (top_p, typical, xtc, mirostat) can differ
// from exact arithmetic only within that distance. The entropy of typical
// and of the dynamic temperature uses float64 exponentials. Final
// probabilities are within a few ulp of float32 (plus the rounding of
// the logits themselves after a temperature). The same seed gives the
// same tokens for any thread count and on every kernel tier: the
// exponentials are internal/vek's, the same bits on AVX-512, AVX2 and
// portable Go, and the sums are this package's, in one fixed order on
// AVX-512 and in portable Go alike. (The entropy's float64 exponentials
// come from Go's math.Exp, whose last bit may differ on CPUs without FMA;
// that moves a typical or dynamic-temperature decision only when it lies
// within that rounding of a boundary.)
//
// # Errors
//
// Bad input is an error that names the position and wraps ErrValue or
// ErrShape: NaN or +Inf logits, history tokens outside the vocabulary, a
// short mask, a row left without candidates, bad stage parameters.
package sample
