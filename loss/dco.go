package loss

import (
	"math"
	"unsafe"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
)

// nameDco is the registry name of this file's loss.
const nameDco = "dco"

// DCO is the direct coverage optimization loss of Chen, Raventós, Cheng,
// Ganguli and Druckmann, "Rethinking Fine-Tuning when Scaling Test-Time
// Compute: Limiting Confidence Improves Mathematical Reasoning" (2025),
// catalog A8: the negative log of pass@N, the probability that at least
// one of N independent samples is right,
//
//	ℓ = −log(1 − (1 − p̂)^N)
//
// where p̂ is the probability of the target: p_y of one row (the Loss
// interface, every row its own one-token sequence) or, in DCOSequences,
// the product of a sequence's token probabilities. N = 1 is
// cross-entropy. The gradient is cross-entropy's scaled by
//
//	F = N·p̂·(1 − p̂)^(N−1)/(1 − (1 − p̂)^N) ∈ (0, 1],
//
// which tends to 1 for p̂ → 0 and to 0 for p̂ → 1: confident targets stop
// being pushed (confidence limiting). Default N = 4; N ≥ 1, not
// necessarily an integer.
//
// Stable form: with a = −log p̂ (a sum of per-token (max − z_y) + log1p(T)
// terms, T the softmax tail kept to full precision), b = log(1 − p̂) =
// log1mexp(a) and A = N·b,
//
//	ℓ = −log1mexp(−A),  F = N·exp(−a + (N−1)·b − log1mexp(−A)),
//
// log1mexp(x) = log(1 − e^(−x)) evaluated as log(−expm1(−x)) for x below
// log 2 and log1p(−exp(−x)) above. The naive 1 − (1 − p̂)^N returns a loss
// of exactly 0 when p̂ is near 1 (e.g. 1e-21 at log p̂ = −0.05, N = 16) and
// loses everything when p̂ ≪ 1/N; this form keeps full relative precision
// at both ends. p̂ = 1 exactly (one class) gives ℓ = 0 and, for N > 1,
// gradient 0.
//
// Options (Loss interface): reduction, ignore index, class weights (row
// i's loss is w_{y_i}·ℓ_i, Mean divides by Σ r_i·w_{y_i}), row weights;
// −Inf logits off the target are masks. No official code is published;
// the paper's step-level variants for proof search are not included.
//
// Accuracy: float64 about 1e-14 relative per row; float32 logits give
// rows within 1e-5 relative and gradients within 1e-6 + 1e-5·|g| of the
// float64 values. Sums are in float64.
type DCO struct {
	o Options
	n float64
}

// NewDCO returns the pass@N coverage loss for N ≥ 1.
func NewDCO(n float64, opts ...Option) (*DCO, error) {
	if !(n >= 1) || math.IsInf(n, 0) {
		return nil, valueErr(nameDco, "n = %v, want a finite number ≥ 1", n)
	}
	o, err := buildHard(nameDco, opts, true)
	if err != nil {
		return nil, err
	}
	return &DCO{o, n}, nil
}

// Name returns "dco".
func (*DCO) Name() string { return nameDco }

// Eval32 evaluates the per-row loss on float32 logits and labels.
func (d *DCO) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalDCO(k32, d, in, out)
}

// Eval64 evaluates the per-row loss on float64 logits and labels.
func (d *DCO) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalDCO(k64, d, in, out)
}

// log1mexp returns log(1 − e^(−x)) for x ≥ 0 (−Inf at 0).
func log1mexp(x float64) float64 {
	if x < math.Ln2 {
		return math.Log(-math.Expm1(-x))
	}
	return math.Log1p(-math.Exp(-x))
}

// dcoTerms returns the loss −log(1 − (1 − p̂)^N) and the gradient factor
// F for a = −log p̂ ≥ 0.
func dcoTerms(a, n float64) (loss, f float64) {
	if n == 1 {
		return a, 1
	}
	if a > 700 {
		// p̂ < 1e-304: coverage = N·p̂·(1 + O(N·p̂)), F = 1 − O(N·p̂).
		return a - math.Log(n), 1
	}
	b := log1mexp(a) // log(1 − p̂)
	if math.IsInf(b, -1) {
		return 0, 0
	}
	lc := log1mexp(-n * b) // log coverage
	return -lc, n * math.Exp(-a+(n-1)*b-lc)
}

func evalDCO[E exact](k *kernels[E], d *DCO, in Input[E], out Output[E]) (float64, error) {
	cfg := hardCfg{name: nameDco, o: d.o, masks: true}
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(i int, x []E, m E, y int, g []E, gs float64) (float64, error) {
			st := scaledTail(k, x, m, 1)
			a, q := targetTerms(x, m, y, 1, st)
			l, f := dcoTerms(a, d.n)
			if g != nil {
				writeCEShape(k, g, x, m, 1, y, st, q, gs*f)
			}
			return l, nil
		}
	})
}

// DCOSequences evaluates the sequence-level loss: the rows of in are
// tokens, groups[i] is the sequence that row i belongs to (ids 0 … G−1,
// G = max id + 1 ≤ rows; the rows of a sequence need not be adjacent),
// and each sequence's p̂ is the product of its tokens' p_y. Rows whose
// label is the ignore index (prompt tokens, padding) are not part of
// their sequence; a sequence without counted tokens has loss 0 and does
// not count.
//
// The reduction is d's: Mean divides the sum of the sequence losses by
// the number of counted sequences, Sum adds them, None also adds them and
// requires seqLoss. seqLoss (nil, or one per sequence) receives each
// sequence's loss; grad (nil, or the logits' shape; it may be in.Logits)
// receives ∂loss/∂logits, F_g·(softmax(z_t) − e_{y_t}) for every token t of
// sequence g, scaled by the reduction. Class weights and row weights do
// not apply to a product of probabilities and are rejected, as are
// Targets and Teacher.
func DCOSequences[T Float](d *DCO, in Input[T], groups []int32, grad []T, seqLoss []float64) (float64, error) {
	var z T
	if unsafe.Sizeof(z) == 4 {
		return dcoSeq(k32, d, convertInput[T, float32](in), groups, rowstat.AsExact[T, float32](grad), seqLoss)
	}
	return dcoSeq(k64, d, convertInput[T, float64](in), groups, rowstat.AsExact[T, float64](grad), seqLoss)
}

func dcoSeq[E exact](k *kernels[E], d *DCO, in Input[E], groups []int32, grad []E, seqLoss []float64) (float64, error) {
	const name = nameDco
	o := d.o
	rows, err := checkMatrix(name, in, Output[E]{Grad: grad}, Sum)
	if err != nil {
		return 0, err
	}
	cols := in.Cols
	switch {
	case o.ClassWeights != nil:
		return 0, valueErr(name, "class weights do not apply to sequences")
	case in.RowWeights != nil:
		return 0, shapeErr(name, "row weights do not apply to sequences")
	case in.Targets != nil || in.Teacher != nil:
		return 0, shapeErr(name, "takes labels only (no Targets, no Teacher)")
	case len(groups) != rows:
		return 0, shapeErr(name, "len(groups) = %d, want %d (one per row)", len(groups), rows)
	}
	if err := checkLabels(name, in, rows); err != nil {
		return 0, err
	}
	G := 0
	for i, g := range groups {
		if g < 0 || int(g) >= rows {
			return 0, valueErr(name, "group %d at row %d outside [0, %d)", g, i, rows)
		}
		G = max(G, int(g)+1)
		if y := labelAt(in, i); y != o.IgnoreIndex && (y < 0 || y >= int64(cols)) {
			return 0, valueErr(name, "label %d at row %d outside [0, %d)", y, i, cols)
		}
	}
	switch {
	case seqLoss != nil && len(seqLoss) != G:
		return 0, shapeErr(name, "len(seqLoss) = %d, want %d (one per sequence)", len(seqLoss), G)
	case o.Reduction == None && seqLoss == nil:
		return 0, shapeErr(name, "reduction none needs seqLoss (one value per sequence)")
	}
	cfg := hardCfg{name: name, o: o, masks: true}

	// Pass 1: every counted token's −log p_y.
	nll := make([]float64, rows)
	grain := max(1, blockElems/cols)
	nb := par.Blocks(rows, grain)
	errs := make([]error, nb)
	par.For(rows, grain, par.Threads(o.Threads), func(b, lo, hi int) {
		for i := lo; i < hi; i++ {
			y := labelAt(in, i)
			if y == o.IgnoreIndex {
				continue
			}
			x := in.Logits[i*cols : (i+1)*cols]
			m, err := hardRowMax(cfg, i, x, int(y))
			if err != nil {
				errs[b] = err
				return
			}
			a, _ := targetTerms(x, m, int(y), 1, scaledTail(k, x, m, 1))
			nll[i] = a
		}
	})
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	// Per sequence: a = Σ_t −log p_t in row order, then ℓ and F.
	a := make([]float64, G)
	counted := make([]bool, G)
	for i, g := range groups {
		if labelAt(in, i) != o.IgnoreIndex {
			a[g] += nll[i]
			counted[g] = true
		}
	}
	f := make([]float64, G)
	var total float64
	n := 0
	for g := range a {
		var l float64
		if counted[g] {
			l, f[g] = dcoTerms(a[g], d.n)
			n++
		}
		if seqLoss != nil {
			seqLoss[g] = l
		}
		total += l
	}
	sc := 1.0
	if o.Reduction == Mean {
		sc = 0
		if n > 0 {
			sc = 1 / float64(n)
		}
	}
	if grad != nil {
		// Pass 2: F_g·(p − e_y) for every counted token.
		par.For(rows, grain, par.Threads(o.Threads), func(b, lo, hi int) {
			for i := lo; i < hi; i++ {
				g := grad[i*cols : (i+1)*cols]
				y := labelAt(in, i)
				if y == o.IgnoreIndex {
					clear(g)
					continue
				}
				x := in.Logits[i*cols : (i+1)*cols]
				m, _ := hardRowMax(cfg, i, x, int(y))
				st := scaledTail(k, x, m, 1)
				_, q := targetTerms(x, m, int(y), 1, st)
				writeCEShape(k, g, x, m, 1, int(y), st, q, sc*f[groups[i]])
			}
		})
	}
	return finiteTotal(name, total, sc, nil)
}

func init() {
	Register(Spec{
		Name:    nameDco,
		Catalog: "A8",
		Summary: "pass@N coverage loss −log(1 − (1 − p_y)^N) per row (sequences: loss.DCOSequences)",
		Needs:   NeedsLabels,
		Params:  []Param{{"n", 4, "sample budget N ≥ 1 (1: cross-entropy)"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewDCO(p["n"], opts...)
		},
	})
}
