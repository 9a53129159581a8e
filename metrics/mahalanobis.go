package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/xentlab/xent/internal/par"
)

// Mahalanobis is the class-conditional Gaussian model with a tied
// covariance of Lee et al. (2018), "A Simple Unified Framework for
// Detecting Out-of-Distribution Samples and Adversarial Attacks" (A29):
// class means μ_c and one covariance Σ shared by all classes, fitted on
// in-distribution features. Its confidence score for a feature vector x is
//
//	M(x) = max_c −(x − μ_c)ᵀ Σ⁻¹ (x − μ_c),
//
// higher for in-distribution inputs (the official code reports −½ of the
// squared distance; the ordering is the same). −½d²_c are the logits of
// the matching linear discriminant classifier.
//
// Σ⁻¹ is applied through a whitening map from the eigendecomposition
// Σ = VΛVᵀ: d²_c = ‖Λ^{−½}Vᵀx − Λ^{−½}Vᵀμ_c‖², computed as a sum of
// squares of differences (no cancellation between large terms). Eigen-
// values at most Dim·2⁻⁵²·λ_max are dropped, which makes Σ⁻¹ the
// Moore–Penrose pseudo-inverse when Σ is singular (more feature
// dimensions than examples, or constant features).
type Mahalanobis struct {
	Dim, Classes int
	// Means holds the class means, Classes × Dim row-major.
	Means []float64
	// Cov is the tied covariance, Dim × Dim row-major (after shrinkage).
	Cov []float64

	white  *mat.Dense // r × Dim whitening map Λ^{−½}Vᵀ
	wmeans []float64  // Classes × r whitened means
}

// FitMahalanobis estimates the class means and the tied covariance
//
//	Σ = (1/N) Σ_i (x_i − μ_{y_i})(x_i − μ_{y_i})ᵀ
//
// (the maximum-likelihood estimate, as sklearn's EmpiricalCovariance in the
// official code) from N feature rows of dim columns and their labels in
// [0, classes), in float64. Every class needs at least one example.
// shrinkage λ in [0, 1] replaces Σ by (1 − λ)Σ + λ·(tr Σ/dim)·I, which
// helps when features outnumber examples; 0 leaves Σ as estimated.
func FitMahalanobis(features []float64, dim int, labels []int32, classes int, shrinkage float64) (*Mahalanobis, error) {
	cs, err := classStats("FitMahalanobis", features, dim, labels, classes)
	if err != nil {
		return nil, err
	}
	if !(shrinkage >= 0 && shrinkage <= 1) {
		return nil, fmt.Errorf("metrics.FitMahalanobis: shrinkage %v outside [0, 1]: %w", shrinkage, ErrValue)
	}
	cov := cs.withinCov()
	if shrinkage > 0 {
		tr := 0.0
		for i := 0; i < dim; i++ {
			tr += cov[i*dim+i]
		}
		for i := range cov {
			cov[i] *= 1 - shrinkage
		}
		for i := 0; i < dim; i++ {
			cov[i*dim+i] += shrinkage * tr / float64(dim)
		}
	}
	return NewMahalanobis(cs.means, cov, dim, classes)
}

// NewMahalanobis builds the model from given class means (classes × dim)
// and a symmetric positive semi-definite covariance (dim × dim).
func NewMahalanobis(means, cov []float64, dim, classes int) (*Mahalanobis, error) {
	if dim < 1 || classes < 1 {
		return nil, fmt.Errorf("metrics.NewMahalanobis: dim = %d, classes = %d, want both ≥ 1: %w", dim, classes, ErrShape)
	}
	if len(means) != classes*dim || len(cov) != dim*dim {
		return nil, fmt.Errorf("metrics.NewMahalanobis: %d means and %d covariance entries for %d classes of dim %d: %w", len(means), len(cov), classes, dim, ErrShape)
	}
	if err := finite("NewMahalanobis", "mean", means); err != nil {
		return nil, err
	}
	if err := finite("NewMahalanobis", "covariance", cov); err != nil {
		return nil, err
	}
	sym := mat.NewSymDense(dim, nil)
	for i := 0; i < dim; i++ {
		for j := i; j < dim; j++ {
			if math.Abs(cov[i*dim+j]-cov[j*dim+i]) > 1e-9*(math.Abs(cov[i*dim+j])+math.Abs(cov[j*dim+i])+1e-300) {
				return nil, fmt.Errorf("metrics.NewMahalanobis: covariance not symmetric at (%d, %d): %w", i, j, ErrValue)
			}
			sym.SetSym(i, j, cov[i*dim+j])
		}
	}
	white, err := whitening("NewMahalanobis", sym)
	if err != nil {
		return nil, err
	}
	r, _ := white.Dims()
	m := &Mahalanobis{
		Dim: dim, Classes: classes,
		Means: append([]float64(nil), means...), Cov: append([]float64(nil), cov...),
		white: white, wmeans: make([]float64, classes*r),
	}
	for c := 0; c < classes; c++ {
		m.whiten(m.wmeans[c*r:(c+1)*r], means[c*dim:(c+1)*dim])
	}
	return m, nil
}

// whitening returns Λ_+^{−½}V_+ᵀ for the eigenvalues of s above the
// pseudo-inverse cutoff; it fails if s has a clearly negative eigenvalue
// or is zero.
func whitening(fn string, s *mat.SymDense) (*mat.Dense, error) {
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return nil, fmt.Errorf("metrics.%s: eigendecomposition of the covariance failed: %w", fn, ErrValue)
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	n := len(vals)
	top := 0.0
	for _, v := range vals {
		top = max(top, math.Abs(v))
	}
	if top == 0 {
		return nil, fmt.Errorf("metrics.%s: covariance is zero: %w", fn, ErrValue)
	}
	cut := float64(n) * 0x1p-52 * top
	var keep []int
	for i, v := range vals {
		if v < -cut*1e3 {
			return nil, fmt.Errorf("metrics.%s: covariance has a negative eigenvalue %v: %w", fn, v, ErrValue)
		}
		if v > cut {
			keep = append(keep, i)
		}
	}
	w := mat.NewDense(len(keep), n, nil)
	for r, i := range keep {
		s := 1 / math.Sqrt(vals[i])
		for j := 0; j < n; j++ {
			w.Set(r, j, s*vecs.At(j, i))
		}
	}
	return w, nil
}

// whiten sets dst = Λ^{−½}Vᵀx.
func (m *Mahalanobis) whiten(dst, x []float64) {
	r, _ := m.white.Dims()
	for i := 0; i < r; i++ {
		row := m.white.RawRowView(i)
		var s float64
		for j, v := range x {
			s += row[j] * v
		}
		dst[i] = s
	}
}

// Distances writes the squared Mahalanobis distances d²_c = (x − μ_c)ᵀ
// Σ⁻¹ (x − μ_c) of one feature vector x (Dim values) to every class into
// dst (Classes values).
func (m *Mahalanobis) Distances(dst, x []float64) error {
	if len(x) != m.Dim || len(dst) != m.Classes {
		return fmt.Errorf("metrics.Mahalanobis.Distances: len(x) = %d, len(dst) = %d, want %d and %d: %w", len(x), len(dst), m.Dim, m.Classes, ErrShape)
	}
	if err := finite("Mahalanobis.Distances", "feature", x); err != nil {
		return err
	}
	r, _ := m.white.Dims()
	w := make([]float64, r)
	m.distances(dst, x, w)
	return nil
}

func (m *Mahalanobis) distances(dst, x, w []float64) {
	m.whiten(w, x)
	r := len(w)
	for c := range dst {
		mu := m.wmeans[c*r : (c+1)*r]
		var s float64
		for j, v := range w {
			d := v - mu[j]
			s += d * d
		}
		dst[c] = s
	}
}

// Scores returns M(x) = max_c −d²_c for every row of a feature matrix
// (Dim columns), in parallel over rows.
func (m *Mahalanobis) Scores(features []float64, opts ...Option) ([]float64, error) {
	cfg, err := configure("Mahalanobis.Scores", opts)
	if err != nil {
		return nil, err
	}
	rows, err := checkShape("Mahalanobis.Scores", len(features), m.Dim, nil, false)
	if err != nil {
		return nil, err
	}
	if err := finite("Mahalanobis.Scores", "feature", features); err != nil {
		return nil, err
	}
	out := make([]float64, rows)
	r, _ := m.white.Dims()
	grain := max(1, 4096/(m.Dim+m.Classes))
	par.For(rows, grain, par.Threads(cfg.threads), func(_, lo, hi int) {
		w := make([]float64, r)
		d := make([]float64, m.Classes)
		for i := lo; i < hi; i++ {
			m.distances(d, features[i*m.Dim:(i+1)*m.Dim], w)
			best := math.Inf(1)
			for _, v := range d {
				best = min(best, v)
			}
			out[i] = -best
		}
	})
	return out, nil
}

// finite reports the first non-finite value of x as an error.
func finite(fn, what string, x []float64) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("metrics.%s: %s value %d is %v: %w", fn, what, i, v, ErrValue)
		}
	}
	return nil
}
