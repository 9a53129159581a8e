package softmax

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// GumbelNoise fills g with independent standard Gumbel samples
// g_i = −log(−log U_i), U_i uniform on the open interval (0, 1) (never 0
// or 1, so every sample is finite, |g_i| < 38), drawn from rng in order.
// The same generator state gives the same bits on every machine: seed it
// with rand.New(rand.NewPCG(seed, stream)). A nil rng is an error.
func GumbelNoise[T Float](g []T, rng *rand.Rand) error {
	if rng == nil {
		return errors.New("softmax.GumbelNoise: nil random source")
	}
	for i := range g {
		// 53 random bits, offset by half a step: U ∈ [2⁻⁵⁴, 1 − 2⁻⁵⁴].
		u := (float64(rng.Uint64()>>11) + 0.5) * 0x1p-53
		g[i] = T(-math.Log(-math.Log(u)))
	}
	return nil
}

// GumbelSoftmax writes one Gumbel-softmax sample (the Concrete relaxation
// of a categorical sample) of every row of the logits x into dst:
//
//	y = softmax((x + g)/τ),  g_i = −log(−log U_i),  U_i ~ Uniform(0, 1),
//
// (Jang, Gu and Poole, "Categorical Reparameterization with
// Gumbel-Softmax", 2017; Maddison, Mnih and Teh, "The Concrete
// Distribution", 2017; used by catalog A4, Sparse-CBM). As τ → 0 the sample
// approaches the one-hot of a draw from softmax(x).
//
// The noise is drawn from rng row-major before any parallel work, so the
// same generator state gives the same bits for any number of threads;
// dst may be x. τ must be positive and finite; the Temperature option is
// not accepted (τ is the temperature). −Inf logits stay masked. The
// softmax itself is Softmax with Temperature(τ), with its accuracy.
//
// Backward (noise held fixed): SoftmaxBackward(dx, y, upstream, cols,
// Temperature(τ)), i.e. ∂y_i/∂x_j = y_i(δ_ij − y_j)/τ.
func GumbelSoftmax[T Float](dst, x []T, cols int, tau float64, rng *rand.Rand, opts ...Option) error {
	return gumbel("GumbelSoftmax", dst, x, cols, tau, rng, opts)
}

// GumbelSoftmaxST is the straight-through Gumbel-softmax: soft receives
// the sample y of GumbelSoftmax and hard its one-hot argmax (ties to the
// lower column; a row whose sample is NaN gives a NaN row, an all-masked
// row zeros). The forward value is hard; the backward pass uses the soft
// sample's Jacobian, SoftmaxBackward(dx, soft, upstream, cols,
// Temperature(τ)) — the estimator ∂hard/∂x ≈ ∂soft/∂x of Jang et al.
// (2017). hard, soft and x must not overlap, except that soft may be x.
func GumbelSoftmaxST[T Float](hard, soft, x []T, cols int, tau float64, rng *rand.Rand, opts ...Option) error {
	const name = "GumbelSoftmaxST"
	if len(hard) != len(x) {
		return fmt.Errorf("softmax.%s: len(hard) = %d, want %d (the length of x): %w", name, len(hard), len(x), ErrShape)
	}
	if shares(hard, x) || shares(hard, soft) {
		return fmt.Errorf("softmax.%s: hard overlaps soft or x: %w", name, ErrShape)
	}
	if err := gumbel(name, soft, x, cols, tau, rng, opts); err != nil {
		return err
	}
	rows := len(x) / cols
	for r := 0; r < rows; r++ {
		y, h := soft[r*cols:(r+1)*cols], hard[r*cols:(r+1)*cols]
		best, nan := -1, false
		for j, v := range y {
			if v != v {
				nan = true
				break
			}
			if v > 0 && (best < 0 || v > y[best]) {
				best = j
			}
		}
		if nan {
			fillT(h, math.NaN())
			continue
		}
		fillT(h, 0)
		if best >= 0 {
			h[best] = 1
		}
	}
	return nil
}

func gumbel[T Float](name string, dst, x []T, cols int, tau float64, rng *rand.Rand, opts []Option) error {
	if _, err := checkRowwise(name, dst, x, cols); err != nil {
		return err
	}
	if rng == nil {
		return fmt.Errorf("softmax.%s: nil random source", name)
	}
	if !(tau > 0) || math.IsInf(tau, 0) {
		return fmt.Errorf("softmax.%s: tau = %v, want a positive finite number", name, tau)
	}
	c, err := configure(opts)
	if err != nil {
		return err
	}
	if c.temperature != 1 {
		return errors.New("softmax." + name + ": the Temperature option is not accepted (tau is the temperature)")
	}
	g := make([]T, len(x))
	_ = GumbelNoise(g, rng) // rng checked above
	for i, v := range x {
		dst[i] = v + g[i]
	}
	return Softmax(dst, dst, cols, Temperature(tau), Threads(c.threads))
}
