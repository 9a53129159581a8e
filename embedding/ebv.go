package embedding

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// GenerateEBV returns c unit vectors of dimension d, row-major [c, d],
// whose pairwise cosines are at most alpha in absolute value — the
// equiangular basis vectors of catalog B22 (Shen et al., "Equiangular
// Basis Vectors", 2023) — and the largest |cosine| reached.
//
// For c ≤ d the vectors are an exactly orthonormal random basis (Gaussian
// rows, modified Gram–Schmidt applied twice), which meets any α ≥ 0; the
// paper's SGD would approach the same thing. For c > d the paper's
// procedure runs: minimise Σ_{i≠j} max(0, |⟨w_i, w_j⟩| − α) by gradient
// steps of size 10⁻³ (∂/∂w_i = Σ_{j: |cos_ij| > α} sign(cos_ij)·w_j),
// renormalising the rows after each step, until max |cos| ≤ α + 10⁻⁴ or
// maxSteps steps (0 means the paper's 100000). An α below the Welch bound
// √((c−d)/(d(c−1))), which no set of c vectors in d dimensions can meet,
// and a run that does not converge are errors. The same seed gives the
// same vectors.
func GenerateEBV(c, d int, alpha float64, seed uint64, maxSteps int) ([]float64, float64, error) {
	if c < 1 || d < 1 {
		return nil, 0, fmt.Errorf("GenerateEBV: c = %d, d = %d, want ≥ 1: %w", c, d, ErrShape)
	}
	if !(alpha >= 0 && alpha < 1) {
		return nil, 0, fmt.Errorf("GenerateEBV: alpha = %v, want 0 ≤ α < 1: %w", alpha, ErrValue)
	}
	rng := rand.New(rand.NewPCG(seed, 0xEB5))
	w := make([]float64, c*d)
	for i := range w {
		w[i] = rng.NormFloat64()
	}
	if c <= d {
		for pass := 0; pass < 2; pass++ {
			for i := 0; i < c; i++ {
				wi := w[i*d : (i+1)*d]
				for j := 0; j < i; j++ {
					wj := w[j*d : (j+1)*d]
					axpy(wi, wj, -dotp(wi, wj))
				}
				nr := norm(wi)
				for k := range wi {
					wi[k] /= nr
				}
			}
		}
		return w, maxCos(w, d), nil
	}
	if welch := math.Sqrt(float64(c-d) / float64(d*(c-1))); alpha < welch {
		return nil, 0, fmt.Errorf("GenerateEBV: alpha = %v is below the Welch bound %.6g for %d vectors in %d dimensions: %w", alpha, welch, c, d, ErrValue)
	}
	if maxSteps <= 0 {
		maxSteps = 100000
	}
	normalizeRows(w, d)
	const lr = 1e-3
	g := make([]float64, len(w))
	got := maxCos(w, d)
	for step := 0; step < maxSteps && got > alpha+1e-4; step++ {
		for i := range g {
			g[i] = 0
		}
		for i := 0; i < c; i++ {
			for j := i + 1; j < c; j++ {
				cs := dotp(w[i*d:(i+1)*d], w[j*d:(j+1)*d])
				if math.Abs(cs) <= alpha {
					continue
				}
				sg := math.Copysign(1, cs)
				axpy(g[i*d:(i+1)*d], w[j*d:(j+1)*d], sg)
				axpy(g[j*d:(j+1)*d], w[i*d:(i+1)*d], sg)
			}
		}
		axpy(w, g, -lr)
		normalizeRows(w, d)
		got = maxCos(w, d)
	}
	if got > alpha+1e-4 {
		return nil, got, fmt.Errorf("GenerateEBV: reached max |cos| = %.6g after %d steps, want ≤ %v: %w", got, maxSteps, alpha, ErrValue)
	}
	return w, got, nil
}

func normalizeRows(w []float64, d int) {
	for r := 0; r < len(w)/d; r++ {
		row := w[r*d : (r+1)*d]
		nr := norm(row)
		for k := range row {
			row[k] /= nr
		}
	}
}

// maxCos returns the largest |⟨w_i, w_j⟩|, i ≠ j, of unit rows.
func maxCos(w []float64, d int) float64 {
	c := len(w) / d
	var m float64
	for i := 0; i < c; i++ {
		for j := i + 1; j < c; j++ {
			m = max(m, math.Abs(dotp(w[i*d:(i+1)*d], w[j*d:(j+1)*d])))
		}
	}
	return m
}

func init() {
	Register(Spec{
		Name:    "ebv",
		Catalog: "B22",
		Summary: "cosine cross-entropy against fixed equiangular basis vectors (generated when not given)",
		Needs:   NeedsLabels | AcceptsClasses,
		Params: []Param{{"temperature", 0.07, "τ > 0"}, {"smoothing", 0, "label smoothing ε"},
			{"alpha", 0.002, "max |cos| between basis vectors"}, {"seed", 42, "generator seed"}},
		New: func(p map[string]float64) (Loss, error) {
			seed, err := count(p, "seed", 0)
			if err != nil {
				return nil, err
			}
			return NewEBV(p["temperature"], p["smoothing"], p["alpha"], uint64(seed))
		},
	})
}
