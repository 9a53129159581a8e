package loss

import (
	"math"

	"github.com/xentlab/xent/internal/par"
)

// nameBag is the registry name of this file's loss.
const nameBag = "bag"

// Bag is the loss for learning from aggregate responses (Javanmard et
// al., "Learning from Aggregate responses: Instance Level versus Bag
// Level Loss Functions", ICLR 2024; catalog B9): the rows of a batch are
// grouped into bags (ForBags), only each bag's mean response ȳ_B is
// known, and the model's predictions are fitted to it either after
// averaging them over the bag (bag level) or one by one (instance level),
// with the interpolation ρ between the two:
//
//	L_B = (1−ρ)·L_bag + ρ·L_inst
//	L_bag  = −Σ_c ȳ_c·log p̄_c,                 p̄ = mean_{i∈B} p_i
//	L_inst = mean_{i∈B} ( −Σ_c ȳ_c·log p_ic )  = L_bag + J,  J ≥ 0
//
// With Cols = 1 each row holds one binary logit z_i, p_i = (σ(z_i),
// 1 − σ(z_i)) and the response is a rate in [0, 1]; with Cols ≥ 2,
// p_i = softmax(z_i) and the response a distribution. The bag response
// is the mean of the rows' Input.Targets (the shape of the logits), so a
// caller may pass each row its bag's aggregate or the rows' own labels.
// The instance level adds the within-bag disagreement J, the
// cross-entropy analogue of the paper's identity for the squared loss
// (instance = bag + prediction variance), and ρ interpolates as the
// paper's estimator does there (its exact normalization for
// cross-entropy is not given in the paper; this one is the convex
// combination). Gradients, with n = |B|:
//
//	∂L_bag/∂z_ic  = −(1/n)·p_ic·(ȳ_c/p̄_c − Σ_k ȳ_k·p_ik/p̄_k)
//	∂L_inst/∂z_ic =  (1/n)·(Σ_k ȳ_k·p_ic − ȳ_c)
//
// (binary: the c = 0 component, the second logit being a fixed 0). Mean
// divides the sum over bags by their number, Sum adds (the paper's Σ_B),
// None writes each row's share L_B/n into Output.Rows. Without ForBags
// the whole batch is one bag. Default ρ = 0 (bag level). No official
// code was released; the squared-loss form of the paper is not
// implemented (xent's losses work on logits and probabilities).
//
// Stable form: log p̄_c = LSE_i(log p_ic) − log n with log-softmax (or
// log σ(±z) = −softplus(∓z)) inputs, never an average of probabilities;
// p_ic/p̄_c = exp(log p_ic − log p̄_c). Accuracy: about 1e-13 relative
// per bag in float64. −Inf logits are masks; a class with response mass
// whose bag probability is 0 is an error (infinite loss), as is a row
// class with response mass and probability 0 when ρ > 0.
type Bag struct {
	o    Options
	rho  float64
	bags []int32
}

// NewBag returns the aggregate-response loss with interpolation
// ρ ∈ [0, 1] (0: bag level, 1: instance level).
func NewBag(rho float64, opts ...Option) (*Bag, error) {
	const name = nameBag
	o, err := tsrBuild(name, opts)
	if err != nil {
		return nil, err
	}
	if !(rho >= 0 && rho <= 1) {
		return nil, valueErr(name, "rho %v outside [0, 1]", rho)
	}
	return &Bag{o: o, rho: rho}, nil
}

// ForBags returns a copy of b that groups the rows by bag id (one per
// row, any values, any order); nil makes the batch one bag. The slice is
// read at each Eval, not copied.
func (b *Bag) ForBags(ids []int32) *Bag {
	c := *b
	c.bags = ids
	return &c
}

// Name returns "bag".
func (*Bag) Name() string { return nameBag }

// Eval32 evaluates the loss on float32 logits (Targets the shape of the
// logits).
func (b *Bag) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalBag(b, in, out)
}

// Eval64 evaluates the loss on float64 logits.
func (b *Bag) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalBag(b, in, out)
}

// groupRows returns the rows of each group, groups in order of first
// appearance and rows in order; nil ids make one group of every row kept.
// keep (nil: all) filters rows out.
func groupRows(ids []int32, rows int, keep func(i int) bool) [][]int {
	var groups [][]int
	if ids == nil {
		g := make([]int, 0, rows)
		for i := 0; i < rows; i++ {
			if keep == nil || keep(i) {
				g = append(g, i)
			}
		}
		if len(g) > 0 {
			groups = append(groups, g)
		}
		return groups
	}
	at := map[int32]int{}
	for i, id := range ids {
		if keep != nil && !keep(i) {
			continue
		}
		k, ok := at[id]
		if !ok {
			k = len(groups)
			at[id] = k
			groups = append(groups, nil)
		}
		groups[k] = append(groups[k], i)
	}
	return groups
}

func evalBag[E exact](b *Bag, in Input[E], out Output[E]) (float64, error) {
	const name = nameBag
	rows, err := checkMatrix(name, in, out, b.o.Reduction)
	if err != nil {
		return 0, err
	}
	switch {
	case out.LSE != nil:
		return 0, shapeErr(name, "Output.LSE is not computed by this loss")
	case in.Teacher != nil || in.Labels != nil || in.Labels64 != nil:
		return 0, shapeErr(name, "takes float Targets only (no labels, no teacher)")
	case in.RowWeights != nil:
		return 0, shapeErr(name, "row weights are not accepted")
	case len(in.Targets) != len(in.Logits):
		return 0, shapeErr(name, "len(Targets) = %d, want %d (the shape of Logits)", len(in.Targets), len(in.Logits))
	case b.bags != nil && len(b.bags) != rows:
		return 0, shapeErr(name, "%d bag ids for %d rows", len(b.bags), rows)
	}
	groups := groupRows(b.bags, rows, nil)
	sc := 1.0
	if b.o.Reduction == Mean && len(groups) > 0 {
		sc = 1 / float64(len(groups))
	}
	grain := max(1, blockElems/max(1, len(in.Logits)/max(1, len(groups))))
	total, err := sumBlocks(len(groups), grain, par.Threads(b.o.Threads), func(lo, hi int) (float64, error) {
		var part float64
		for k := lo; k < hi; k++ {
			l, err := bagOne(b, in, out, groups[k], sc)
			if err != nil {
				return 0, err
			}
			part += l
		}
		return part, nil
	})
	return finiteTotal(name, total, sc, err)
}

// bagOne evaluates one bag, writes its rows' gradients (scaled by sc) and
// shares, and returns its loss.
func bagOne[E exact](b *Bag, in Input[E], out Output[E], rowsOf []int, sc float64) (float64, error) {
	const name = nameBag
	cols := in.Cols
	K := cols // classes of the distributions
	if cols == 1 {
		K = 2
	}
	n := len(rowsOf)
	lp := make([]float64, n*K)
	ybar := make([]float64, K)
	for r, i := range rowsOf {
		x := in.Logits[i*cols : (i+1)*cols]
		q := in.Targets[i*cols : (i+1)*cols]
		l := lp[r*K : (r+1)*K]
		for j, v := range x {
			if f := float64(v); f != f || math.IsInf(f, 1) {
				return 0, valueErr(name, "logit %v at row %d, column %d", v, i, j)
			}
		}
		for j, v := range q {
			if f := float64(v); !(f >= 0) || math.IsInf(f, 1) || (cols == 1 && f > 1) {
				return 0, valueErr(name, "target %v at row %d, column %d (want a finite number ≥ 0, at most 1 for a binary logit)", v, i, j)
			}
		}
		if cols == 1 {
			z := float64(x[0])
			l[0], l[1] = -softplus(-z), -softplus(z)
			if math.IsInf(z, -1) {
				l[0], l[1] = math.Inf(-1), 0
			}
			ybar[0] += float64(q[0])
			ybar[1] += 1 - float64(q[0])
			continue
		}
		if allNegInf(x) {
			return 0, valueErr(name, "row %d is entirely −Inf (no distribution)", i)
		}
		logSoftmaxRow(l, x, 1)
		for j, v := range q {
			ybar[j] += float64(v)
		}
	}
	var Y float64
	for c := range ybar {
		ybar[c] /= float64(n)
		Y += ybar[c]
	}
	// log p̄_c as a log-sum-exp over the bag.
	lbar := make([]float64, K)
	logn := math.Log(float64(n))
	for c := range lbar {
		m := math.Inf(-1)
		for r := 0; r < n; r++ {
			m = max(m, lp[r*K+c])
		}
		if math.IsInf(m, -1) {
			lbar[c] = m
			continue
		}
		var s float64
		for r := 0; r < n; r++ {
			s += math.Exp(lp[r*K+c] - m)
		}
		lbar[c] = m + math.Log(s) - logn
	}
	rho := b.rho
	var lbag, linst float64
	for c, y := range ybar {
		if y == 0 {
			continue
		}
		if math.IsInf(lbar[c], -1) {
			return 0, valueErr(name, "bag of row %d: class %d has response mass but probability 0", rowsOf[0], c)
		}
		lbag -= y * lbar[c]
		if rho > 0 {
			for r := 0; r < n; r++ {
				if math.IsInf(lp[r*K+c], -1) {
					return 0, valueErr(name, "row %d: class %d has response mass but probability 0 (instance level)", rowsOf[r], c)
				}
				linst -= y * lp[r*K+c]
			}
		}
	}
	linst /= float64(n)
	loss := (1-rho)*lbag + rho*linst
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return 0, valueErr(name, "the loss overflows in the bag of row %d", rowsOf[0])
	}
	if out.Rows != nil {
		for _, i := range rowsOf {
			out.Rows[i] = E(loss / float64(n))
		}
	}
	if out.Grad != nil {
		a := make([]float64, K)
		inv := 1 / float64(n)
		for r, i := range rowsOf {
			l := lp[r*K : (r+1)*K]
			var A float64
			for c, y := range ybar {
				a[c] = 0
				if y > 0 {
					a[c] = y * math.Exp(l[c]-lbar[c])
				}
				A += a[c]
			}
			g := out.Grad[i*cols : (i+1)*cols]
			for j := range g {
				p := math.Exp(l[j])
				gb := -inv * (a[j] - p*A)
				gi := inv * (Y*p - ybar[j])
				g[j] = E(sc * ((1-rho)*gb + rho*gi))
			}
		}
	}
	return loss, nil
}

func init() {
	Register(Spec{
		Name:    nameBag,
		Catalog: "B9",
		Summary: "aggregate-response loss: cross-entropy of a bag's mean response vs its mean prediction (ρ: instance level)",
		Needs:   NeedsTargets,
		Params:  []Param{{"rho", 0, "interpolation ρ in [0, 1]: 0 bag level, 1 instance level"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewBag(p["rho"], opts...)
		},
	})
}
