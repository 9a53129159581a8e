package scaling

import (
	"fmt"
	"math"
)

// PowerLaw is the power law plus constant of Henighan et al. (2020),
// "Scaling Laws for Autoregressive Generative Modeling" (catalog A12):
//
//	L(N) = L∞ + (N₀/N)^α,
//
// with N a model size, a data size or a compute budget, L∞ the
// irreducible loss (the entropy of the data) and L − L∞ the reducible
// part (the KL divergence of the model from the data).
type PowerLaw struct {
	Linf, N0, Alpha float64
}

// Predict returns L(n) for n > 0, evaluating (N₀/n)^α as
// exp(α·(ln N₀ − ln n)) (a few ulp).
func (p PowerLaw) Predict(n float64) float64 {
	return p.Linf + math.Exp(p.Alpha*(math.Log(p.N0)-math.Log(n)))
}

// PowerLawFit is a fitted PowerLaw with bootstrap intervals.
type PowerLawFit struct {
	Law             PowerLaw // the least-squares estimate
	Linf, N0, Alpha Estimate
	RSS             float64 // residual sum of squares of the estimate
	N               int     // number of points
	Level           float64 // confidence level of the intervals
	nbar            float64
	res             *result
}

// powerLaw is PowerLaw in fitting coordinates: θ = (φ, c, α) and the
// feature u = ln(N/N̄), with N̄ the geometric mean of the data, so that
// L = φ² + exp(c − α·u), L∞ = φ² and N₀ = N̄·exp(c/α). Centring u keeps c
// and α nearly uncorrelated.
var powerLaw = &law{
	np: 3,
	f:  func(th, x []float64) float64 { return th[0]*th[0] + math.Exp(th[1]-th[2]*x[0]) },
	df: func(g, th, x []float64) {
		e := math.Exp(th[1] - th[2]*x[0])
		g[0], g[1], g[2] = 2*th[0], e, -x[0]*e
	},
	start: func(xs [][]float64, ys []float64) ([]float64, bool) {
		var best []float64
		bestRSS := math.Inf(1)
		for _, a := range logGrid(1e-3, 4, 160) {
			beta, rss, ok := linearNonNeg(xs, ys, 2, func(dst, x []float64) {
				dst[0], dst[1] = 1, math.Exp(-a*x[0])
			})
			if ok && beta[1] > 0 && rss < bestRSS {
				best, bestRSS = []float64{startConst(beta[0], meanAbs(ys)), math.Log(beta[1]), a}, rss
			}
		}
		return best, best != nil
	},
}

// FitPowerLaw fits L(N) = L∞ + (N₀/N)^α to points (n[i], loss[i]) by least
// squares on the loss (at least 3 points, n > 0, finite losses that fall
// with n so that the reducible term is positive), with L∞ ≥ 0 (it is an
// entropy; the fit may sit on L∞ = 0, a pure power law, when the data do
// not show the floor). α is not constrained; the starting grid covers α
// in [0.001, 4].
func FitPowerLaw(n, loss []float64, opts ...Option) (*PowerLawFit, error) {
	const fn = "FitPowerLaw"
	cfg, err := configure(fn, opts)
	if err != nil {
		return nil, err
	}
	if len(n) != len(loss) {
		return nil, fmt.Errorf("scaling.%s: %d sizes, %d losses: %w", fn, len(n), len(loss), ErrShape)
	}
	if err := checkPositive(fn, "n", n); err != nil {
		return nil, err
	}
	if err := checkFinite(fn, "loss", loss); err != nil {
		return nil, err
	}
	nbar := geoMean(n)
	xs := make([][]float64, len(n))
	for i, v := range n {
		xs[i] = []float64{math.Log(v / nbar)}
	}
	res, err := fit(fn, powerLaw, xs, loss, cfg)
	if err != nil {
		return nil, err
	}
	public := func(th []float64) []float64 { return []float64{th[0] * th[0], nbar * math.Exp(th[1]/th[2]), th[2]} }
	est := res.estimates(cfg.level, public)
	p := public(res.theta)
	return &PowerLawFit{
		Law:  PowerLaw{p[0], p[1], p[2]},
		Linf: est[0], N0: est[1], Alpha: est[2],
		RSS: res.rss, N: len(n), Level: cfg.level, nbar: nbar, res: res,
	}, nil
}

// Predict returns the fitted L(n).
func (f *PowerLawFit) Predict(n float64) float64 { return f.Law.Predict(n) }

// Band returns the bootstrap percentile band of L(n) at the fit's level:
// the spread of the fitted curve (not of new measurements), which widens
// as n leaves the range of the data.
func (f *PowerLawFit) Band(n float64) (lo, hi float64) {
	return f.res.band(powerLaw, []float64{math.Log(n / f.nbar)}, f.Level)
}
