package softmax

import (
	"fmt"
	"math"
)

// SelectiveTemperature returns the position-dependent inverse temperature
// of selective attention, τ(n) = 1 + exp(−exp(β))·ln n, for a query that
// sees n ≥ 1 keys (τ(1) = 1; the double exponential keeps the coefficient
// of ln n in (0, 1)).
func SelectiveTemperature(beta float64, n int) float64 {
	return 1 + math.Exp(-math.Exp(beta))*math.Log(float64(n))
}

// SelectiveSoftmax writes the softmax with a position-dependent inverse
// temperature of every row of x into dst (same shape; dst may be x):
//
//	A_i = softmax(τ(n_i)·x_i/T),  τ(n) = 1 + exp(−exp(β))·ln n,
//
// the position-temperature scaling of catalog B23 (Zhang et al.,
// "Selective Attention: Enhancing Transformer through Principled Context
// Control", 2024; one learnable β per attention layer, initialised to 1.5
// in their GPT-2 model). n holds n_i, the number of keys row i sees: nil
// counts the entries of each row that are not −Inf (for a causally masked
// score matrix, the 1-based query position); otherwise one n_i ≥ 1 per
// row. The paper's token-dependent temperature term is not included (it
// is not in the authors' public code).
//
// Scores are scaled before the −Inf mask takes effect, so no 0·∞ arises.
// Special rows and accuracy are those of Softmax with temperature
// T/τ(n_i). Backward: SelectiveSoftmaxBackward.
func SelectiveSoftmax[T Float](dst, x []T, cols int, beta float64, n []int, opts ...Option) error {
	const name = "SelectiveSoftmax"
	rows, c, err := checkSelective(name, dst, x, cols, beta, n, opts)
	if err != nil {
		return err
	}
	forRows(rows, cols, c.threads, func(r int) {
		tau := SelectiveTemperature(beta, visible(x, cols, n, r))
		// Cannot fail: shapes and the temperature were checked.
		_ = Softmax(dst[r*cols:(r+1)*cols], x[r*cols:(r+1)*cols], cols, Temperature(c.temperature/tau), Threads(1))
	})
	return nil
}

// SelectiveSoftmaxBackward writes dx = ∂L/∂x given the forward input x,
// its output y and the upstream gradient g, and returns ∂L/∂β summed over
// the rows (derived):
//
//	dx_j = (τ/T)·y_j·(g_j − Σ_k y_k g_k)
//	∂L/∂τ = Σ_j (x_j/T)·y_j·(g_j − Σ_k y_k g_k)
//	∂τ/∂β = −exp(β)·exp(−exp(β))·ln n
//
// beta, n and the options must be those of the forward call. dx may be y
// or g. Masked (−Inf) entries have y_j = 0 and contribute nothing.
func SelectiveSoftmaxBackward[T Float](dx, x, y, g []T, cols int, beta float64, n []int, opts ...Option) (float64, error) {
	const name = "SelectiveSoftmaxBackward"
	rows, c, err := checkSelective(name, dx, y, cols, beta, n, opts)
	if err != nil {
		return 0, err
	}
	if err := checkSameLen(name, len(y), map[string][]T{"x": x, "g": g}); err != nil {
		return 0, err
	}
	s := 1 / c.temperature
	dbeta := make([]float64, rows)
	dtaudb := -math.Exp(beta) * math.Exp(-math.Exp(beta))
	forRows(rows, cols, c.threads, func(r int) {
		lo, hi := r*cols, (r+1)*cols
		nr := visible(x, cols, n, r)
		tau := SelectiveTemperature(beta, nr)
		var dot float64
		for j := lo; j < hi; j++ {
			if y[j] != 0 {
				dot += float64(y[j]) * float64(g[j])
			}
		}
		var dtau float64
		for j := lo; j < hi; j++ {
			a := float64(y[j])
			if a == 0 {
				dx[j] = 0
				continue
			}
			d := a * (float64(g[j]) - dot)
			dtau += float64(x[j]) * s * d
			dx[j] = T(tau * s * d)
		}
		dbeta[r] = dtau * dtaudb * math.Log(float64(nr))
	})
	var total float64
	for _, v := range dbeta {
		total += v
	}
	return total, nil
}

func checkSelective[T Float](name string, dst, x []T, cols int, beta float64, n []int, opts []Option) (int, config, error) {
	rows, err := checkRowwise(name, dst, x, cols)
	if err != nil {
		return 0, config{}, err
	}
	if math.IsNaN(beta) || math.IsInf(beta, 0) {
		return 0, config{}, fmt.Errorf("softmax.%s: beta %v, want a finite number", name, beta)
	}
	if n != nil {
		if len(n) != rows {
			return 0, config{}, fmt.Errorf("softmax.%s: len(n) = %d, want %d (one per row): %w", name, len(n), rows, ErrShape)
		}
		for i, v := range n {
			if v < 1 {
				return 0, config{}, fmt.Errorf("softmax.%s: n[%d] = %d, want ≥ 1", name, i, v)
			}
		}
	}
	c, err := configure(opts)
	return rows, c, err
}

// visible returns n_i: the given count, or the number of entries of row r
// that are not −Inf (at least 1).
func visible[T Float](x []T, cols int, n []int, r int) int {
	if n != nil {
		return n[r]
	}
	c := 0
	for _, v := range x[r*cols : (r+1)*cols] {
		if !math.IsInf(float64(v), -1) {
			c++
		}
	}
	return max(c, 1)
}
