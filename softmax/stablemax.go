package softmax

import (
	"math"
)

// StableMax writes the StableMax normaliser of every row of x into dst
// (same shape; dst may be x):
//
//	A_ij = s(x_ij/T) / Σ_l s(x_il/T),   s(z) = z + 1 for z ≥ 0,  1/(1 − z) for z < 0,
//
// the exponential-free activation of Prieto, Barsbey, Mediano and Birdal,
// "Grokking at the Edge of Numerical Stability" (ICLR 2025), catalog B16
// (package loss has its cross-entropy, stablemax-ce). s is C¹ at 0 and
// grows linearly, so probabilities approach 1 only polynomially in the
// logit gap and no Softmax Collapse occurs at the gaps where float32
// softmax rounds its tail away. StableMax is not shift-invariant.
//
// The ratios are formed in float64 from s scaled by the row's largest s
// (no sum can overflow); where x/T itself overflows (a huge logit over a
// small T), the row is normalised in the log domain instead, with
// log s(z) = log1p(z) or −log1p(−z) and log z = log x − log T. −Inf
// entries get weight 0 (s(−∞) = 0); an all −Inf row gives zeros; NaN or
// +Inf makes the row NaN. Each weight has relative error ≤ (cols + 4)·2⁻⁵³
// before the final rounding to T (the log-domain rows: ≤ 2⁻⁴⁰).
// Backward: StableMaxBackward.
func StableMax[T Float](dst, x []T, cols int, opts ...Option) error {
	const name = "StableMax"
	rows, err := checkRowwise(name, dst, x, cols)
	if err != nil {
		return err
	}
	c, err := configure(opts)
	if err != nil {
		return err
	}
	t := c.temperature
	forRows(rows, cols, c.threads, func(r int) {
		row, out := x[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
		if nan, inf := rowSpecial(row); nan || inf {
			fillT(out, math.NaN())
			return
		}
		s := make([]float64, cols)
		top := 0.0
		for j, v := range row {
			s[j] = stableS(float64(v) / t)
			top = max(top, s[j])
		}
		if top == 0 { // every entry −Inf
			fillT(out, 0)
			return
		}
		if math.IsInf(top, 1) {
			for j, v := range row {
				s[j] = logStableS(float64(v), t)
			}
			rowSoftmax64(s, s, 1)
			for j, v := range s {
				out[j] = T(v)
			}
			return
		}
		var sum float64
		for j := range s {
			s[j] /= top
			sum += s[j]
		}
		for j, v := range s {
			out[j] = T(v / sum)
		}
	})
	return nil
}

// stableS is s(z) = z + 1 (z ≥ 0) or 1/(1 − z) (z < 0); s(−∞) = 0.
func stableS(z float64) float64 {
	if z >= 0 {
		return z + 1
	}
	return 1 / (1 - z)
}

// logStableS is log s(v/t) for a finite or −Inf v and t > 0, also where
// v/t overflows (then |v/t| ≫ 1 and log(1 + |z|) = log|v| − log t to
// double precision).
func logStableS(v, t float64) float64 {
	z := v / t
	switch {
	case math.IsInf(v, -1):
		return math.Inf(-1)
	case math.IsInf(z, 1):
		return math.Log(v) - math.Log(t)
	case math.IsInf(z, -1):
		return -(math.Log(-v) - math.Log(t))
	case z >= 0:
		return math.Log1p(z)
	}
	return -math.Log1p(-z)
}

// StableMaxBackward writes dx = ∂L/∂x given the forward input x, its
// output y = StableMax(x) and the upstream gradient g = ∂L/∂y:
//
//	dx_j = (1/T)·y_j/(1 + |z_j|)·(g_j − Σ_i g_i y_i),   z = x/T,
//
// the vector–Jacobian product of ∂A_i/∂x_j = (1/T)·(s'(z_j)/S)·(δ_ij − A_i)
// with S = Σ_l s(z_l), using s'(z)/s(z) = 1/(1 + |z|) on both sides of 0
// (derived). Pass the options of the forward call. dx may be x, y or g.
// Arithmetic is float64.
func StableMaxBackward[T Float](dx, x, y, g []T, cols int, opts ...Option) error {
	const name = "StableMaxBackward"
	rows, err := checkRowwise(name, dx, x, cols)
	if err != nil {
		return err
	}
	if err := checkSameLen(name, len(x), map[string][]T{"y": y, "g": g}); err != nil {
		return err
	}
	c, err := configure(opts)
	if err != nil {
		return err
	}
	t := c.temperature
	forRows(rows, cols, c.threads, func(r int) {
		lo, hi := r*cols, (r+1)*cols
		ratioBackward(dx, y, g, lo, hi, func(j int, a float64) float64 {
			return a / (1 + math.Abs(float64(x[j])/t)) / t
		})
	})
	return nil
}

// ratioBackward writes, over [lo, hi), the vector–Jacobian product of a
// normalizer y_i = s(z_i)/Σ_l s(z_l): dx_j = f(j, y_j)·(g_j − Σ_i g_i y_i),
// where f(j, y_j) = y_j·∂log s(z_j)/∂x_j (the normalizer's own factor),
// and dx_j = 0 where y_j = 0. dx may be y or g.
func ratioBackward[T Float](dx, y, g []T, lo, hi int, f func(j int, a float64) float64) {
	var dot float64
	for j := lo; j < hi; j++ {
		if y[j] != 0 {
			dot += float64(g[j]) * float64(y[j])
		}
	}
	for j := lo; j < hi; j++ {
		a := float64(y[j])
		if a == 0 {
			dx[j] = 0
			continue
		}
		dx[j] = T(f(j, a) * (float64(g[j]) - dot))
	}
}
