package loss

import "math"

// nameKlDiv is the registry name of this file's loss.
const nameKlDiv = "kl-div"

// KLDiv is the pointwise Kullback–Leibler divergence of PyTorch's
// KLDivLoss: Input.Logits holds log-probabilities x (the prediction, a
// log-softmax output) and Input.Targets the target t, the same shape, as
// probabilities (default) or as log-probabilities (log_target=1):
//
//	ℓ = t·(log t − x)           (0 where t = 0),
//	ℓ = e^t·(t − x)             (log_target; 0 where t = −Inf),
//	∂ℓ/∂x = −t  or  −e^t.
//
// With generalized=1 each element also gets e^x − t (e^x − e^t with
// log_target), Optax's generalized_kl_divergence (the former
// convex_kl_divergence): the Bregman divergence of x·log x − x, which is
// ≥ 0 and zero only at t = e^x for unnormalised targets too; its gradient
// gains e^x.
//
// Reductions as PyTorch: Mean divides by the number of elements (PyTorch's
// "mean", which is not the divergence per example), with batchmean=1 by
// the number of rows (PyTorch's "batchmean", the true KL per example);
// Sum adds; None writes each row's sum to Output.Rows (PyTorch returns the
// elements). Class weights (per column) and row weights multiply the
// elements. Targets need not sum to 1 (unnormalised targets are summed as
// given). Probability targets must be finite and ≥ 0, log-targets < +Inf;
// NaN and +Inf inputs are errors, and −Inf inputs (log 0) are allowed
// where the target is 0 (PyTorch gives NaN there) and an error
// (infinite loss) elsewhere.
//
// Accuracy: about 1e-15 relative per element (float64 arithmetic), sums
// in float64.
type KLDiv struct {
	o                                 Options
	logTarget, batchMean, generalized bool
}

// NewKLDiv returns the loss.
func NewKLDiv(logTarget, batchMean, generalized bool, opts ...Option) (*KLDiv, error) {
	o, err := buildElem(nameKlDiv, opts)
	if err != nil {
		return nil, err
	}
	return &KLDiv{o, logTarget, batchMean, generalized}, nil
}

// Name returns "kl-div".
func (*KLDiv) Name() string { return nameKlDiv }

// Eval32 evaluates the loss on float32 log-probabilities and targets.
func (k *KLDiv) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalElementwise(k.cfg(), in, out, k.elem)
}

// Eval64 evaluates the loss on float64 log-probabilities and targets.
func (k *KLDiv) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalElementwise(k.cfg(), in, out, k.elem)
}

func (k *KLDiv) cfg() elemCfg {
	d := "probability targets are finite and ≥ 0; the input is −Inf only where the target is 0"
	if k.logTarget {
		d = "log-targets are below +Inf; the input is −Inf only where the target is −Inf"
	}
	return elemCfg{name: nameKlDiv, o: k.o, domain: d, perRow: k.batchMean, negInf: true}
}

func (k *KLDiv) elem(x, t float64) (float64, float64, bool) {
	var p, l float64 // p: the target probability
	if k.logTarget {
		if math.IsInf(t, 1) {
			return 0, 0, false
		}
		p = math.Exp(t)
		if p != 0 {
			if math.IsInf(x, -1) {
				return 0, 0, false
			}
			l = p * (t - x)
		}
	} else {
		if !(t >= 0) || math.IsInf(t, 1) {
			return 0, 0, false
		}
		p = t
		if p != 0 {
			if math.IsInf(x, -1) {
				return 0, 0, false
			}
			l = p * (math.Log(p) - x)
		}
	}
	g := -p
	if k.generalized {
		ex := math.Exp(x)
		l += ex - p
		g += ex
	}
	return l, g, true
}

func init() {
	Register(Spec{
		Name:    nameKlDiv,
		Summary: "pointwise KL t·(log t − x) of log-probabilities x (PyTorch's KLDivLoss: log_target, batchmean; generalized: Optax's)",
		Needs:   NeedsTargets,
		Params: []Param{{"log_target", 0, "1: targets are log-probabilities"},
			{"batchmean", 0, "1: mean divides by the rows (PyTorch's batchmean), 0: by the elements"},
			{"generalized", 0, "1: add e^x − t (Optax's generalized KL, for unnormalised targets)"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			var f [3]bool
			for i, k := range []string{"log_target", "batchmean", "generalized"} {
				switch p[k] {
				case 0:
				case 1:
					f[i] = true
				default:
					return nil, valueErr(nameKlDiv, "%s = %v, want 0 or 1", k, p[k])
				}
			}
			return NewKLDiv(f[0], f[1], f[2], opts...)
		},
	})
}
