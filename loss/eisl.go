package loss

import (
	"math"
	"math/rand/v2"
	"sync/atomic"

	"github.com/xentlab/xent/internal/par"
)

// nameEisl is the registry name of this file's loss.
const nameEisl = "eisl"

// EISL is the edit-invariant sequence loss (Liu et al., "Don't Take It
// Literally: An Edit-Invariant Sequence Loss for Text Generation", NAACL
// 2022; catalog A25): instead of matching every output position with the
// target token at the same position, it matches each n-gram of the
// target with every n-gram of the output and aligns them softly, so that
// a shifted or locally edited output is not penalized as if every token
// were wrong.
//
// A sequence is a run of rows of the logits (one output position each,
// o_t) with the target token of the same position (Labels), selected by
// ForSequences; output and target have the same length L. With
// l_{t,v} = max(log softmax(o_t)_v, −20), C_{t,j} = l_{t,y_j} and for each
// n-gram size n
//
//	G_{a,b} = (1/n)·Σ_{r<n} C_{a+r,b+r},   W_{·,b} = softmax_a(G_{·,b}),
//	L_n = −mean_b Σ_a W_{a,b}·G_{a,b},
//
// the sequence's loss is the mean of L_n over its n-gram sizes. The
// gradient flows through both G and the alignment W:
// ∂f_b/∂G_{a,b} = W_{a,b}·(1 + G_{a,b} − f_b) for f_b = Σ_a W_{a,b}G_{a,b},
// then to the logits through the log-softmax, except where the −20 clamp
// is active (zero gradient there, as in the official relu(x+20)−20).
//
// The n-gram sizes of a sequence follow the official config_ngram_list:
// n > 0 is kept if n ≤ L, n ≤ 0 means L + n (0: the whole sequence) if
// positive, duplicates are dropped, and if nothing is left the whole
// sequence is one n-gram. Rows whose label is the ignore index are
// removed from their sequence (padding). Mean divides the sum over
// sequences by their number (the official mean over the batch), Sum
// adds, None writes into Output.Rows each target position's share of its
// sequence's loss (−Σ_n f_b/(|ngrams|·K_n) at the row starting n-gram b;
// they add up to the sequence's loss). Without ForSequences all rows are
// one sequence. The registered loss's default n-grams are {1, 2}, as in
// the official training scripts and the catalog's headline.
//
// Alignment noise: by default the soft alignment is softmax(G) without
// noise, so the loss is a deterministic function of the logits. WithGumbel
// gives the official alignment, F.gumbel_softmax(G, τ = 1) over the output
// positions: W_{·,b} = softmax_a(G_{a,b} + g_{a,b}) with g i.i.d.
// Gumbel(0, 1) = −log(−log U), fresh at every evaluation as in training.
// The noise is seeded: the n-th evaluation of a loss built with seed s
// draws the n-th noise of s (sequence k of that evaluation from its own
// stream, so it does not depend on the thread count), and the gradient is
// the gradient for that noise, held fixed.
//
// Differences from the official code (guangyliu/EISL, EISL.py and
// EISL_trainer.py): the loss is the n-gram term alone, where the official
// criterion adds ce_factor·CE (add CrossEntropy); padding is dropped
// rather than matched; without WithGumbel, the noise-free alignment.
//
// Cost: O(Σ_n L²·n) time and 3·L² float64 of scratch per sequence.
// Stable form: one max-shifted log-sum-exp per row, C gathered from it,
// and a max-shifted softmax over the alignment. Accuracy: about 1e-13
// relative per sequence in float64. −Inf logits are masks (their log
// probability is clamped to −20); NaN, +Inf and all −Inf rows are errors.
type EISL struct {
	o      Options
	ngrams []int
	seqs   []int32
	gumbel *eislNoise // nil: the noise-free alignment
}

// eislNoise is the seeded Gumbel noise of an EISL loss: calls counts the
// evaluations, each of which takes the next noise.
type eislNoise struct {
	seed  uint64
	calls atomic.Uint64
}

// NewEISL returns the edit-invariant sequence loss over the given n-gram
// sizes (at least one; n ≤ 0 counts from the sequence length).
func NewEISL(ngrams []int, opts ...Option) (*EISL, error) {
	const name = nameEisl
	o, err := tsrBuild(name, opts)
	if err != nil {
		return nil, err
	}
	if len(ngrams) == 0 {
		return nil, valueErr(name, "no n-gram sizes")
	}
	return &EISL{o: o, ngrams: append([]int(nil), ngrams...)}, nil
}

// WithGumbel returns a copy of e whose soft alignment adds Gumbel noise
// drawn from seed, as the official code's gumbel_softmax does (see the
// type's documentation). The copy counts its evaluations from zero.
func (e *EISL) WithGumbel(seed uint64) *EISL {
	c := *e
	c.gumbel = &eislNoise{seed: seed}
	return &c
}

// ForSequences returns a copy of e that groups rows into sequences by
// id (one per row; a sequence's rows are its positions in row order);
// nil makes all rows one sequence. The slice is read at each Eval, not
// copied.
func (e *EISL) ForSequences(ids []int32) *EISL {
	c := *e
	c.seqs = ids
	return &c
}

// Name returns "eisl".
func (*EISL) Name() string { return nameEisl }

// Eval32 evaluates the loss on float32 logits (Labels or Labels64).
func (e *EISL) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalEISL(e, in, out)
}

// Eval64 evaluates the loss on float64 logits.
func (e *EISL) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalEISL(e, in, out)
}

// eislFloor is the official clamp of the log-probabilities.
const eislFloor = -20

// eislSizes returns the n-gram sizes used for a sequence of length L.
func eislSizes(ngrams []int, L int) []int {
	var out []int
	seen := map[int]bool{}
	for _, n := range ngrams {
		if n <= 0 {
			n += L
			if n <= 0 {
				continue
			}
		} else if n > L {
			continue
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		out = []int{L}
	}
	return out
}

func evalEISL[E exact](e *EISL, in Input[E], out Output[E]) (float64, error) {
	const name = nameEisl
	rows, err := checkMatrix(name, in, out, e.o.Reduction)
	if err != nil {
		return 0, err
	}
	cols := in.Cols
	switch {
	case out.LSE != nil:
		return 0, shapeErr(name, "Output.LSE is not computed by this loss")
	case in.Teacher != nil || in.Targets != nil:
		return 0, shapeErr(name, "takes Labels only (no teacher, no soft targets)")
	case in.RowWeights != nil:
		return 0, shapeErr(name, "row weights are not accepted")
	case e.seqs != nil && len(e.seqs) != rows:
		return 0, shapeErr(name, "%d sequence ids for %d rows", len(e.seqs), rows)
	}
	if err := checkLabels(name, in, rows); err != nil {
		return 0, err
	}
	ign := e.o.IgnoreIndex
	for i := 0; i < rows; i++ {
		if y := labelAt(in, i); y != ign && (y < 0 || y >= int64(cols)) {
			return 0, valueErr(name, "label %d at row %d outside [0, %d)", y, i, cols)
		}
	}
	keep := func(i int) bool { return labelAt(in, i) != ign }
	seqs := groupRows(e.seqs, rows, keep)
	for i := 0; i < rows; i++ {
		if !keep(i) {
			if out.Grad != nil {
				clear(out.Grad[i*cols : (i+1)*cols])
			}
			if out.Rows != nil {
				out.Rows[i] = 0
			}
		}
	}
	sc := 1.0
	if e.o.Reduction == Mean && len(seqs) > 0 {
		sc = 1 / float64(len(seqs))
	}
	var call uint64
	if e.gumbel != nil {
		call = e.gumbel.calls.Add(1) - 1
	}
	total, err := sumBlocks(len(seqs), 1, par.Threads(e.o.Threads), func(lo, hi int) (float64, error) {
		var part float64
		for k := lo; k < hi; k++ {
			var noise *rand.Rand
			if e.gumbel != nil {
				// One stream per (evaluation, sequence): the same draws
				// whatever the threads.
				noise = rand.New(rand.NewPCG(e.gumbel.seed, call<<32^uint64(k)))
			}
			l, err := eislOne(e, in, out, seqs[k], sc, noise)
			if err != nil {
				return 0, err
			}
			part += l
		}
		return part, nil
	})
	return finiteTotal(name, total, sc, err)
}

// eislOne evaluates one sequence (its rows in order), writes its
// gradient (scaled by sc) and shares, and returns its loss; noise, when
// not nil, draws the Gumbel noise of the alignment.
func eislOne[E exact](e *EISL, in Input[E], out Output[E], seq []int, sc float64, noise *rand.Rand) (float64, error) {
	const name = nameEisl
	cols := in.Cols
	L := len(seq)
	lse := make([]float64, L)
	for t, i := range seq {
		x := in.Logits[i*cols : (i+1)*cols]
		m := math.Inf(-1)
		for j, v := range x {
			f := float64(v)
			if f != f || math.IsInf(f, 1) {
				return 0, valueErr(name, "logit %v at row %d, column %d", v, i, j)
			}
			m = max(m, f)
		}
		if math.IsInf(m, -1) {
			return 0, valueErr(name, "row %d is entirely −Inf (no distribution)", i)
		}
		var s float64
		for _, v := range x {
			s += math.Exp(float64(v) - m)
		}
		lse[t] = m + math.Log(s)
	}
	// C (clamped) and the clamp mask; D accumulates ∂loss/∂C.
	C := make([]float64, L*L)
	D := make([]float64, L*L)
	active := make([]bool, L*L)
	for t, i := range seq {
		x := in.Logits[i*cols : (i+1)*cols]
		for j, r := range seq {
			v := float64(x[labelAt(in, r)]) - lse[t]
			active[t*L+j] = v > eislFloor
			C[t*L+j] = max(v, eislFloor)
		}
	}
	sizes := eislSizes(e.ngrams, L)
	wn := 1 / float64(len(sizes))
	share := make([]float64, L)
	G := make([]float64, L*L)
	W := make([]float64, L)
	var gum []float64 // G + g, the alignment's scores
	if noise != nil {
		gum = make([]float64, L)
	}
	var loss float64
	for _, n := range sizes {
		K := L - n + 1
		for a := 0; a < K; a++ {
			for b := 0; b < K; b++ {
				var s float64
				for r := 0; r < n; r++ {
					s += C[(a+r)*L+b+r]
				}
				G[a*K+b] = s / float64(n)
			}
		}
		for b := 0; b < K; b++ {
			m := math.Inf(-1)
			for a := 0; a < K; a++ {
				v := G[a*K+b]
				if gum != nil {
					v += gumbelDraw(noise)
					gum[a] = v
				}
				m = max(m, v)
			}
			var s float64
			for a := 0; a < K; a++ {
				v := G[a*K+b]
				if gum != nil {
					v = gum[a]
				}
				W[a] = math.Exp(v - m)
				s += W[a]
			}
			var f float64
			for a := 0; a < K; a++ {
				W[a] /= s
				f += W[a] * G[a*K+b]
			}
			c := -wn / float64(K)
			share[b] += c * f
			loss += c * f
			if out.Grad == nil {
				continue
			}
			for a := 0; a < K; a++ {
				dG := c * W[a] * (1 + G[a*K+b] - f) / float64(n)
				for r := 0; r < n; r++ {
					D[(a+r)*L+b+r] += dG
				}
			}
		}
	}
	if out.Rows != nil {
		for b, i := range seq {
			out.Rows[i] = E(share[b])
		}
	}
	if out.Grad != nil {
		extra := make([]float64, cols) // target-column terms, in float64
		for t, i := range seq {
			var S float64
			for j := 0; j < L; j++ {
				if !active[t*L+j] {
					D[t*L+j] = 0
				}
				S += D[t*L+j]
			}
			for j, r := range seq {
				extra[labelAt(in, r)] += D[t*L+j]
			}
			// g may be x itself: each element is read before it is written.
			x := in.Logits[i*cols : (i+1)*cols]
			g := out.Grad[i*cols : (i+1)*cols]
			for j, v := range x {
				g[j] = E(sc * (extra[j] - S*math.Exp(float64(v)-lse[t])))
			}
			for _, r := range seq {
				extra[labelAt(in, r)] = 0
			}
		}
	}
	return loss, nil
}

// gumbelDraw returns a Gumbel(0, 1) sample −log(−log U), U uniform in
// (0, 1) (53 random bits, centred: never 0 or 1).
func gumbelDraw(r *rand.Rand) float64 {
	u := (float64(r.Uint64()>>11) + 0.5) / (1 << 53)
	return -math.Log(-math.Log(u))
}

func init() {
	Register(Spec{
		Name:    nameEisl,
		Catalog: "A25",
		Summary: "edit-invariant n-gram sequence loss over log-softmax rows, soft-aligned (all rows one sequence unless ForSequences)",
		Needs:   NeedsLabels,
		Params: []Param{
			{"ngram", 1, "n-gram sizes, a set such as 1+2 (integers; ≤ 0 counts from the sequence length)"},
			{"gumbel", 0, "1: the official Gumbel noise in the alignment (seeded by seed, fresh at every evaluation); 0: none"},
			{"seed", 0, "seed of the Gumbel noise (an integer ≥ 0)"},
		},
		Lists: map[string][]float64{"ngram": {1, 2}},
		NewLists: func(p map[string]float64, lists map[string][]float64, opts []Option) (Loss, error) {
			var ns []int
			for _, n := range lists["ngram"] {
				if n != math.Trunc(n) || math.Abs(n) > 1<<30 {
					return nil, valueErr(nameEisl, "ngram = %v, want integers", n)
				}
				ns = append(ns, int(n))
			}
			g, seed := p["gumbel"], p["seed"]
			if g != 0 && g != 1 {
				return nil, valueErr(nameEisl, "gumbel = %v, want 0 or 1", g)
			}
			if seed != math.Trunc(seed) || seed < 0 || seed > 1<<53 {
				return nil, valueErr(nameEisl, "seed = %v, want an integer in [0, 2⁵³]", seed)
			}
			e, err := NewEISL(ns, opts...)
			if err != nil || g == 0 {
				return e, err
			}
			return e.WithGumbel(uint64(seed)), nil
		},
	})
}
