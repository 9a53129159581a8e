package loss

import (
	"math"
)

// nameOrdinal is the registry name of this file's loss.
const nameOrdinal = "ordinal"

// Ordinal is the ordinal (cumulative-logit) cross-entropy of the CORAL
// model of Cao, Mirjalili and Raschka, "Rank consistent ordinal regression
// for neural networks with application to age estimation" (Pattern
// Recognition Letters, 2020), as used (and released in the coral-ordinal
// package) by Kennedy et al., "Constructing interval variables via
// faceted Rasch measurement and multitask deep learning: a hate speech
// application" (2020), catalog A3. For K ordered classes a row holds
// Cols = K−1 cumulative logits z_k with P(y > k) = σ(z_k); labels are in
// [0, K) = [0, Cols]. With levels l_k = [y > k] and importance weights
// λ_k (WithClassWeights: one per column, default 1):
//
//	ℓ = −Σ_k λ_k·[l_k·log σ(z_k) + (1 − l_k)·log(1 − σ(z_k))]
//	  = Σ_k λ_k·softplus(l_k ? −z_k : z_k)
//	∂ℓ/∂z_k = λ_k·(σ(z_k) − l_k)
//
// Class probabilities from the cumulative logits are
// softmax.OrdinalSoftmax, the predicted class softmax.OrdinalPredict.
// There are no parameters.
//
// Stable form: log σ(z) = −softplus(−z) and log(1 − σ(z)) = −softplus(z)
// with softplus(u) = max(u, 0) + log1p(exp(−|u|)), never 1 − σ(z); the
// gradient as −σ(−z_k) for l_k = 1. ±Inf logits are allowed where their
// term is finite (σ saturates the right way); where it is not (+Inf with
// l_k = 0, −Inf with l_k = 1) the loss is infinite and that is an error.
//
// Mean divides by Σ r_i (the importance weights weight the terms, not the
// rows), as coral-ordinal's mean over samples. Options: reduction, ignore
// index, importance weights, row weights. Accuracy: about 1e-15 relative
// per term (float64 arithmetic on exactly converted inputs).
type Ordinal struct{ o Options }

// NewOrdinal returns the ordinal cross-entropy; WithClassWeights sets the
// importance weights λ_k, one per cumulative logit (Cols of them).
func NewOrdinal(opts ...Option) (*Ordinal, error) {
	o, err := buildHard(nameOrdinal, opts, true)
	if err != nil {
		return nil, err
	}
	return &Ordinal{o}, nil
}

// Name returns "ordinal".
func (*Ordinal) Name() string { return nameOrdinal }

// Eval32 evaluates the loss on float32 cumulative logits and labels in
// [0, Cols].
func (l *Ordinal) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalOrdinal(l, in, out)
}

// Eval64 evaluates the loss on float64 cumulative logits.
func (l *Ordinal) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalOrdinal(l, in, out)
}

func evalOrdinal[E exact](l *Ordinal, in Input[E], out Output[E]) (float64, error) {
	const name = nameOrdinal
	cfg := hardCfg{name: name, o: l.o, classes: in.Cols + 1, infinities: true, columnWeights: true}
	lw := l.o.ClassWeights
	return evalHardRows(cfg, in, out, func() hardRowFn[E] {
		return func(i int, x []E, _ E, y int, g []E, gs float64) (float64, error) {
			var total float64
			for k, v := range x {
				z := float64(v)
				w := 1.0
				if lw != nil {
					w = lw[k]
				}
				// The term is softplus(t) with t = −z for l_k = 1 and z for
				// l_k = 0; the gradient ∓σ(t). One exponential serves both.
				t, sign := z, 1.0
				if k < y { // l_k = [y > k]
					t, sign = -z, -1
				}
				e := math.Exp(-math.Abs(t))
				term := max(t, 0) + math.Log1p(e)
				grad := e / (1 + e)
				if t >= 0 {
					grad = 1 / (1 + e)
				}
				grad *= sign
				if math.IsInf(term, 1) {
					return 0, valueErr(name, "logit %v at row %d, column %d gives an infinite loss for label %d", x[k], i, k, y)
				}
				total += w * term
				if g != nil {
					g[k] = E(gs * w * grad)
				}
			}
			return total, nil
		}
	})
}

func init() {
	Register(Spec{
		Name:           nameOrdinal,
		Catalog:        "A3",
		Summary:        "ordinal (CORAL cumulative-logit) cross-entropy over K−1 logits; labels in [0, K−1]; class weights = importance weights per logit",
		Needs:          NeedsLabels,
		NotClassScores: true,
		New: func(_ map[string]float64, opts []Option) (Loss, error) {
			return NewOrdinal(opts...)
		},
	})
}
