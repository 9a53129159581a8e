package loss

import (
	"math"
	"sort"
)

// CrossMax aggregates the logits of several predictors — the heads of an
// ensemble, or the intermediate-layer heads of one network — into one
// logit vector robustly, as in Fort and Lakshminarayanan, "Ensemble
// everything everywhere: Multi-scale aggregation for adversarial
// robustness", 2024, arXiv:2408.05446 (catalog A18). For one example with
// head logits Z ∈ ℝ^{N×C} (z, row-major [heads, cols]; a batch is
// several such blocks one after another):
//
//  1. Z̃_{n,c} = Z_{n,c} − max_c Z_{n,c}   (each head's own maximum to 0)
//  2. Ẑ_{n,c} = Z̃_{n,c} − max_n Z̃_{n,c}   (each class's best head to 0)
//  3. y_c = the k-th largest of Ẑ_{·,c}    (a Vickrey-auction order statistic)
//
// so no single head can dominate a class by an outlying logit. k = 1
// makes every y_c 0 (degenerate); the official notebook uses k = 3 over 8
// heads, and k = (N+1)/2 for odd N is the median variant. dst receives y
// ([batch, cols]).
//
// y is piecewise linear in Z; CrossMaxGrad gives its (sub)gradient. Ties
// go to the lower index (the first maximum of a head, the first best
// head of a class, and the lower head among equal values in the order),
// so results and gradients are deterministic.
//
// No exponentials are involved: y is exact up to the rounding of the
// two subtractions. A −Inf logit is a mask: a class masked in every head,
// or whose k-th value is masked, gets y_c = −Inf (and zero gradient).
// Errors: shapes, k outside [1, heads], NaN or +Inf logits, and a head
// whose logits are all −Inf.
func CrossMax[T Float](dst, z []T, heads, cols, k int) error {
	batch, err := crossMaxCheck(len(z), heads, cols, k)
	if err != nil {
		return err
	}
	if len(dst) != batch*cols {
		return shapeErr("crossmax", "len(dst) = %d, want %d ([batch, cols])", len(dst), batch*cols)
	}
	w := newCrossMaxWork(heads, cols)
	for b := 0; b < batch; b++ {
		for i, v := range z[b*heads*cols : (b+1)*heads*cols] {
			w.z[i] = float64(v)
		}
		if err := w.run(b, k); err != nil {
			return err
		}
		for c, v := range w.y {
			dst[b*cols+c] = T(v)
		}
	}
	return nil
}

// CrossMaxGrad writes into dz (the shape of z) the gradient Σ_c dy_c·∂y_c/∂Z
// of the CrossMax aggregate, for upstream gradients dy ([batch, cols]):
// with n_k the head selected for class c in step 3, n*(c) its best head
// in step 2 and c*(n) the first maximum of head n, ∂y_c/∂Z is +1 at
// (n_k, c), −1 at (n_k, c*(n_k)), −1 at (n*(c), c) and +1 at
// (n*(c), c*(n*(c))) (adding up where positions coincide). dz is
// overwritten.
func CrossMaxGrad[T Float](dz, z, dy []T, heads, cols, k int) error {
	batch, err := crossMaxCheck(len(z), heads, cols, k)
	if err != nil {
		return err
	}
	switch {
	case len(dz) != len(z):
		return shapeErr("crossmax", "len(dz) = %d, want %d (the shape of z)", len(dz), len(z))
	case len(dy) != batch*cols:
		return shapeErr("crossmax", "len(dy) = %d, want %d ([batch, cols])", len(dy), batch*cols)
	}
	w := newCrossMaxWork(heads, cols)
	g := make([]float64, heads*cols)
	for b := 0; b < batch; b++ {
		for i, v := range z[b*heads*cols : (b+1)*heads*cols] {
			w.z[i] = float64(v)
		}
		if err := w.run(b, k); err != nil {
			return err
		}
		clear(g)
		for c := 0; c < cols; c++ {
			d := float64(dy[b*cols+c])
			if math.IsInf(w.y[c], -1) || d == 0 {
				continue
			}
			nk, ns := w.sel[c], w.best[c]
			g[nk*cols+c] += d
			g[nk*cols+w.amax[nk]] -= d
			g[ns*cols+c] -= d
			g[ns*cols+w.amax[ns]] += d
		}
		for i, v := range g {
			dz[b*heads*cols+i] = T(v)
		}
	}
	return nil
}

func crossMaxCheck(n, heads, cols, k int) (int, error) {
	const name = "crossmax"
	switch {
	case heads < 1 || cols < 1:
		return 0, shapeErr(name, "heads = %d, cols = %d, want ≥ 1", heads, cols)
	case n%(heads*cols) != 0:
		return 0, shapeErr(name, "len(z) = %d is not a multiple of heads·cols = %d", n, heads*cols)
	case k < 1 || k > heads:
		return 0, valueErr(name, "k = %d outside [1, %d]", k, heads)
	}
	return n / (heads * cols), nil
}

// crossMaxWork holds one example's values: z (a float64 copy, turned
// into Z̃ in place), the first maximum c*(n) of each head, the best head
// n*(c) and the selected head n_k of each class, and y.
type crossMaxWork struct {
	heads, cols int
	z           []float64
	amax        []int
	best, sel   []int
	y           []float64
	order       []int
}

func newCrossMaxWork(heads, cols int) *crossMaxWork {
	return &crossMaxWork{heads: heads, cols: cols, z: make([]float64, heads*cols),
		amax: make([]int, heads), best: make([]int, cols), sel: make([]int, cols),
		y: make([]float64, cols), order: make([]int, heads)}
}

// run computes y for example b from w.z.
func (w *crossMaxWork) run(b, k int) error {
	const name = "crossmax"
	H, C := w.heads, w.cols
	for n := 0; n < H; n++ {
		row := w.z[n*C : (n+1)*C]
		m, am := math.Inf(-1), -1
		for c, v := range row {
			if v != v || math.IsInf(v, 1) {
				return valueErr(name, "logit %v at example %d, head %d, class %d", v, b, n, c)
			}
			if v > m {
				m, am = v, c
			}
		}
		if am < 0 {
			return valueErr(name, "head %d of example %d is entirely −Inf", n, b)
		}
		w.amax[n] = am
		for c := range row {
			row[c] -= m
		}
	}
	for c := 0; c < C; c++ {
		M, bn := math.Inf(-1), 0
		for n := 0; n < H; n++ {
			if v := w.z[n*C+c]; v > M {
				M, bn = v, n
			}
		}
		w.best[c] = bn
		if math.IsInf(M, -1) {
			w.sel[c], w.y[c] = bn, M
			continue
		}
		for n := range w.order {
			w.order[n] = n
		}
		sort.SliceStable(w.order, func(i, j int) bool { return w.z[w.order[i]*C+c] > w.z[w.order[j]*C+c] })
		nk := w.order[k-1]
		w.sel[c] = nk
		w.y[c] = w.z[nk*C+c] - M
	}
	return nil
}
