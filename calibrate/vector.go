package calibrate

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/optimize"

	"github.com/xentlab/xent/internal/rowstat"
)

// Vector is vector scaling (Guo et al. 2017): class k's logit becomes
// W_k·z_k + B_k.
type Vector struct {
	W, B []float64
}

// Classes is the number of classes the map was fitted for.
func (v *Vector) Classes() int { return len(v.W) }

func (v *Vector) apply(dst, x []float64) {
	for j, z := range x {
		dst[j] = v.W[j]*z + v.B[j]
	}
}

func (v *Vector) apply32(dst, x []float32) {
	for j, z := range x {
		dst[j] = float32(v.W[j]*float64(z) + v.B[j])
	}
}

// L2 adds the penalty (λ/2)·Σ_k ((W_k − w₀)² + B_k²) to the vector-scaling
// objective, pulling the map towards temperature scaling with w₀ = 1/T
// (λ ≥ 0, default 0: plain NLL as in Guo et al.).
func L2(lambda float64) Option { return func(c *config) { c.l2 = lambda } }

// FitVector fits vector scaling on held-out logits by minimising
//
//	(1/N) Σ_i −log softmax(W∘z_i + B)_{y_i}  (+ the L2 penalty)
//
// with L-BFGS (gonum/optimize) and the analytic gradient
// ∂/∂W_k = (1/N) Σ_i (p_ik − 1[y_i = k])·z_ik, ∂/∂B_k = (1/N) Σ_i (p_ik − 1[y_i = k]).
// The objective is convex. It starts from temperature scaling
// (W_k = 1/T with T from FitTemperature, B = 0) and returns that start if
// the optimiser does not improve on it, so the fit-set NLL is never above
// temperature scaling's. B is determined only up to a common shift; the
// solver's choice is kept. Each evaluation is one pass over the logits
// with the float64 exp kernel.
func FitVector[T Float](logits []T, cols int, labels []int32, opts ...Option) (*Vector, error) {
	cfg, err := configure("FitVector", 0.01, 100, opts)
	if err != nil {
		return nil, err
	}
	if !(cfg.l2 >= 0) || math.IsInf(cfg.l2, 1) {
		return nil, fmt.Errorf("calibrate.FitVector: L2 weight %v, want finite ≥ 0: %w", cfg.l2, ErrValue)
	}
	if _, err := check("FitVector", logits, cols, labels, cfg.threads); err != nil {
		return nil, err
	}
	t, err := FitTemperature(logits, cols, labels, Threads(cfg.threads), Bounds(cfg.tlo, cfg.thi))
	if err != nil {
		return nil, err
	}
	w0 := 1 / t
	x0 := make([]float64, 2*cols)
	for k := 0; k < cols; k++ {
		x0[k] = w0
	}
	obj := vectorObjective(logits, cols, labels, w0, cfg)
	f0, _ := obj.eval(x0)
	res, err := optimize.Minimize(optimize.Problem{
		Func: func(x []float64) float64 { f, _ := obj.eval(x); return f },
		Grad: func(grad, x []float64) { _, g := obj.eval(x); copy(grad, g) },
	}, x0, &optimize.Settings{
		GradientThreshold: 1e-9,
		MajorIterations:   cmp.Or(cfg.maxIter, 500),
		Converger:         &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-12, Iterations: 20},
	}, &optimize.LBFGS{})
	best := x0
	if res != nil && res.X != nil && !math.IsNaN(res.F) && res.F < f0 {
		best = res.X
	} else if err != nil && res == nil {
		return nil, fmt.Errorf("calibrate.FitVector: %w", err)
	}
	return &Vector{W: slices.Clone(best[:cols]), B: slices.Clone(best[cols:])}, nil
}

// vecObj evaluates the vector-scaling objective and its gradient, caching
// the last point (the optimiser asks for the value and the gradient at
// the same x separately).
type vecObj struct {
	last []float64
	f    float64
	g    []float64
	run  func(x []float64) (float64, []float64)
}

func (o *vecObj) eval(x []float64) (float64, []float64) {
	if o.last != nil && slices.Equal(o.last, x) {
		return o.f, o.g
	}
	o.f, o.g = o.run(x)
	o.last = append(o.last[:0], x...)
	return o.f, o.g
}

type vecPart struct {
	nll  float64
	grad []float64
}

func vectorObjective[E Float](x []E, cols int, labels []int32, w0 float64, cfg config) *vecObj {
	rows := len(x) / cols
	return &vecObj{run: func(p []float64) (float64, []float64) {
		w, b := p[:cols], p[cols:]
		parts := blocks(rows, cfg.threads, func(lo, hi int) vecPart {
			z := make([]float64, cols)
			e := make([]float64, cols)
			pt := vecPart{grad: make([]float64, 2*cols)}
			gw, gb := pt.grad[:cols], pt.grad[cols:]
			for r := lo; r < hi; r++ {
				row := x[r*cols : (r+1)*cols]
				for j, v := range row {
					z[j] = w[j]*float64(v) + b[j]
				}
				m, nan := rowstat.K64.MaxNaN(z)
				if nan || math.IsInf(m, 0) {
					// Overflow of W·z: an infinite objective keeps the
					// line search away.
					pt.nll = math.Inf(1)
					continue
				}
				s := rowstat.K64.ExpStoreSum(e, z, m, 1)
				y := labels[r]
				pt.nll += math.Log(s) - (z[y] - m)
				inv := 1 / s
				for j, v := range e {
					q := v * inv
					if j == int(y) {
						q--
					}
					gw[j] += q * float64(row[j])
					gb[j] += q
				}
			}
			return pt
		})
		var f float64
		g := make([]float64, 2*cols)
		for _, pt := range parts {
			f += pt.nll
			for i, v := range pt.grad {
				g[i] += v
			}
		}
		n := float64(rows)
		f /= n
		for i := range g {
			g[i] /= n
		}
		if cfg.l2 > 0 {
			for k := 0; k < cols; k++ {
				dw, db := w[k]-w0, b[k]
				f += cfg.l2 / 2 * (dw*dw + db*db)
				g[k] += cfg.l2 * dw
				g[cols+k] += cfg.l2 * db
			}
		}
		return f, g
	}}
}
