package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// stats holds class means of a feature matrix.
type stats struct {
	dim, classes int
	n            int
	means        []float64 // classes × dim
	global       []float64 // mean of all rows
	counts       []int
	features     []float64
	labels       []int32
}

// classStats validates a feature matrix with labels and computes the class
// means (compensated sums) and the global mean of all rows.
func classStats(fn string, features []float64, dim int, labels []int32, classes int) (*stats, error) {
	if classes < 1 {
		return nil, fmt.Errorf("metrics.%s: %d classes, want ≥ 1: %w", fn, classes, ErrValue)
	}
	rows, err := checkShape(fn, len(features), dim, labels, true)
	if err != nil {
		return nil, err
	}
	if rows == 0 {
		return nil, fmt.Errorf("metrics.%s: no feature rows: %w", fn, ErrEmpty)
	}
	if err := finite(fn, "feature", features); err != nil {
		return nil, err
	}
	s := &stats{dim: dim, classes: classes, n: rows, counts: make([]int, classes), features: features, labels: labels}
	sums := make([]ksum, classes*dim)
	all := make([]ksum, dim)
	for i, y := range labels {
		if y < 0 || int(y) >= classes {
			return nil, fmt.Errorf("metrics.%s: label %d of row %d outside [0, %d): %w", fn, y, i, classes, ErrValue)
		}
		s.counts[y]++
		row := features[i*dim : (i+1)*dim]
		for j, v := range row {
			sums[int(y)*dim+j].add(v)
			all[j].add(v)
		}
	}
	s.means = make([]float64, classes*dim)
	s.global = make([]float64, dim)
	for c, n := range s.counts {
		if n == 0 {
			return nil, fmt.Errorf("metrics.%s: class %d has no examples: %w", fn, c, ErrValue)
		}
		for j := 0; j < dim; j++ {
			s.means[c*dim+j] = sums[c*dim+j].value() / float64(n)
		}
	}
	for j := range all {
		s.global[j] = all[j].value() / float64(rows)
	}
	return s, nil
}

// withinCov returns Σ_W = (1/N) Σ_i (x_i − μ_{y_i})(x_i − μ_{y_i})ᵀ,
// dim × dim row-major, accumulated as DᵀD over chunks D of centred rows.
func (s *stats) withinCov() []float64 {
	const chunk = 1024
	d := s.dim
	cov := mat.NewSymDense(d, nil)
	dev := make([]float64, chunk*d)
	for lo := 0; lo < s.n; lo += chunk {
		hi := min(s.n, lo+chunk)
		for i := lo; i < hi; i++ {
			y := int(s.labels[i])
			row := s.features[i*d : (i+1)*d]
			mu := s.means[y*d : (y+1)*d]
			out := dev[(i-lo)*d : (i-lo+1)*d]
			for j := range out {
				out[j] = row[j] - mu[j]
			}
		}
		cov.SymRankK(cov, 1, mat.NewDense(hi-lo, d, dev[:(hi-lo)*d]).T())
	}
	out := make([]float64, d*d)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			out[i*d+j] = cov.At(i, j) / float64(s.n)
		}
	}
	return out
}

// Collapse holds the neural-collapse measures of A13 (Papyan, Han &
// Donoho 2020, as computed by the official code of "Neural Collapse in
// Deep Linear Networks"), for K classes with class means μ_c, global mean
// μ_G (the mean of all N feature rows), H̄ the K × d matrix of rows
// μ_c − μ_G, classifier weights W (K × d) and the simplex ETF Gram
// E = (I_K − 11ᵀ/K)/√(K − 1):
//
//	NC1         = (1/K)·tr(Σ_W Σ_B†), Σ_W = (1/N)Σ_i (h_i − μ_{y_i})(h_i − μ_{y_i})ᵀ,
//	              Σ_B = (1/K)Σ_c (μ_c − μ_G)(μ_c − μ_G)ᵀ, † the pseudo-inverse
//	NC2         = ‖WWᵀ/‖WWᵀ‖_F − E‖_F          (W to a simplex ETF)
//	NC2Identity = ‖WWᵀ/‖WWᵀ‖_F − I_K/√K‖_F     (W to an orthogonal frame)
//	NC2Means    = ‖H̄H̄ᵀ/‖H̄H̄ᵀ‖_F − E‖_F          (the centred means to a simplex ETF)
//	NC3         = ‖WH̄ᵀ/‖WH̄ᵀ‖_F − E‖_F          (self-duality of W and the means)
//	NC3Dual     = ‖W/‖W‖_F − H̄/‖H̄‖_F‖_F
//
// All are 0 at perfect collapse. Computed in float64; Σ_B† drops
// eigenvalues at most d·2⁻⁵²·λ_max (Σ_B has rank ≤ K − 1).
type Collapse struct {
	NC1, NC2, NC2Identity, NC2Means, NC3, NC3Dual float64
}

// NeuralCollapse computes the Collapse measures from penultimate features
// (N × dim row-major) with labels in [0, classes) and classifier weights
// (classes × dim row-major). It needs at least 2 classes, every class
// present, and non-zero weights and centred means.
func NeuralCollapse(features []float64, dim int, labels []int32, classes int, weights []float64) (Collapse, error) {
	if classes < 2 {
		return Collapse{}, fmt.Errorf("metrics.NeuralCollapse: %d classes, want ≥ 2: %w", classes, ErrValue)
	}
	s, err := classStats("NeuralCollapse", features, dim, labels, classes)
	if err != nil {
		return Collapse{}, err
	}
	if len(weights) != classes*dim {
		return Collapse{}, fmt.Errorf("metrics.NeuralCollapse: %d weights for %d classes of dim %d: %w", len(weights), classes, dim, ErrShape)
	}
	if err := finite("NeuralCollapse", "weight", weights); err != nil {
		return Collapse{}, err
	}
	var c Collapse
	if c.NC1, err = s.nc1(); err != nil {
		return Collapse{}, err
	}
	h := s.centredMeans()
	if c.NC2, err = NC2(weights, classes, dim); err != nil {
		return Collapse{}, err
	}
	if c.NC2Identity, err = gramDistance("NeuralCollapse", weights, weights, classes, dim, false); err != nil {
		return Collapse{}, err
	}
	if c.NC2Means, err = NC2(h, classes, dim); err != nil {
		return Collapse{}, fmt.Errorf("metrics.NeuralCollapse: class means: %w", err)
	}
	if c.NC3, err = NC3(weights, h, classes, dim); err != nil {
		return Collapse{}, err
	}
	c.NC3Dual = frobDistance(weights, h)
	return c, nil
}

// centredMeans returns H̄, the rows μ_c − μ_G.
func (s *stats) centredMeans() []float64 {
	h := make([]float64, len(s.means))
	for c := 0; c < s.classes; c++ {
		for j := 0; j < s.dim; j++ {
			h[c*s.dim+j] = s.means[c*s.dim+j] - s.global[j]
		}
	}
	return h
}

// nc1 returns (1/K) tr(Σ_W Σ_B†) = (1/K) Σ_i v_iᵀ Σ_W v_i / λ_i over the
// eigenpairs of Σ_B above the cutoff.
func (s *stats) nc1() (float64, error) {
	d, k := s.dim, s.classes
	h := s.centredMeans()
	sb := mat.NewSymDense(d, nil)
	sb.SymOuterK(1/float64(k), mat.NewDense(k, d, h).T())
	var eig mat.EigenSym
	if !eig.Factorize(sb, true) {
		return 0, fmt.Errorf("metrics.NeuralCollapse: eigendecomposition of Σ_B failed: %w", ErrValue)
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	top := 0.0
	for _, v := range vals {
		top = max(top, math.Abs(v))
	}
	if top == 0 {
		return 0, fmt.Errorf("metrics.NeuralCollapse: all class means are equal (Σ_B = 0): %w", ErrValue)
	}
	cut := float64(d) * 0x1p-52 * top
	sw := mat.NewSymDense(d, s.withinCov())
	var tr ksum
	v := mat.NewVecDense(d, nil)
	for i, lam := range vals {
		if lam <= cut {
			continue
		}
		v.CopyVec(vecs.ColView(i))
		tr.add(mat.Inner(v, sw, v) / lam)
	}
	return tr.value() / float64(k), nil
}

// NC2 returns ‖MMᵀ/‖MMᵀ‖_F − (I_K − 11ᵀ/K)/√(K − 1)‖_F for a K × d matrix M
// (rows: classifier weights, or centred class means), the distance of its
// normalised Gram matrix to that of a simplex equiangular tight frame; 0
// exactly for a simplex ETF (up to rotation and scale). K ≥ 2.
func NC2(m []float64, classes, dim int) (float64, error) {
	return gramDistance("NC2", m, m, classes, dim, true)
}

// NC3 returns ‖WH̄ᵀ/‖WH̄ᵀ‖_F − (I_K − 11ᵀ/K)/√(K − 1)‖_F for weights W and
// centred class means H̄ (both K × d row-major): 0 when the classifier is
// aligned with the means and both form a simplex ETF. K ≥ 2.
func NC3(weights, centredMeans []float64, classes, dim int) (float64, error) {
	return gramDistance("NC3", weights, centredMeans, classes, dim, true)
}

// gramDistance returns ‖ABᵀ/‖ABᵀ‖_F − G‖_F with G the simplex ETF Gram
// (etf) or I_K/√K.
func gramDistance(fn string, a, b []float64, k, d int, etf bool) (float64, error) {
	if k < 2 || d < 1 {
		return 0, fmt.Errorf("metrics.%s: %d classes of dim %d, want ≥ 2 classes: %w", fn, k, d, ErrValue)
	}
	if len(a) != k*d || len(b) != k*d {
		return 0, fmt.Errorf("metrics.%s: %d and %d values for %d × %d matrices: %w", fn, len(a), len(b), k, d, ErrShape)
	}
	var g mat.Dense
	g.Mul(mat.NewDense(k, d, a), mat.NewDense(k, d, b).T())
	norm := mat.Norm(&g, 2)
	if norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return 0, fmt.Errorf("metrics.%s: product matrix has Frobenius norm %v: %w", fn, norm, ErrValue)
	}
	var s ksum
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			var t float64
			if etf {
				t = -1 / float64(k)
				if i == j {
					t += 1
				}
				t /= math.Sqrt(float64(k - 1))
			} else if i == j {
				t = 1 / math.Sqrt(float64(k))
			}
			e := g.At(i, j)/norm - t
			s.add(e * e)
		}
	}
	return math.Sqrt(s.value()), nil
}

// frobDistance returns ‖A/‖A‖_F − B/‖B‖_F‖_F (0 if either is zero).
func frobDistance(a, b []float64) float64 {
	var na, nb ksum
	for i := range a {
		na.add(a[i] * a[i])
		nb.add(b[i] * b[i])
	}
	sa, sb := math.Sqrt(na.value()), math.Sqrt(nb.value())
	if sa == 0 || sb == 0 {
		return 0
	}
	var s ksum
	for i := range a {
		d := a[i]/sa - b[i]/sb
		s.add(d * d)
	}
	return math.Sqrt(s.value())
}
