// Package attention computes scaled dot-product attention on the CPU
// without ever storing the S×T score matrix: forward, backward and
// decoding, with the softmax and the seed papers' other normalizers, and
// LoLCATs' linear attention.
//
// # Layout and semantics
//
// Tensors are row-major slices in the layout of PyTorch's
// scaled_dot_product_attention: Q [B, H, S, d], K [B, Hkv, T, d],
// V [B, Hkv, T, dv], the output [B, H, S, dv]. Grouped-query and
// multi-query attention: Hkv divides H and query head h uses key/value
// head h/(H/Hkv), PyTorch's repeat_interleave convention. For query i
// and key j, with s_ij = Scale·q_i·k_j (Scale defaults to 1/√d), the
// score is optionally soft-capped (Softcap·tanh(s/Softcap)), an additive
// Bias is added, and the masks hide keys:
//
//   - Causal: key j is visible to query i when j ≤ i + T − S, the mask
//     aligned to the end of the keys (new queries against a cache; for
//     S = T the usual lower triangle). PyTorch's is_causal aligns it to
//     the start instead; the two agree when S = T.
//   - Window w: keys with |i + T − S − j| < w (with Causal, the w most
//     recent keys, the query's own position included).
//   - KeyPadding [B, T]: true hides the key (PyTorch's key_padding_mask).
//   - A −Inf bias entry hides its key.
//
// A query that sees no key gets output 0 and log-normaliser −Inf
// (PyTorch returns NaN for such rows).
//
// # Normalizers
//
//   - Softmax (default): A_ij = exp(z_ij)/Σ_l exp(z_il) with z = τ_i·s.
//     With Selective, τ_i = 1 + exp(−exp β)·ln n_i, the position
//     temperature of selective attention (catalog B23; Zhang et al.,
//     2024), n_i the number of keys the causal, window and padding masks
//     leave to row i (for plain causal attention, its 1-based position);
//     Backward also returns ∂L/∂β. Verified: the catalog's worked vector
//     and ∂τ/∂β, and the authors' code's form (position term only; the
//     paper's token-dependent temperature is not in their code and not
//     here).
//   - Sigmoid: A_ij = σ(s_ij + b), b = −ln T by default (catalog A20;
//     Ramapuram et al., 2024; their language models use −7.62 ≈
//     −ln 2048); rows are not normalised, so no running maximum is kept.
//     Verified against the catalog's weights and derivatives.
//   - Softplus: A_ij = softplus(κ_i·s_ij)/Σ_l softplus(κ_i·s_il)
//     (catalog A26; Gao and Spratling, 2025), computed as the softmax of
//     log softplus(κ_i·s_ij) so that rows of very negative scores still
//     normalise. κ_i = ln n_i / ln LengthBase implements the paper's
//     length scale ("the logarithm of the number of visible tokens");
//     its reference base (training length or head dimension) could not be
//     pinned down from the paper, so it is the caller's choice (κ = 1
//     without it). The core formula is verified against the catalog's
//     vectors for κ = 1 and κ = ln 3; the paper's re-weighting stage
//     (LSSAR) is not implemented, as its formula could not be verified.
//
// # The fused forward pass (float32)
//
// Work is cut into tasks of query rows (TileRows, default 384, of one
// key/value head: rows of every query head that shares it are stacked so
// that they share its keys). A task packs its queries once, then walks
// the keys in blocks of 256: it packs the block of K (and of V), and for
// strips of 48 rows computes the 48×256 scores with the packed GEMM of
// internal/gemm, turns each row into weights with the online update —
// the row's running (max, sum) merged with the block's exactly as
// softmax.State merges, the unnormalised output rescaled when the
// maximum grows — and accumulates weights·V with a second GEMM. Per
// thread it holds about 1 MiB (the task's packed queries and output, one
// packed block of K and V, one strip of scores), never O(S·T) and nothing
// that grows with T.
//
// # Decoding
//
// When few query rows share a key/value head (G·S ≤ 64, G = H/Hkv: one
// new token per head, or a few), the keys are also split, in ranges of
// 2048, across tasks: each range is reduced separately (split-K,
// "flash-decoding") and the partial states and outputs are merged in key
// order, so the result is the same bits for any thread count. With at
// most 8 such rows, neither K nor V is copied into the GEMM's packed
// layout: the scores are dot products of the query rows with the rows of
// K where they lie (vek.DotRows32: four query rows per pass over a key
// row, 16 fused lanes added pairwise), and weights·V is accumulated
// straight from V (vek.AxpyRows32: per element the same fused operations
// as one axpy per key). The two passes are software-pipelined: the
// scores of one block of 256 keys are computed 32 keys at a time in turn
// with the axpys of the block before, so that K and V are read from
// memory in alternation, each once, by the pass that uses it. The
// scores of this path are rounded differently from the GEMM's (another
// summation order, both within d·2⁻²⁴ relative to Σ|q_i·k_i|); which
// path a shape takes depends on the shape only.
//
// # The backward pass
//
// FlashAttention-2's loop: one task per (batch, key/value head); key
// blocks of 192 in order and, inside, strips of 96 query rows; the
// scores are recomputed with the GEMM, the weights recovered from them
// and the saved log-normaliser (P = exp(τ·z − LSE)), dP = dO·Vᵀ by
// another GEMM, dS = P∘(dP − D) with D_i = dO_i·out_i, and dV += Pᵀ·dO,
// dQ += dS·K, dK += dSᵀ·Q by three more. dK and dV are summed over the
// query heads that share a key/value head. The task packs the Q and dO
// rows of its group once for all key blocks (4·G·S·d values: O(S), never
// O(T)). FLOPs are counted as 10·d per visible (query, key) pair (2.5×
// the forward's 4·d).
//
// # Determinism
//
// The key block (256 forward, 192 backward), the key ranges of the
// decoding path (2048) and the backward's strips fix the order of every
// sum; they depend on the shape only. The thread count and TileRows never
// change the bits of any result; the tests check it.
//
// # Accuracy
//
// Each float32 score carries the GEMM's rounding (a few ulp of
// Scale·Σ|q||k|); the exponentials are those of internal/vek (within 2
// ulp), the online state is float64 and each merge rescales by an exact
// float64 exp. Tested against a float64 materialized reference: outputs
// within 1e-6·(1 + max|s|)·max|v| and log-normalisers within
// 1e-6·(1 + max|s|) (absolute, relative above 1); gradients within
// 3e-6·(1 + max|s|) of the largest gradient entry. The float64 path
// (float64 type parameter) agrees with the reference to 1e-12.
//
// # Errors
//
// Shapes and options are validated (ErrShape, ErrValue, naming the
// tensor and position). Q must be finite; a non-finite key is reported
// when a query sees it (through its score), a non-finite value when it
// reaches an output or, on the GEMM path, lies in a key block some query
// sees; NaN and +Inf in Bias are errors. Checking K and V separately would
// read the whole cache a second time, which decoding cannot afford.
//
// # Linear attention
//
// FeatureMap is LoLCATs' softmax feature map φ(x) = [softmax(xW),
// softmax(−xW)] and LinearAttention their causal linear attention with
// the sliding-window hybrid (catalog B27), from a running state of size
// features × dv per head, linear in T; LinearAttentionBackward and
// FeatureMapBackward are their gradients, with the same state (a forward
// sweep over the queries, a backward sweep over the keys). SOFT (catalog
// A19) is not here:
// it replaces the softmax by a Gaussian kernel with a Nyström low-rank
// approximation and an iterative pseudo-inverse, a linear-algebra method
// with no softmax left in it.
//
// # Kernels
//
// The GEMMs and the row kernels (max, exp-sum, exp, axpy, scale, sum)
// come from internal/gemm and internal/vek. The element-wise steps that
// vek has no kernel for — the sigmoid's reciprocal, tanh for the soft-cap,
// log-softplus, the products of the backward pass (P∘(dP − D) and the
// like) and a float64 dot product — are portable Go in kernels.go; they
// are what keeps the sigmoid normalizer from beating the softmax (see
// BENCHMARKS.md), and the place for SIMD kernels later.
package attention
