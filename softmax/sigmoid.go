package softmax

import (
	"fmt"
	"math"
)

// SigmoidBias returns −log n, the bias that makes the sigmoid normaliser
// match softmax's scale over n keys at initialisation: σ(s − log n) ≈ eˢ/n
// for small scores.
func SigmoidBias(n int) float64 { return -math.Log(float64(n)) }

// Sigmoid writes the element-wise sigmoid normaliser of x into dst (same
// shape; dst may be x):
//
//	A_ij = σ(x_ij/T + b),  σ(z) = 1/(1 + e⁻ᶻ),
//
// the replacement of the row softmax in sigmoid attention (catalog A20:
// Ramapuram et al., "Theory, Analysis, and Best Practices for Sigmoid
// Self-Attention", 2024), with b = SigmoidBias(n) = −log n for sequence
// length n (their language-model configurations use −7.62 ≈ −log 2048).
// Rows are not normalised and do not interact; cols only shapes the
// matrix. −Inf gives 0, +Inf 1, NaN NaN.
//
// The sigmoid is evaluated in the stable form 1/(1 + e⁻ᶻ) for z ≥ 0 and
// eᶻ/(1 + eᶻ) otherwise, in float64: relative error ≤ 2⁻²⁴ (float32) or
// 4·2⁻⁵³ (float64) beyond the rounding of z. Backward: SigmoidBackward.
func Sigmoid[T Float](dst, x []T, cols int, bias float64, opts ...Option) error {
	const name = "Sigmoid"
	rows, err := checkRowwise(name, dst, x, cols)
	if err != nil {
		return err
	}
	if math.IsNaN(bias) || math.IsInf(bias, 0) {
		return fmt.Errorf("softmax.%s: bias %v, want a finite number", name, bias)
	}
	c, err := configure(opts)
	if err != nil {
		return err
	}
	s := 1 / c.temperature
	forRows(rows, cols, c.threads, func(r int) {
		for j := r * cols; j < (r+1)*cols; j++ {
			dst[j] = T(sigmoid(float64(x[j])*s + bias))
		}
	})
	return nil
}

// SigmoidBackward writes dx = g ⊙ A ⊙ (1 − A)/T, the gradient through
// Sigmoid given its output A (y) and the upstream gradient g (the
// Jacobian is diagonal, so this is also its Jacobian-vector product). dx
// may be y or g; pass the same Temperature as the forward call.
func SigmoidBackward[T Float](dx, y, g []T, cols int, opts ...Option) error {
	const name = "SigmoidBackward"
	rows, err := checkRowwise(name, dx, y, cols)
	if err != nil {
		return err
	}
	if err := checkSameLen(name, len(y), map[string][]T{"g": g}); err != nil {
		return err
	}
	c, err := configure(opts)
	if err != nil {
		return err
	}
	s := 1 / c.temperature
	forRows(rows, cols, c.threads, func(r int) {
		for j := r * cols; j < (r+1)*cols; j++ {
			a := float64(y[j])
			dx[j] = T(float64(g[j]) * a * (1 - a) * s)
		}
	})
	return nil
}

// sigmoid is the stable logistic function.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
