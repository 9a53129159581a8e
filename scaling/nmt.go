package scaling

import (
	"fmt"
	"math"
)

// NMT is the bivariate law of Ghorbani et al. (2021), "Scaling Laws for
// Neural Machine Translation" (catalog A6), for the test cross-entropy of
// an encoder–decoder model with N_e encoder and N_d decoder parameters:
//
//	L(N_e, N_d) = α·(N̄_e/N_e)^{p_e}·(N̄_d/N_d)^{p_d} + L∞,
//
// with N̄_e, N̄_d fixed normalisation constants (α is relative to them).
// For a fixed total B = N_e + N_d the loss is least at N_e/N_d = p_e/p_d,
// and along that split the reducible loss falls as B^{−(p_e+p_d)}.
type NMT struct {
	Alpha, Pe, Pd, Linf float64
	NeBar, NdBar        float64
}

// Predict returns L(ne, nd), the powers evaluated through logarithms.
func (m NMT) Predict(ne, nd float64) float64 {
	return m.Linf + m.Alpha*math.Exp(m.Pe*math.Log(m.NeBar/ne)+m.Pd*math.Log(m.NdBar/nd))
}

// OptimalSplit returns the encoder and decoder sizes with the least loss
// for a total of b parameters: N_e = b·p_e/(p_e + p_d) (the Lagrange
// condition on the log of the product). It needs p_e, p_d > 0.
func (m NMT) OptimalSplit(b float64) (ne, nd float64) {
	ne = b * m.Pe / (m.Pe + m.Pd)
	return ne, b - ne
}

// NMTFit is a fitted NMT law with bootstrap intervals.
type NMTFit struct {
	Law                 NMT
	Alpha, Pe, Pd, Linf Estimate
	RSS                 float64
	N                   int
	Level               float64
	ge, gd              float64 // geometric means of the data
	res                 *result
}

// nmtLaw fits θ = (φ, c, p_e, p_d) with features u_e = ln(G_e/N_e),
// u_d = ln(G_d/N_d), G the geometric means of the data:
// L = φ² + exp(c + p_e·u_e + p_d·u_d), L∞ = φ².
var nmtLaw = &law{
	np: 4,
	f:  func(th, x []float64) float64 { return th[0]*th[0] + math.Exp(th[1]+th[2]*x[0]+th[3]*x[1]) },
	df: func(g, th, x []float64) {
		e := math.Exp(th[1] + th[2]*x[0] + th[3]*x[1])
		g[0], g[1], g[2], g[3] = 2*th[0], e, x[0]*e, x[1]*e
	},
	start: func(xs [][]float64, ys []float64) ([]float64, bool) {
		var best []float64
		bestRSS := math.Inf(1)
		grid := append([]float64{0}, logGrid(1e-3, 3, 24)...)
		for _, pe := range grid {
			for _, pd := range grid {
				beta, rss, ok := linearNonNeg(xs, ys, 2, func(dst, x []float64) {
					dst[0], dst[1] = 1, math.Exp(pe*x[0]+pd*x[1])
				})
				if ok && beta[1] > 0 && rss < bestRSS {
					best, bestRSS = []float64{startConst(beta[0], meanAbs(ys)), math.Log(beta[1]), pe, pd}, rss
				}
			}
		}
		return best, best != nil
	},
}

// NormalizeBy sets the constants N̄_e and N̄_d of the NMT law (default: the
// geometric means of the data's N_e and N_d).
func NormalizeBy(neBar, ndBar float64) Option {
	return func(c *config) { c.ne, c.nd = neBar, ndBar }
}

// FitNMT fits the NMT law to points (ne[i], nd[i], loss[i]) by least
// squares on the loss (at least 4 points spanning both sizes; sizes > 0),
// with L∞ ≥ 0. The starting grid covers p_e, p_d in {0} ∪ [0.001, 3].
func FitNMT(ne, nd, loss []float64, opts ...Option) (*NMTFit, error) {
	const fn = "FitNMT"
	cfg, err := configure(fn, opts)
	if err != nil {
		return nil, err
	}
	if len(ne) != len(loss) || len(nd) != len(loss) {
		return nil, fmt.Errorf("scaling.%s: %d encoder sizes, %d decoder sizes, %d losses: %w", fn, len(ne), len(nd), len(loss), ErrShape)
	}
	if err := checkPositive(fn, "ne", ne); err != nil {
		return nil, err
	}
	if err := checkPositive(fn, "nd", nd); err != nil {
		return nil, err
	}
	if err := checkFinite(fn, "loss", loss); err != nil {
		return nil, err
	}
	ge, gd := geoMean(ne), geoMean(nd)
	neBar, ndBar := cfg.ne, cfg.nd
	if neBar == 0 && ndBar == 0 {
		neBar, ndBar = ge, gd
	}
	if err := checkPositive(fn, "normalisation", []float64{neBar, ndBar}); err != nil {
		return nil, err
	}
	xs := make([][]float64, len(loss))
	for i := range xs {
		xs[i] = []float64{math.Log(ge / ne[i]), math.Log(gd / nd[i])}
	}
	res, err := fit(fn, nmtLaw, xs, loss, cfg)
	if err != nil {
		return nil, err
	}
	// α(N̄_e/N_e)^{p_e}(N̄_d/N_d)^{p_d} = exp(c + p_e u_e + p_d u_d) gives
	// α = exp(c + p_e ln(G_e/N̄_e) + p_d ln(G_d/N̄_d)).
	public := func(th []float64) []float64 {
		return []float64{math.Exp(th[1] + th[2]*math.Log(ge/neBar) + th[3]*math.Log(gd/ndBar)), th[2], th[3], th[0] * th[0]}
	}
	est := res.estimates(cfg.level, public)
	p := public(res.theta)
	return &NMTFit{
		Law:   NMT{Alpha: p[0], Pe: p[1], Pd: p[2], Linf: p[3], NeBar: neBar, NdBar: ndBar},
		Alpha: est[0], Pe: est[1], Pd: est[2], Linf: est[3],
		RSS: res.rss, N: len(loss), Level: cfg.level, ge: ge, gd: gd, res: res,
	}, nil
}

// Predict returns the fitted L(ne, nd).
func (f *NMTFit) Predict(ne, nd float64) float64 { return f.Law.Predict(ne, nd) }

// Band returns the bootstrap percentile band of L(ne, nd).
func (f *NMTFit) Band(ne, nd float64) (lo, hi float64) {
	return f.res.band(nmtLaw, []float64{math.Log(f.ge / ne), math.Log(f.gd / nd)}, f.Level)
}
