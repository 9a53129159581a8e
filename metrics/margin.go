package metrics

import (
	"fmt"
	"math"
)

// Margins returns, for every row of a logit matrix with its label, the
// logit gap (top-1 minus top-2 logit, ≥ 0) and the label margin
// m = z_y − max_{j≠y} z_j (negative when the example is misclassified),
// the quantities whose distribution B24 ("Intriguing Properties of
// Adversarial Examples") relates to adversarial error. Exact in the input
// precision. Rows need at least 2 classes.
func Margins[T Float](logits []T, cols int, labels []int32, opts ...Option) (gap, margin []float64, err error) {
	cfg, err := configure("Margins", opts)
	if err != nil {
		return nil, nil, err
	}
	rows, err := checkShape("Margins", len(logits), cols, labels, true)
	if err != nil {
		return nil, nil, err
	}
	out := rowOut{gap: make([]float64, rows), margin: make([]float64, rows)}
	if err := logitPass("Margins", logits, cols, labels, &out, cfg.threads); err != nil {
		return nil, nil, err
	}
	return out.gap, out.margin, nil
}

// PredictedError is B24's first-order prediction of the error under an
// L∞ perturbation of size eps: the fraction of examples with
// m_i ≤ eps·G_i, where m_i is the label margin and G_i the dual (ℓ1) norm
// of the margin's input gradient. grad holds one G_i per margin, or a
// single value shared by all. A misclassified example (m_i < 0) always
// counts as an error.
func PredictedError(margins, grad []float64, eps float64) (float64, error) {
	if len(margins) == 0 {
		return 0, fmt.Errorf("metrics.PredictedError: no margins: %w", ErrEmpty)
	}
	if len(grad) != len(margins) && len(grad) != 1 {
		return 0, fmt.Errorf("metrics.PredictedError: %d gradient norms for %d margins (want as many, or 1): %w", len(grad), len(margins), ErrShape)
	}
	if !(eps >= 0) || math.IsInf(eps, 1) {
		return 0, fmt.Errorf("metrics.PredictedError: eps = %v, want a finite value ≥ 0: %w", eps, ErrValue)
	}
	n := 0
	for i, m := range margins {
		g := grad[0]
		if len(grad) > 1 {
			g = grad[i]
		}
		if math.IsNaN(m) || !(g >= 0) || math.IsInf(g, 1) {
			return 0, fmt.Errorf("metrics.PredictedError: example %d has margin %v and gradient norm %v: %w", i, m, g, ErrValue)
		}
		if m <= eps*g {
			n++
		}
	}
	return float64(n) / float64(len(margins)), nil
}

// ErrorSlope fits log err(ε) = a + b·log ε by least squares over the
// given ε values (all > 0) with err(ε) = PredictedError(margins, grad, ε),
// skipping ε whose predicted error is 0 or 1, and returns the exponent b:
// B24 finds b ≈ 1 at small ε when the margin density at 0 is finite. It
// needs at least two usable ε.
func ErrorSlope(margins, grad, eps []float64) (float64, error) {
	var xs, ys []float64
	for _, e := range eps {
		if !(e > 0) || math.IsInf(e, 1) {
			return 0, fmt.Errorf("metrics.ErrorSlope: eps = %v, want finite and > 0: %w", e, ErrValue)
		}
		v, err := PredictedError(margins, grad, e)
		if err != nil {
			return 0, err
		}
		if v > 0 && v < 1 {
			xs = append(xs, math.Log(e))
			ys = append(ys, math.Log(v))
		}
	}
	if len(xs) < 2 {
		return 0, fmt.Errorf("metrics.ErrorSlope: %d ε values with a predicted error strictly between 0 and 1, want ≥ 2: %w", len(xs), ErrEmpty)
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(xs))
	var sxx, sxy float64
	for i := range xs {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		sxy += (xs[i] - mx) * (ys[i] - my)
	}
	if sxx == 0 {
		return 0, fmt.Errorf("metrics.ErrorSlope: all usable ε are equal: %w", ErrValue)
	}
	return sxy / sxx, nil
}
