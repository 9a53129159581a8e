package softmax

import (
	"fmt"
	"math"
)

// SoftplusNorm writes the softplus + ℓ1 normaliser of every row of x into
// dst (same shape; dst may be x):
//
//	A_ij = softplus(κ_i·x_ij/T) / Σ_l softplus(κ_i·x_il/T),  softplus(z) = log(1 + eᶻ),
//
// the core of LSSA attention (catalog A26: Gao and Spratling, "Softplus
// Attention with Re-weighting Boosts Length Extrapolation in Large
// Language Models", 2025). kappa holds the length scale κ: nil for κ = 1,
// one value for every row, or one per row (LengthScale computes the
// paper's log-length form). Every κ must be finite and ≥ 0.
//
// Softplus grows linearly, so nothing overflows at any row length. The
// ratio is computed in the log domain, A = softmax(log softplus(z)), so
// that rows of very negative scores (where softplus underflows to 0 in
// floating point) still normalise, to softmax(z) in the limit. −Inf
// entries get weight 0; an all −Inf row gives zeros; NaN or +Inf makes the
// row NaN. Arithmetic is float64: each weight has relative error
// ≤ 2⁻²⁴ (float32) or (8 + cols)·2⁻⁵³ (float64) beyond the rounding of
// the inputs.
//
// The paper's re-weighting stage (LSSAR) is not included: its formula
// could not be verified against the authors' code.
func SoftplusNorm[T Float](dst, x []T, cols int, kappa []float64, opts ...Option) error {
	const name = "SoftplusNorm"
	rows, c, err := checkSoftplus(name, dst, x, cols, kappa, opts)
	if err != nil {
		return err
	}
	s := 1 / c.temperature
	forRows(rows, cols, c.threads, func(r int) {
		row, out := x[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
		if nan, inf := rowSpecial(row); nan || inf {
			fillT(out, math.NaN())
			return
		}
		k := kappaAt(kappa, r) * s
		l := make([]float64, cols)
		for j, v := range row {
			if math.IsInf(float64(v), -1) {
				l[j] = math.Inf(-1) // masked, also when κ = 0
				continue
			}
			l[j] = logSoftplus(k * float64(v))
		}
		rowSoftmax64(l, l, 1)
		for j, v := range l {
			out[j] = T(v)
		}
	})
	return nil
}

// SoftplusNormBackward writes dx = ∂L/∂x given the forward input x, its
// output y = SoftplusNorm(x) and the upstream gradient g = ∂L/∂y:
//
//	dx_j = (κ/T)·σ(z_j)/U · (g_j − Σ_i g_i y_i),  z = κx/T,  U = Σ_l softplus(z_l),
//
// the vector–Jacobian product for ∂A_i/∂x_j = (κ/T)·σ(z_j)(δ_ij − A_i)/U
// (derived; the Jacobian is not symmetric). σ(z_j)/U is evaluated as
// y_j·σ(z_j)/softplus(z_j), stable for all z. kappa and the options must
// be those of the forward call. dx may be x, y or g.
func SoftplusNormBackward[T Float](dx, x, y, g []T, cols int, kappa []float64, opts ...Option) error {
	const name = "SoftplusNormBackward"
	rows, c, err := checkSoftplus(name, dx, x, cols, kappa, opts)
	if err != nil {
		return err
	}
	if err := checkSameLen(name, len(x), map[string][]T{"y": y, "g": g}); err != nil {
		return err
	}
	s := 1 / c.temperature
	forRows(rows, cols, c.threads, func(r int) {
		lo, hi := r*cols, (r+1)*cols
		k := kappaAt(kappa, r) * s
		ratioBackward(dx, y, g, lo, hi, func(j int, a float64) float64 {
			return k * a * sigmoidOverSoftplus(k*float64(x[j]))
		})
	})
	return nil
}

// LengthScale returns the per-row length scale κ_i = log(n_i)/log(base)
// of SoftplusNorm, n_i being the number of entries of row i that are not
// −Inf (for a causal attention row: the number of visible keys). The
// paper scales the scores by the logarithm of the number of visible
// tokens to keep the attention entropy invariant with length; its
// reference base (the training length or the head dimension) is left to
// the caller: base = e gives κ = ln n. A row with one visible entry gets
// κ = 0 (every weight equal, which for one entry is 1); a row with none
// gets κ = 1. base must be finite and > 1.
func LengthScale[T Float](x []T, cols int, base float64) ([]float64, error) {
	if cols <= 0 || len(x)%cols != 0 {
		return nil, fmt.Errorf("softmax.LengthScale: len(x) = %d, cols = %d: %w", len(x), cols, ErrShape)
	}
	if !(base > 1) || math.IsInf(base, 0) {
		return nil, fmt.Errorf("softmax.LengthScale: base %v, want a finite number > 1", base)
	}
	rows := len(x) / cols
	k := make([]float64, rows)
	for r := range k {
		n := 0
		for _, v := range x[r*cols : (r+1)*cols] {
			if !math.IsInf(float64(v), -1) {
				n++
			}
		}
		k[r] = 1
		if n > 0 {
			k[r] = math.Log(float64(n)) / math.Log(base)
		}
	}
	return k, nil
}

func checkSoftplus[T Float](name string, dst, x []T, cols int, kappa []float64, opts []Option) (int, config, error) {
	rows, err := checkRowwise(name, dst, x, cols)
	if err != nil {
		return 0, config{}, err
	}
	if len(kappa) > 1 && len(kappa) != rows {
		return 0, config{}, fmt.Errorf("softmax.%s: len(kappa) = %d, want 0, 1 or %d (one per row): %w", name, len(kappa), rows, ErrShape)
	}
	for i, k := range kappa {
		if !(k >= 0) || math.IsInf(k, 0) {
			return 0, config{}, fmt.Errorf("softmax.%s: kappa[%d] = %v, want a finite number ≥ 0", name, i, k)
		}
	}
	c, err := configure(opts)
	return rows, c, err
}

func kappaAt(kappa []float64, r int) float64 {
	switch len(kappa) {
	case 0:
		return 1
	case 1:
		return kappa[0]
	}
	return kappa[r]
}

// softplus is log(1 + eᶻ) in the stable form max(z, 0) + log1p(e^−|z|).
func softplus(z float64) float64 {
	return max(z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
}

// logSoftplus is log(softplus(z)), exact to rounding for every z,
// including z so negative that softplus underflows (there it is z).
func logSoftplus(z float64) float64 {
	if z < -37 { // softplus(z) = eᶻ(1 − eᶻ/2 + …), eᶻ < 1e-16
		return z
	}
	return math.Log(softplus(z))
}

// sigmoidOverSoftplus is σ(z)/softplus(z), → 1 as z → −∞.
func sigmoidOverSoftplus(z float64) float64 {
	if z < -37 {
		return 1
	}
	return sigmoid(z) / softplus(z)
}
