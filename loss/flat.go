package loss

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/internal/par"
)

// FDivergence selects the f-divergence of FLAT's variational objective.
type FDivergence int

const (
	// TotalVariation: g(v) = ½·tanh v, f*(g(v)) = ½·tanh v (the default).
	TotalVariation FDivergence = iota
	// KLDivergence: g(v) = v, f*(g(v)) = e^{v−1}.
	KLDivergence
	// JensenShannon: g(v) = log 2 − softplus(−v), f*(g(v)) = softplus(v) − log 2.
	JensenShannon
	// Pearson (χ²): g(v) = v, f*(g(v)) = v²/4 + v.
	Pearson
)

func (d FDivergence) String() string {
	switch d {
	case TotalVariation:
		return "tv"
	case KLDivergence:
		return "kl"
	case JensenShannon:
		return "js"
	case Pearson:
		return "pearson"
	}
	return fmt.Sprintf("FDivergence(%d)", int(d))
}

// FLATObjective returns FLAT's loss −g(Pe) + f*(g(Pf)) for the average
// template-answer probability Pe and forget-answer probability Pf, and
// its derivatives with respect to them. It decreases in Pe and increases
// in Pf for every divergence.
func FLATObjective(div FDivergence, pe, pf float64) (value, dPe, dPf float64) {
	te, dte := flatTemplateTerm(div, pe)
	fo, dfo := flatForgetTerm(div, pf)
	return te + fo, dte, dfo
}

// flatTemplateTerm returns −g(pe) and its derivative.
func flatTemplateTerm(div FDivergence, pe float64) (float64, float64) {
	switch div {
	case TotalVariation:
		c := math.Cosh(pe)
		return -math.Tanh(pe) / 2, -0.5 / (c * c)
	case KLDivergence, Pearson:
		return -pe, -1
	case JensenShannon:
		return softplus(-pe) - math.Ln2, -sigmoid(-pe)
	}
	return math.NaN(), math.NaN()
}

// flatForgetTerm returns f*(g(pf)) and its derivative.
func flatForgetTerm(div FDivergence, pf float64) (float64, float64) {
	switch div {
	case TotalVariation:
		c := math.Cosh(pf)
		return math.Tanh(pf) / 2, 0.5 / (c * c)
	case KLDivergence:
		e := math.Exp(pf - 1)
		return e, e
	case JensenShannon:
		return softplus(pf) - math.Ln2, sigmoid(pf)
	case Pearson:
		return pf*pf/4 + pf, pf/2 + 1
	}
	return math.NaN(), math.NaN()
}

// FLAT is the unlearning loss of FLAT (Wang et al., "LLM Unlearning via
// Loss Adjustment with Only Forget Data", ICLR 2025; catalog B4): with
// only the data to forget, it raises the probability of a template
// answer (a refusal) and lowers that of the answer to forget, through the
// variational form of an f-divergence on average token probabilities:
//
//	L = −g(P_e) + f*(g(P_f)),   P = mean over the answer's tokens of softmax(z_t)[y_t]
//
// (FLATObjective lists g and f* per divergence). Rows are answer tokens
// (one position each, with the answer's token as label; the ignore index
// marks tokens that do not count); ForRoles says which rows belong to the
// template answers, the others to the answers to forget; P_e and P_f are
// the mean probabilities over all counted template and forget tokens of
// the batch. The gradient with respect to a token's logits is
//
//	∂L/∂z_t = (∂L/∂P)·(1/n)·p_t·(e_y − softmax(z_t)),   p_t = softmax(z_t)[y_t],
//
// with n the counted tokens of the token's role. Probabilities rather than
// log-probabilities bound the gradient (it vanishes as p_t → 0, unlike
// gradient ascent on −log p). Without ForRoles (the command line) every
// row is a forget token and the loss is the forget term f*(g(P_f)) alone;
// a role with no counted token contributes no term.
//
// FLAT is itself the reduction: only Mean is accepted, and Output.Rows,
// if set, receives each token's probability p_t (0 for ignored rows), the
// quantity the loss averages. Registered as flat (total variation, the
// official default), flat-kl, flat-js and flat-pearson.
//
// Differences from the official code (UCSC-REAL/FLAT, dataloader.py,
// get_contrastive_loss and ProbLossStable): the official P averages the
// [batch, padded length] matrix of token probabilities including padded
// positions (as 0) in the denominator, so P depends on the padding; here
// P is the mean over counted tokens. Of the official table, Reverse-KL,
// Squared-Hellinger and Neyman are left out because, as coded there, the
// loss rises with P_e (minimizing it would push the template answer
// down), and Jeffrey because its conjugate is coded as a truncated cubic
// series rather than the f-GAN conjugate — neither is pinned down by the
// paper.
//
// Stable form: p_t = exp(z_y − LSE(z)) with a max-shifted log-sum-exp,
// g and f* evaluated with softplus/tanh on values in [0, 1]. Accuracy:
// about 1e-15 relative in float64. −Inf logits are masks (a masked label
// has probability 0, which is allowed); NaN, +Inf and all −Inf rows are
// errors.
type FLAT struct {
	o        Options
	div      FDivergence
	template []bool
}

// NewFLAT returns the FLAT loss for the given divergence.
func NewFLAT(div FDivergence, opts ...Option) (*FLAT, error) {
	name := flatName(div)
	if div < TotalVariation || div > Pearson {
		return nil, valueErr("flat", "unknown divergence %v", div)
	}
	o, err := tsrBuild(name, opts)
	if err != nil {
		return nil, err
	}
	if o.Reduction != Mean {
		return nil, valueErr(name, "reduction %v: FLAT is its own reduction (use mean)", o.Reduction)
	}
	return &FLAT{o: o, div: div}, nil
}

func flatName(div FDivergence) string {
	if div == TotalVariation {
		return "flat"
	}
	return "flat-" + div.String()
}

// ForRoles returns a copy of f in which template[i] says whether row i is
// a token of a template answer (true) or of an answer to forget (false);
// nil makes every row a forget token. The slice is read at each Eval,
// not copied.
func (f *FLAT) ForRoles(template []bool) *FLAT {
	c := *f
	c.template = template
	return &c
}

// Name returns "flat" (total variation) or "flat-kl", "flat-js",
// "flat-pearson".
func (f *FLAT) Name() string { return flatName(f.div) }

// Eval32 evaluates the loss on float32 logits (Labels or Labels64).
func (f *FLAT) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalFLAT(f, in, out)
}

// Eval64 evaluates the loss on float64 logits.
func (f *FLAT) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalFLAT(f, in, out)
}

func evalFLAT[E exact](f *FLAT, in Input[E], out Output[E]) (float64, error) {
	name := f.Name()
	rows, err := checkMatrix(name, in, out, Mean)
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
	case f.template != nil && len(f.template) != rows:
		return 0, shapeErr(name, "%d roles for %d rows", len(f.template), rows)
	}
	if err := checkLabels(name, in, rows); err != nil {
		return 0, err
	}
	ign := f.o.IgnoreIndex
	var ne, nf int
	for i := 0; i < rows; i++ {
		y := labelAt(in, i)
		if y == ign {
			continue
		}
		if y < 0 || y >= int64(cols) {
			return 0, valueErr(name, "label %d at row %d outside [0, %d)", y, i, cols)
		}
		if f.template != nil && f.template[i] {
			ne++
		} else {
			nf++
		}
	}
	// Pass 1: each counted token's log-sum-exp and probability.
	lse := make([]float64, rows)
	prob := make([]float64, rows)
	grain := max(1, blockElems/cols)
	nb := par.Blocks(rows, grain)
	pe, pf := make([]float64, nb), make([]float64, nb)
	errs := make([]error, nb)
	threads := par.Threads(f.o.Threads)
	par.For(rows, grain, threads, func(blk, lo, hi int) {
		for i := lo; i < hi; i++ {
			y := labelAt(in, i)
			if y == ign {
				continue
			}
			x := in.Logits[i*cols : (i+1)*cols]
			m := math.Inf(-1)
			for j, v := range x {
				fv := float64(v)
				if fv != fv || math.IsInf(fv, 1) {
					errs[blk] = valueErr(name, "logit %v at row %d, column %d", v, i, j)
					return
				}
				m = max(m, fv)
			}
			if math.IsInf(m, -1) {
				errs[blk] = valueErr(name, "row %d is entirely −Inf (no distribution)", i)
				return
			}
			var s float64
			for _, v := range x {
				s += math.Exp(float64(v) - m)
			}
			lse[i] = m + math.Log(s)
			prob[i] = math.Exp(float64(x[y]) - lse[i])
			if f.template != nil && f.template[i] {
				pe[blk] += prob[i]
			} else {
				pf[blk] += prob[i]
			}
		}
	})
	var Pe, Pf float64
	for blk := range errs {
		if errs[blk] != nil {
			return 0, errs[blk]
		}
		Pe += pe[blk]
		Pf += pf[blk]
	}
	// The objective, without the term of a role that has no token.
	var v, dPe, dPf float64
	if ne > 0 {
		Pe /= float64(ne)
		v, dPe = flatTemplateTerm(f.div, Pe)
	}
	if nf > 0 {
		Pf /= float64(nf)
		fo, d := flatForgetTerm(f.div, Pf)
		v, dPf = v+fo, d
	}
	if out.Rows != nil {
		for i := range prob {
			out.Rows[i] = E(prob[i])
		}
	}
	if out.Grad != nil {
		ce, cf := 0.0, 0.0
		if ne > 0 {
			ce = dPe / float64(ne)
		}
		if nf > 0 {
			cf = dPf / float64(nf)
		}
		par.For(rows, grain, threads, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				g := out.Grad[i*cols : (i+1)*cols]
				y := labelAt(in, i)
				if y == ign {
					clear(g)
					continue
				}
				c := cf
				if f.template != nil && f.template[i] {
					c = ce
				}
				k := c * prob[i]
				x := in.Logits[i*cols : (i+1)*cols]
				for j, v := range x {
					g[j] = E(-k * math.Exp(float64(v)-lse[i]))
				}
				g[y] = E(k * (1 - prob[i]))
			}
		})
	}
	return v, nil
}

func init() {
	for _, d := range []FDivergence{TotalVariation, KLDivergence, JensenShannon, Pearson} {
		div := d
		Register(Spec{
			Name:    flatName(div),
			Catalog: "B4",
			Summary: "FLAT unlearning −g(P_template) + f*(g(P_forget)) on mean token probabilities, " + div.String() + " divergence (all rows forget tokens unless ForRoles)",
			Needs:   NeedsLabels,
			New: func(_ map[string]float64, opts []Option) (Loss, error) {
				return NewFLAT(div, opts...)
			},
		})
	}
}
