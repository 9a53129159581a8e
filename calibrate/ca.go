package calibrate

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/xentlab/xent/internal/rowstat"
	"github.com/xentlab/xent/metrics"
)

// The correctness-aware (CA) objective of Liu et al., "Optimizing
// Calibration by Gaining Aware of Prediction Correctness" (catalog A5).
//
// What the catalog pins down, and this file implements: with the
// original prediction ŷ = argmax z (first maximum), correctness
// c = 1[ŷ = y], calibrated probabilities q = softmax(z/T) for a
// temperature T > 0 (so the argmax and the accuracy are unchanged) and
// confidence κ = max_k q_k, the loss over a set of examples is
//
//	L = Σ_i w_i (κ_i − c_i)² / Σ_i w_i,
//
// with class-balance weights w_i = 1 − acc for correct and w_i = acc for
// incorrect examples, acc being the accuracy of the set. When Σ w = 0
// (acc = 0 or 1) every weight is taken as 1 (the catalog asks for a guard
// but does not fix one). Its temperature derivative is
//
//	∂L/∂T_i = −2 w_i (κ_i − c_i)·κ_i·(z_m − Σ_k q_k z_k)/T_i² / Σ w.
//
// The per-example temperature of the paper is
// T(x) = clamp(w₂ᵀReLU(W₁a(x) + b₁) + b₂, 0.1, 10) with a hidden width of
// 5, trained with Adam (lr 1e-4, batch 1000, 10 epochs; the weights use
// each mini-batch's accuracy). What it does not pin down: the features
// a(x) — statistics of the model's outputs on transformed copies of the
// input (rotations, greyscale, colour jitter) whose exact list is not
// given — so FitCA takes them from the caller; and the initialisation,
// for which FitCA draws PyTorch's default U(±1/√fan_in) but starts the
// output bias at 1, so that T starts near 1 rather than possibly at the
// clamp, where the gradient vanishes. The auxiliary correctness head of
// the official code is not part of the optimised loss and is left out.

// caSums are the sums of a CA evaluation: Σ w(κ − c)², Σ w, and per row
// (optionally) ∂/∂T of w(κ − c)² before division by Σ w.
type caRow struct {
	kappa, dkappa float64 // κ and ∂κ/∂T
	correct       bool
}

// caRows computes κ, ∂κ/∂T and correctness for rows lo..hi of x at
// per-row temperatures temp (one shared value if len(temp) == 1).
func caRows[E Float](x []E, cols int, labels []int32, temp []float64, lo, hi int, out []caRow, e []E) {
	k := rowstat.For[E]()
	for r := lo; r < hi; r++ {
		row := x[r*cols : (r+1)*cols]
		t := temp[0]
		if len(temp) > 1 {
			t = temp[r]
		}
		m, _ := k.MaxNaN(row)
		s := k.ExpStoreSum(e, row, m, E(1/t))
		fm := float64(m)
		var a float64 // Σ e_j (z_j − m) = −S·(z_m − E_q z)
		for j, v := range e {
			if v != 0 {
				a += float64(v) * (float64(row[j]) - fm)
			}
		}
		kappa := 1 / s
		y := labels[r]
		correct := row[y] == m && maxBefore(k, row, int(y)) < m
		out[r-lo] = caRow{kappa: kappa, dkappa: kappa * (a / s) / (t * t), correct: correct}
	}
}

func maxBefore[E Float](k *rowstat.Kernels[E], row []E, y int) E {
	m, _ := k.MaxNaN(row[:y])
	return m
}

// caWeights returns the weights of correct and incorrect examples for a
// set with the given numbers of each.
func caWeights(nCorrect, n int) (wc, wi float64) {
	acc := float64(nCorrect) / float64(n)
	wc, wi = 1-acc, acc
	if float64(nCorrect)*wc+float64(n-nCorrect)*wi == 0 {
		return 1, 1
	}
	return wc, wi
}

// CALoss returns the correctness-aware loss L of the rows of a logit
// matrix at temperatures temps (one per row, or a single shared one),
// and ∂L/∂T for each temperature given (for a shared T, the total
// derivative). Confidences are computed with the exp kernels (relative
// error ≤ 1e-6 for float32).
func CALoss[T Float](logits []T, cols int, labels []int32, temps []float64, opts ...Option) (loss float64, grad []float64, err error) {
	cfg, err := configure("CALoss", 0.1, 10, opts)
	if err != nil {
		return 0, nil, err
	}
	rows, err := check("CALoss", logits, cols, labels, cfg.threads)
	if err != nil {
		return 0, nil, err
	}
	if len(temps) != 1 && len(temps) != rows {
		return 0, nil, fmt.Errorf("calibrate.CALoss: %d temperatures for %d rows (want 1 or one per row): %w", len(temps), rows, metrics.ErrShape)
	}
	for i, t := range temps {
		if !(t > 0) || math.IsInf(t, 1) {
			return 0, nil, fmt.Errorf("calibrate.CALoss: temperature %d is %v, want positive and finite: %w", i, t, ErrValue)
		}
	}
	all := make([]caRow, rows)
	blocks(rows, cfg.threads, func(lo, hi int) struct{} {
		caRows(logits, cols, labels, temps, lo, hi, all[lo:hi], make([]T, cols))
		return struct{}{}
	})
	loss, g := caLossOf(all)
	if len(temps) == 1 {
		var s float64
		for _, v := range g {
			s += v
		}
		return loss, []float64{s}, nil
	}
	return loss, g, nil
}

// caLossOf returns L and ∂L/∂T_i over the given rows.
func caLossOf(rows []caRow) (float64, []float64) {
	nc := 0
	for _, r := range rows {
		if r.correct {
			nc++
		}
	}
	wc, wi := caWeights(nc, len(rows))
	var num, den float64
	for _, r := range rows {
		w, c := wi, 0.0
		if r.correct {
			w, c = wc, 1
		}
		d := r.kappa - c
		num += w * d * d
		den += w
	}
	g := make([]float64, len(rows))
	for i, r := range rows {
		w, c := wi, 0.0
		if r.correct {
			w, c = wc, 1
		}
		g[i] = 2 * w * (r.kappa - c) * r.dkappa / den
	}
	return num / den, g
}

// FitTemperatureCA returns the single temperature in the bounds (default
// [0.1, 10]) that minimises the CA loss L on held-out logits. L(T) need
// not be unimodal, so it is evaluated on 41 points evenly spaced in log T
// and refined by golden-section search (in log T, to 1e-8 relative)
// between the neighbours of the best grid point. The result is never
// worse than the best grid point.
func FitTemperatureCA[T Float](logits []T, cols int, labels []int32, opts ...Option) (float64, error) {
	cfg, err := configure("FitTemperatureCA", 0.1, 10, opts)
	if err != nil {
		return 0, err
	}
	if _, err := check("FitTemperatureCA", logits, cols, labels, cfg.threads); err != nil {
		return 0, err
	}
	loss := func(u float64) float64 {
		l, _, _ := CALoss(logits, cols, labels, []float64{math.Exp(u)}, Threads(cfg.threads))
		return l
	}
	lo, hi := math.Log(cfg.tlo), math.Log(cfg.thi)
	const grid = 41
	best, bestF := 0, math.Inf(1)
	us := make([]float64, grid)
	for i := range us {
		us[i] = lo + (hi-lo)*float64(i)/(grid-1)
		if f := loss(us[i]); f < bestF {
			best, bestF = i, f
		}
	}
	a, b := us[max(best-1, 0)], us[min(best+1, grid-1)]
	u, f := golden(loss, a, b, 1e-8, cmp.Or(cfg.maxIter, 100))
	if f < bestF {
		return math.Exp(u), nil
	}
	return math.Exp(us[best]), nil
}

// golden minimises f on [a, b] by golden-section search and returns the
// best point seen and its value.
func golden(f func(float64) float64, a, b, tol float64, maxIter int) (float64, float64) {
	const r = 0.6180339887498949 // (√5 − 1)/2
	c, d := b-r*(b-a), a+r*(b-a)
	fc, fd := f(c), f(d)
	for it := 0; it < maxIter && b-a > tol*(1+math.Abs(a)+math.Abs(b)); it++ {
		if fc <= fd {
			b, d, fd = d, c, fc
			c = b - r*(b-a)
			fc = f(c)
		} else {
			a, c, fc = c, d, fd
			d = a + r*(b-a)
			fd = f(d)
		}
	}
	if fc <= fd {
		return c, fc
	}
	return d, fd
}

// CAModel is the per-example temperature of the CA method:
// T(a) = clamp(W2ᵀ ReLU(W1·a + B1) + B2, TMin, TMax) for a feature vector a
// of In values and Hidden hidden units.
type CAModel struct {
	In, Hidden int
	W1         []float64 // Hidden × In, row-major
	B1, W2     []float64 // Hidden each
	B2         float64
	TMin, TMax float64
}

// raw returns the unclamped output and fills the hidden activations.
func (m *CAModel) raw(a, h []float64) float64 {
	out := m.B2
	for i := 0; i < m.Hidden; i++ {
		v := m.B1[i]
		for j, x := range a {
			v += m.W1[i*m.In+j] * x
		}
		h[i] = max(v, 0)
		out += m.W2[i] * h[i]
	}
	return out
}

// Temperatures returns T(a) for every row of a feature matrix (In
// columns).
func (m *CAModel) Temperatures(features []float64) ([]float64, error) {
	if m.In < 1 || len(features)%m.In != 0 {
		return nil, fmt.Errorf("calibrate.CAModel.Temperatures: %d feature values for rows of %d: %w", len(features), m.In, metrics.ErrShape)
	}
	h := make([]float64, m.Hidden)
	t := make([]float64, len(features)/m.In)
	for r := range t {
		a := features[r*m.In : (r+1)*m.In]
		for j, v := range a {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("calibrate.CAModel.Temperatures: row %d feature %d is %v: %w", r, j, v, metrics.ErrValue)
			}
		}
		t[r] = min(max(m.raw(a, h), m.TMin), m.TMax)
	}
	return t, nil
}

// Epochs sets the number of passes over the data of FitCA (default 10).
func Epochs(n int) Option { return func(c *config) { c.epochs = n } }

// BatchSize sets FitCA's mini-batch size (default 1000).
func BatchSize(n int) Option { return func(c *config) { c.batch = n } }

// LearningRate sets FitCA's Adam step size (default 1e-4).
func LearningRate(lr float64) Option { return func(c *config) { c.lr = lr } }

// Hidden sets FitCA's hidden width (default 5).
func Hidden(n int) Option { return func(c *config) { c.hidden = n } }

// Seed sets the seed of FitCA's initialisation and shuffling (default 1).
func Seed(s uint64) Option { return func(c *config) { c.seed = s } }

// FitCA trains the per-example temperature model on held-out logits,
// their labels and one feature row per example (dim values each) by
// minimising the CA loss with Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) over
// shuffled mini-batches; the defaults are those of the official code.
// The temperature is clamped to the bounds (default [0.1, 10]); where the
// clamp is active the example gives no gradient. Deterministic for a
// given seed. See the comment at the top of this file for what is and is
// not taken from the paper.
func FitCA[T Float](logits []T, cols int, labels []int32, features []float64, dim int, opts ...Option) (*CAModel, error) {
	cfg, err := configure("FitCA", 0.1, 10, opts)
	if err != nil {
		return nil, err
	}
	if cfg.epochs < 1 || cfg.batch < 1 || cfg.hidden < 1 || !(cfg.lr > 0) || math.IsInf(cfg.lr, 1) {
		return nil, fmt.Errorf("calibrate.FitCA: epochs %d, batch %d, hidden %d, learning rate %v, want positive: %w", cfg.epochs, cfg.batch, cfg.hidden, cfg.lr, ErrValue)
	}
	rows, err := check("FitCA", logits, cols, labels, cfg.threads)
	if err != nil {
		return nil, err
	}
	if dim < 1 || len(features) != rows*dim {
		return nil, fmt.Errorf("calibrate.FitCA: %d feature values for %d rows of dim %d: %w", len(features), rows, dim, metrics.ErrShape)
	}
	for i, v := range features {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("calibrate.FitCA: feature value %d (row %d) is %v: %w", i, i/dim, v, metrics.ErrValue)
		}
	}
	rng := rand.New(rand.NewPCG(cfg.seed, 0x5ca1ab1e))
	hd := cfg.hidden
	m := &CAModel{In: dim, Hidden: hd, W1: make([]float64, hd*dim), B1: make([]float64, hd), W2: make([]float64, hd), B2: 1, TMin: cfg.tlo, TMax: cfg.thi}
	u := func(fanIn int) float64 { return (2*rng.Float64() - 1) / math.Sqrt(float64(fanIn)) }
	for i := range m.W1 {
		m.W1[i] = u(dim)
	}
	for i := range m.B1 {
		m.B1[i] = u(dim)
	}
	for i := range m.W2 {
		m.W2[i] = u(hd)
	}
	// Parameters as one vector for Adam: W1, B1, W2, B2.
	np := hd*dim + 2*hd + 1
	grad := make([]float64, np)
	mom, vel := make([]float64, np), make([]float64, np)
	params := func(i int) *float64 {
		switch {
		case i < hd*dim:
			return &m.W1[i]
		case i < hd*dim+hd:
			return &m.B1[i-hd*dim]
		case i < hd*dim+2*hd:
			return &m.W2[i-hd*dim-hd]
		}
		return &m.B2
	}
	order := make([]int, rows)
	for i := range order {
		order[i] = i
	}
	bs := min(cfg.batch, rows)
	temps := make([]float64, bs)
	hidden := make([]float64, bs*hd)
	rawOut := make([]float64, bs)
	batchRows := make([]caRow, bs)
	e := make([]T, cols)
	step := 0
	const b1, b2, eps = 0.9, 0.999, 1e-8
	for ep := 0; ep < cfg.epochs; ep++ {
		rng.Shuffle(rows, func(i, j int) { order[i], order[j] = order[j], order[i] })
		for lo := 0; lo < rows; lo += bs {
			idx := order[lo:min(rows, lo+bs)]
			n := len(idx)
			for i, r := range idx {
				rawOut[i] = m.raw(features[r*dim:(r+1)*dim], hidden[i*hd:(i+1)*hd])
				temps[i] = min(max(rawOut[i], m.TMin), m.TMax)
				caRows(logits[r*cols:(r+1)*cols], cols, labels[r:r+1], temps[i:i+1], 0, 1, batchRows[i:i+1], e)
			}
			_, dT := caLossOf(batchRows[:n])
			clear(grad)
			for i, r := range idx {
				if rawOut[i] < m.TMin || rawOut[i] > m.TMax {
					continue // clamped: no gradient
				}
				g := dT[i]
				a := features[r*dim : (r+1)*dim]
				h := hidden[i*hd : (i+1)*hd]
				grad[np-1] += g
				for k := 0; k < hd; k++ {
					grad[hd*dim+hd+k] += g * h[k]
					if h[k] > 0 {
						gh := g * m.W2[k]
						grad[hd*dim+k] += gh
						rowstat.K64.Axpy(grad[k*dim:(k+1)*dim], a, gh)
					}
				}
			}
			step++
			c1 := 1 - math.Pow(b1, float64(step))
			c2 := 1 - math.Pow(b2, float64(step))
			for i, g := range grad {
				mom[i] = b1*mom[i] + (1-b1)*g
				vel[i] = b2*vel[i] + (1-b2)*g*g
				*params(i) -= cfg.lr * (mom[i] / c1) / (math.Sqrt(vel[i]/c2) + eps)
			}
		}
	}
	return m, nil
}

// ApplyTemperatures writes z_i/T_i for every row i of logits into dst
// (same length, may be logits), with one temperature per row, e.g. from
// CAModel.Temperatures.
func ApplyTemperatures[T Float](dst, logits []T, cols int, temps []float64) error {
	if cols < 1 || len(logits)%cols != 0 || len(dst) != len(logits) || len(temps) != len(logits)/cols {
		return fmt.Errorf("calibrate.ApplyTemperatures: %d logits, %d outputs, %d temperatures, cols = %d: %w", len(logits), len(dst), len(temps), cols, metrics.ErrShape)
	}
	for i, t := range temps {
		if !(t > 0) || math.IsInf(t, 1) {
			return fmt.Errorf("calibrate.ApplyTemperatures: temperature %d is %v, want positive and finite: %w", i, t, ErrValue)
		}
	}
	for r, t := range temps {
		if err := Apply(Temperature(t), dst[r*cols:(r+1)*cols], logits[r*cols:(r+1)*cols], cols); err != nil {
			return err
		}
	}
	return nil
}
