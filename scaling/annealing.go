package scaling

import (
	"fmt"
	"math"
)

// Annealing is the learning-rate-annealing law of Tissue et al. (2024),
// "Scaling Law with Learning Rate Annealing" (catalog A16), for the
// validation loss after s steps of a run with learning rates η_1, η_2, …:
//
//	L(s) = L₀ + A·S₁(s)^{−α} − C·S₂(s),
//	S₁(s) = Σ_{i≤s} η_i                      (forward area)
//	S₂(s) = Σ_{i≤s} m_i,  m_i = λ·m_{i−1} + (η_{i−1} − η_i)   (annealing area)
//
// with η₀ := η₁ and m₀ = 0. λ is the decay factor of the annealing
// momentum (0.999 by default: the value of a public reproduction, within
// the 0.99–0.999 range the paper recommends, as the catalog notes). The
// formula is applied as written during warm-up, where η rises and m_i is
// negative; the catalog leaves that case open.
type Annealing struct {
	L0, A, Alpha, C float64
	Lambda          float64
}

// Areas returns S₁(s) and S₂(s) for s = 1 … len(lr), where lr[i] is the
// learning rate of step i+1, accumulated in float64.
func Areas(lr []float64, lambda float64) (s1, s2 []float64) {
	s1, s2 = make([]float64, len(lr)), make([]float64, len(lr))
	var a1, a2, m float64
	for i, eta := range lr {
		prev := eta
		if i > 0 {
			prev = lr[i-1]
		}
		m = lambda*m + (prev - eta)
		a1 += eta
		a2 += m
		s1[i], s2[i] = a1, a2
	}
	return s1, s2
}

// Curve returns the predicted loss after each step 1 … len(lr) of the
// schedule lr (lr[i] the learning rate of step i+1). Steps whose forward
// area is not positive get NaN.
func (a Annealing) Curve(lr []float64) []float64 {
	s1, s2 := Areas(lr, a.Lambda)
	out := make([]float64, len(lr))
	for i := range out {
		out[i] = a.at(s1[i], s2[i])
	}
	return out
}

func (a Annealing) at(s1, s2 float64) float64 {
	if !(s1 > 0) {
		return math.NaN()
	}
	return a.L0 + a.A*math.Exp(-a.Alpha*math.Log(s1)) - a.C*s2
}

// Decay sets λ, the decay factor of the annealing momentum (0 ≤ λ < 1,
// default 0.999).
func Decay(lambda float64) Option { return func(c *config) { c.lambda = lambda } }

// AnnealingFit is a fitted Annealing law with bootstrap intervals.
type AnnealingFit struct {
	Law             Annealing
	L0, A, Alpha, C Estimate
	RSS             float64
	N               int
	Level           float64
	s1bar           float64
	res             *result
}

// annealingLaw fits θ = (φ, c, α, C) with features u = ln(S₁/S̄₁) (S̄₁ the
// geometric mean over the data) and S₂: L = φ² + exp(c − α·u) − C·S₂, so
// L₀ = φ² and A = exp(c + α·ln S̄₁).
var annealingLaw = &law{
	np: 4,
	f:  func(th, x []float64) float64 { return th[0]*th[0] + math.Exp(th[1]-th[2]*x[0]) - th[3]*x[1] },
	df: func(g, th, x []float64) {
		e := math.Exp(th[1] - th[2]*x[0])
		g[0], g[1], g[2], g[3] = 2*th[0], e, -x[0]*e, -x[1]
	},
	start: func(xs [][]float64, ys []float64) ([]float64, bool) {
		var best []float64
		bestRSS := math.Inf(1)
		for _, a := range logGrid(1e-3, 4, 160) {
			beta, rss, ok := linearNonNeg(xs, ys, 3, func(dst, x []float64) {
				dst[0], dst[1], dst[2] = 1, math.Exp(-a*x[0]), -x[1]
			})
			if ok && beta[1] > 0 && rss < bestRSS {
				best, bestRSS = []float64{startConst(beta[0], meanAbs(ys)), math.Log(beta[1]), a, beta[2]}, rss
			}
		}
		return best, best != nil
	},
}

// FitAnnealing fits the Annealing law to the losses loss[i] measured after
// steps[i] (1-based, each in [1, len(lr)]) of a run whose learning rate at
// step j+1 was lr[j]: every step's rate is needed, as the areas sum over
// all of them (see Curve.Schedule for filling them from a sparse log).
// Least squares on the loss, with L₀ ≥ 0; at least 4 points, with some
// annealing (S₂ not constant) for C to be determined. The bootstrap
// resamples residuals as if independent, which points along one curve
// are not quite: read the intervals as indicative.
func FitAnnealing(steps []int, loss, lr []float64, opts ...Option) (*AnnealingFit, error) {
	const fn = "FitAnnealing"
	cfg, err := configure(fn, opts)
	if err != nil {
		return nil, err
	}
	if !(cfg.lambda >= 0 && cfg.lambda < 1) {
		return nil, fmt.Errorf("scaling.%s: decay λ = %v, want 0 ≤ λ < 1: %w", fn, cfg.lambda, ErrValue)
	}
	if len(steps) != len(loss) {
		return nil, fmt.Errorf("scaling.%s: %d steps, %d losses: %w", fn, len(steps), len(loss), ErrShape)
	}
	if err := checkFinite(fn, "loss", loss); err != nil {
		return nil, err
	}
	for i, v := range lr {
		if !(v >= 0) || math.IsInf(v, 1) {
			return nil, fmt.Errorf("scaling.%s: lr[%d] = %v, want finite and ≥ 0: %w", fn, i, v, ErrValue)
		}
	}
	s1, s2 := Areas(lr, cfg.lambda)
	for i, s := range steps {
		if s < 1 || s > len(lr) {
			return nil, fmt.Errorf("scaling.%s: steps[%d] = %d outside [1, %d] (the schedule's length): %w", fn, i, s, len(lr), ErrValue)
		}
		if !(s1[s-1] > 0) {
			return nil, fmt.Errorf("scaling.%s: steps[%d] = %d has forward area 0 (learning rate 0 so far): %w", fn, i, s, ErrValue)
		}
	}
	var sum float64
	for _, s := range steps {
		sum += math.Log(s1[s-1])
	}
	s1bar := math.Exp(sum / float64(len(steps)))
	xs := make([][]float64, len(steps))
	for i, s := range steps {
		xs[i] = []float64{math.Log(s1[s-1] / s1bar), s2[s-1]}
	}
	res, err := fit(fn, annealingLaw, xs, loss, cfg)
	if err != nil {
		return nil, err
	}
	public := func(th []float64) []float64 {
		return []float64{th[0] * th[0], math.Exp(th[1] + th[2]*math.Log(s1bar)), th[2], th[3]}
	}
	est := res.estimates(cfg.level, public)
	p := public(res.theta)
	return &AnnealingFit{
		Law: Annealing{L0: p[0], A: p[1], Alpha: p[2], C: p[3], Lambda: cfg.lambda},
		L0:  est[0], A: est[1], Alpha: est[2], C: est[3],
		RSS: res.rss, N: len(steps), Level: cfg.level, s1bar: s1bar, res: res,
	}, nil
}

// Curve returns the fitted loss after every step of a schedule.
func (f *AnnealingFit) Curve(lr []float64) []float64 { return f.Law.Curve(lr) }

// Band returns the bootstrap percentile band of the loss after every step
// of a schedule (lo, hi NaN where the forward area is 0).
func (f *AnnealingFit) Band(lr []float64) (lo, hi []float64) {
	s1, s2 := Areas(lr, f.Law.Lambda)
	lo, hi = make([]float64, len(lr)), make([]float64, len(lr))
	for i := range lr {
		if !(s1[i] > 0) {
			lo[i], hi[i] = math.NaN(), math.NaN()
			continue
		}
		lo[i], hi[i] = f.res.band(annealingLaw, []float64{math.Log(s1[i] / f.s1bar), s2[i]}, f.Level)
	}
	return lo, hi
}
