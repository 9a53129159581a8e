package softmax

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/internal/rowstat"
	"github.com/xentlab/xent/internal/vek"
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
// The sigmoid is evaluated as 1/(1 + e⁻ᶻ) with the SIMD exponential of
// internal/vek (e⁻ᶻ = +Inf gives exactly 0, so there is no overflow):
// relative error ≤ 4 ulp plus 3|z|·2⁻ᵖ (p = 24 or 53) from forming z,
// for every result that is a normal number; results below the smallest
// normal (z < about −87.3 in float32, −708 in float64) flush to 0.
// Backward: SigmoidBackward.
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
	if isF32[T]() {
		d, xx := rowstat.AsExact[T, float32](dst), rowstat.AsExact[T, float32](x)
		forRows(rows, cols, c.threads, func(r int) {
			out := d[r*cols : (r+1)*cols]
			for j, v := range xx[r*cols : (r+1)*cols] {
				out[j] = float32(-(float64(v)*s + bias))
			}
			vek.Exp32(out, out) // e^−z: +Inf above 88.7, 0 below −87.3
			for j, e := range out {
				out[j] = 1 / (1 + e)
			}
		})
		return nil
	}
	d, xx := rowstat.AsExact[T, float64](dst), rowstat.AsExact[T, float64](x)
	forRows(rows, cols, c.threads, func(r int) {
		out := d[r*cols : (r+1)*cols]
		for j, v := range xx[r*cols : (r+1)*cols] {
			out[j] = -(v*s + bias)
		}
		vek.Exp64(out, out)
		for j, e := range out {
			out[j] = 1 / (1 + e)
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
