// Package linear is the fused classifier head of a language model or
// classifier: hidden states H [N, D] times the classifier W [V, D]ᵀ (plus a
// bias) followed by the cross-entropy loss, forward and backward, computed
// block by block so that the N×V logits never exist in memory (the Cut
// Cross-Entropy idea, on the CPU).
//
// # How it runs
//
// Tokens are processed in blocks of B rows (B chosen so a block's logits
// take about 32 MiB and its hidden states no more, at least 16 rows): the
// block's logits H_b·Wᵀ + b are computed by the packed GEMM of
// internal/gemm into one reusable buffer, the cross-entropy of package
// loss turns them into the loss and, in place, into the gradient
// G_b = ∂ℓ/∂Z_b, and two more GEMMs give
// ∂H_b = G_b·W and accumulate ∂W += G_bᵀ·H_b; ∂b adds the columns of G_b.
// The logits are computed once (no recomputation in the backward): six
// multiply-adds per (token, class, dimension) in all, the cost of three
// matrix multiplies. The logits product of a block (256 tokens for
// V = 32768) takes the GEMM's path for one token block: each group of
// classes keeps its logits in L2 while all of D is accumulated, and each
// panel of W is packed just before use, so the logits block is written to
// memory once and packed weights never go through it. Every step is
// parallel over blocks of its output, and the blocks' results are
// combined in a fixed order, so the result is the same bits for any
// number of threads.
//
// Memory: besides its inputs and outputs, the head allocates one B×V
// logits block, the GEMM's packing buffers (a few MiB) and O(N) per-row
// values — never anything of size N×V. EvalStream takes the hidden states
// (and hands out ∂H) one token block at a time, for inputs larger than
// memory: then only the classifier, the per-row values and one block of
// B×D hidden states are held, and the results are the bits of Eval.
//
// # Gradient filtering
//
// With FilterEps > 0 (catalog A10), the backward works on tiles of the
// block (TileRows tokens × TileCols classes); a tile whose every gradient
// entry |∂ℓ_i/∂z_ij| is below FilterEps is skipped in both backward GEMMs.
// Tiles are small so that a token's target (whose gradient is never
// small unless the row is ignored) rules out only its own tile. The kept
// tiles of each column of tiles are gathered into dense panels (their
// gradient rows and hidden states), so that a column costs two products
// of full-size panels whatever its kept tiles are; the backward's cost
// then falls with the fraction of tiles kept. With
// unit weights and no smoothing that entry is |softmax − target|, so the
// skipped work is what a bf16 gradient would round to zero (FilterEps =
// 2⁻¹² for that). The default 0 is exact.
//
// # Vocabulary sharding
//
// The head can run on one slice of the vocabulary at a time (on several
// machines, say): ShardForward returns each row's partial state (running
// max, sum, tail, target logit), MergeShards combines the states of all
// slices exactly, and ShardBackward computes one slice's gradients from the
// merged log-sum-exp. See the example.
package linear

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
	"github.com/xentlab/xent/internal/xerr"
	"github.com/xentlab/xent/loss"
)

// ErrShape is wrapped by every error about the shape of the arguments.
// It is the same value in every package of the module, so errors.Is
// matches it whichever package the error came from.
var ErrShape = xerr.ErrShape

// ErrValue is wrapped by every error about a value (a label out of range,
// a non-finite input).
// It is the same value in every package of the module, so errors.Is
// matches it whichever package the error came from.
var ErrValue = xerr.ErrValue

// Input holds the head's operands, float32, row-major.
type Input struct {
	Hidden []float32 // [N, D]
	N, D   int
	Weight []float32 // the classifier, [V, D]
	V      int
	Bias   []float32 // [V], or nil
	// Targets holds one class index per row (or Targets64; not both).
	// With Shift s > 0, row t is scored against Targets[t+s] and the last
	// s rows count as ignored.
	Targets   []int32
	Targets64 []int64
	// RowWeights scales each row's loss (nil: 1).
	RowWeights []float32
}

// Output receives what the head computes besides the loss; nil fields are
// not computed. Gradients are overwritten, not accumulated.
type Output struct {
	GradHidden []float32 // ∂loss/∂H, [N, D]
	GradWeight []float32 // ∂loss/∂W, [V, D]
	GradBias   []float32 // ∂loss/∂b, [V]
	Rows       []float32 // each row's loss (0 for ignored rows)
	LSE        []float32 // each row's log-sum-exp of the (soft-capped) logits
	// TargetRank receives, for each counted row, the number of classes
	// whose logit is strictly larger than the target's (0: the target is a
	// top-1 prediction; < 5: top-5), capped at 2³¹−1; −1 for ignored rows.
	TargetRank []int32
}

// Head is the configuration of the fused head. The zero Head is the plain
// cross-entropy with mean reduction and ignore index −100.
type Head struct {
	// Loss holds the cross-entropy options of package loss (reduction,
	// ignore index, class weights, label smoothing, z-loss, soft-capping);
	// their semantics are those of loss.CrossEntropy.
	Loss []loss.CrossEntropyOption
	// Shift scores row t against target t+Shift (next-token prediction
	// without copying the hidden states); ≥ 0.
	Shift int
	// FilterEps > 0 skips the backward work of vocabulary tiles whose
	// gradient entries are all below it.
	FilterEps float64
	// TileCols and TileRows are the tile of gradient filtering: TileCols
	// vocabulary entries by TileRows tokens (defaults 512 and 32).
	TileCols, TileRows int
	// BlockRows overrides the token block (default: about 32 MiB of
	// logits, and no more than that of hidden states).
	BlockRows int
	// Threads sets the goroutines (≤ 0: GOMAXPROCS); results do not depend
	// on it.
	Threads int
}

// Stats reports one evaluation.
type Stats struct {
	Loss float64
	// Tiles and SkippedTiles count the tiles of the backward (TileRows
	// tokens × TileCols classes) and those skipped by gradient filtering.
	Tiles, SkippedTiles int
	// ExtraBytes is the size of the scratch memory the call used: the
	// logits block, the matrix products' packing buffers and the per-row
	// and per-class accumulators (the first two are pooled between calls).
	ExtraBytes int64
}

const (
	defaultTileCols = 512
	defaultTileRows = 32
	blockBytes      = 32 << 20
	minBlockRows    = 16
)

// config is a validated Head with its cross-entropy.
type config struct {
	h        Head
	opts     loss.CrossEntropyOptions
	ce       *loss.CrossEntropy // reduction Sum: the head scales by itself
	threads  int
	tileCols int
	tileRows int
	fs       *filterScratch // the gathered panels of gradient filtering (run only)
}

func (h Head) config() (config, error) {
	ce, err := loss.NewCrossEntropy(h.Loss...)
	if err != nil {
		return config{}, err
	}
	o := ce.Options()
	c := config{h: h, opts: o, threads: par.Threads(h.Threads), tileCols: h.TileCols}
	if c.tileCols <= 0 {
		c.tileCols = defaultTileCols
	}
	c.tileRows = h.TileRows
	if c.tileRows <= 0 {
		c.tileRows = defaultTileRows
	}
	switch {
	case h.Shift < 0:
		return c, fmt.Errorf("linear: Shift = %d, want ≥ 0: %w", h.Shift, ErrShape)
	case !(h.FilterEps >= 0) || math.IsInf(h.FilterEps, 0):
		return c, fmt.Errorf("linear: FilterEps = %v, want a finite number ≥ 0: %w", h.FilterEps, ErrValue)
	}
	c.ce, err = loss.NewCrossEntropy(append(append([]loss.CrossEntropyOption(nil), h.Loss...), loss.WithReduction(loss.Sum), loss.WithThreads(c.threads))...)
	return c, err
}

// blockRows returns the token block B: about blockBytes of logits (B×V)
// and at most that of hidden states (B×D, which EvalStream holds), at
// least minBlockRows.
func (c config) blockRows(n, v, d int) int {
	if c.h.BlockRows > 0 {
		return c.h.BlockRows
	}
	b := blockBytes / 4 / max(v, d, 1)
	return max(minBlockRows, min(b, max(n, 1)))
}

func shapeErr(format string, args ...any) error {
	return fmt.Errorf("linear: %s: %w", fmt.Sprintf(format, args...), ErrShape)
}

func valueErr(format string, args ...any) error {
	return fmt.Errorf("linear: %s: %w", fmt.Sprintf(format, args...), ErrValue)
}

// check validates shapes and values common to every entry point; v0 and
// vs give the vocabulary slice [v0, v0+vs) whose weights are in in.Weight
// (v0 = 0, vs = V for the whole head). With streamed set, the hidden
// states are not in in (EvalStream checks them block by block).
func (c config) check(in Input, out Output, vocab int, streamed bool) error {
	n, d, v := in.N, in.D, in.V
	switch {
	case n < 0 || d <= 0 || v <= 0:
		return shapeErr("N = %d, D = %d, V = %d; want N ≥ 0, D ≥ 1, V ≥ 1", n, d, v)
	case !streamed && len(in.Hidden) != n*d:
		return shapeErr("len(Hidden) = %d, want N·D = %d", len(in.Hidden), n*d)
	case len(in.Weight) != v*d:
		return shapeErr("len(Weight) = %d, want V·D = %d", len(in.Weight), v*d)
	case in.Bias != nil && len(in.Bias) != v:
		return shapeErr("len(Bias) = %d, want V = %d", len(in.Bias), v)
	case in.Targets != nil && in.Targets64 != nil:
		return shapeErr("both Targets and Targets64 are set")
	case in.Targets == nil && in.Targets64 == nil:
		return shapeErr("no Targets")
	case in.Targets != nil && len(in.Targets) != n || in.Targets64 != nil && len(in.Targets64) != n:
		return shapeErr("%d targets for N = %d rows", max(len(in.Targets), len(in.Targets64)), n)
	case in.RowWeights != nil && len(in.RowWeights) != n:
		return shapeErr("len(RowWeights) = %d, want N = %d", len(in.RowWeights), n)
	case out.GradHidden != nil && len(out.GradHidden) != n*d:
		return shapeErr("len(GradHidden) = %d, want N·D = %d", len(out.GradHidden), n*d)
	case out.GradWeight != nil && len(out.GradWeight) != v*d:
		return shapeErr("len(GradWeight) = %d, want V·D = %d", len(out.GradWeight), v*d)
	case out.GradBias != nil && len(out.GradBias) != v:
		return shapeErr("len(GradBias) = %d, want V = %d", len(out.GradBias), v)
	case out.Rows != nil && len(out.Rows) != n:
		return shapeErr("len(Rows) = %d, want N = %d", len(out.Rows), n)
	case out.LSE != nil && len(out.LSE) != n:
		return shapeErr("len(LSE) = %d, want N = %d", len(out.LSE), n)
	case out.TargetRank != nil && len(out.TargetRank) != n:
		return shapeErr("len(TargetRank) = %d, want N = %d", len(out.TargetRank), n)
	case c.opts.Reduction == loss.None && out.Rows == nil:
		return shapeErr("reduction none needs Output.Rows")
	case c.opts.ClassWeights != nil && len(c.opts.ClassWeights) != vocab:
		return shapeErr("%d class weights for a vocabulary of %d", len(c.opts.ClassWeights), vocab)
	}
	if i, j, bad := firstNonFinite(in.Weight, d, c.threads); bad {
		return valueErr("Weight[%d, %d] = %v", i, j, in.Weight[i*d+j])
	}
	if in.Bias != nil {
		if _, j, bad := firstNonFinite(in.Bias, len(in.Bias), c.threads); bad {
			return valueErr("Bias[%d] = %v", j, in.Bias[j])
		}
	}
	for i, w := range in.RowWeights {
		if !(w >= 0) || math.IsInf(float64(w), 0) {
			return valueErr("row weight %v at row %d, want a finite number ≥ 0", w, i)
		}
	}
	for i := 0; i < n; i++ {
		y, ok := c.target(in, i)
		if !ok {
			continue
		}
		if y < 0 || y >= int64(vocab) {
			return valueErr("target %d for row %d outside [0, %d)", y, i, vocab)
		}
	}
	// The hidden states last: EvalStream checks them block by block as it
	// reads them, after everything above, and reports the same first error.
	if i, j, bad := firstNonFinite(in.Hidden, d, c.threads); bad {
		return valueErr("Hidden[%d, %d] = %v", i, j, in.Hidden[i*d+j])
	}
	return nil
}

// target returns row i's target after the shift, and false if the row is
// ignored (shifted past the end or labelled with the ignore index).
func (c config) target(in Input, i int) (int64, bool) {
	if c.h.Shift >= in.N-i { // i + Shift ≥ N, without overflowing
		return 0, false
	}
	j := i + c.h.Shift
	var y int64
	if in.Targets != nil {
		y = int64(in.Targets[j])
	} else {
		y = in.Targets64[j]
	}
	return y, y != c.opts.IgnoreIndex
}

// denominator is the mean's divisor: Σ r_i·w_{y_i} over the counted rows.
func (c config) denominator(in Input) float64 {
	var den float64
	for i := 0; i < in.N; i++ {
		y, ok := c.target(in, i)
		if !ok {
			continue
		}
		r := 1.0
		if in.RowWeights != nil {
			r = float64(in.RowWeights[i])
		}
		w := 1.0
		if c.opts.ClassWeights != nil {
			w = c.opts.ClassWeights[y]
		}
		den += r * w
	}
	return den
}

// scale returns the factor the summed loss and gradients are multiplied by.
func (c config) scale(in Input) float64 {
	if c.opts.Reduction != loss.Mean {
		return 1
	}
	den := c.denominator(in)
	if den == 0 {
		return 0
	}
	return 1 / den
}

// firstNonFinite returns the row and column of the first NaN or ±Inf in
// x (cols columns). Chunks are checked in parallel by their float64 sum,
// which is finite exactly when the chunk is (a float64 sum of float32
// values cannot overflow); only a chunk that fails is scanned.
func firstNonFinite(x []float32, cols, threads int) (int, int, bool) {
	const chunk = 1 << 16
	bad := make([]bool, par.Blocks(len(x), chunk))
	par.For(len(x), chunk, threads, func(b, lo, hi int) {
		s := rowstat.K32.Sum(x[lo:hi])
		bad[b] = math.IsNaN(s) || math.IsInf(s, 0)
	})
	for b, isBad := range bad {
		if !isBad {
			continue
		}
		for k := b * chunk; k < min(len(x), (b+1)*chunk); k++ {
			if v := x[k]; v != v || math.IsInf(float64(v), 0) {
				return k / cols, k % cols, true
			}
		}
	}
	return 0, 0, false
}
