package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestCollapseCatalog uses the test vectors of catalog A13.
func TestCollapseCatalog(t *testing.T) {
	// Class 0 {(3,1), (1,−1)}, class 1 {(−1,1), (−3,−1)}: Σ_W = [[1,1],[1,1]],
	// Σ_B = [[4,0],[0,0]], NC1 = 0.125; H̄ rows (2,0), (−2,0).
	feats := []float64{3, 1, 1, -1, -1, 1, -3, -1}
	labels := []int32{0, 0, 1, 1}
	c, err := NeuralCollapse(feats, 2, labels, 2, []float64{1, 0, -1, 0})
	if err != nil {
		t.Fatal(err)
	}
	if !closeTo(c.NC1, 0.125, 1e-14, 0) || !closeTo(c.NC2, 0, 0, 1e-15) || !closeTo(c.NC3, 0, 0, 1e-15) ||
		!closeTo(c.NC2Means, 0, 0, 1e-15) || !closeTo(c.NC3Dual, 0, 0, 1e-15) {
		t.Errorf("collapse = %+v", c)
	}
	s3 := math.Sqrt(3) / 2
	for _, tc := range []struct {
		w    []float64
		k    int
		want float64
	}{
		{[]float64{1, 0, -1, 0}, 2, 0},
		{[]float64{1, 0, 0, 1}, 2, 0.765366865},
		{[]float64{1, 0, -0.5, s3, -0.5, -s3}, 3, 0},
		{[]float64{1, 0, 0, 1, 1, 1}, 3, 1.18478488},
	} {
		got, err := NC2(tc.w, tc.k, 2)
		if err != nil || !closeTo(got, tc.want, 1e-8, 1e-12) {
			t.Errorf("NC2(%v) = %v, %v; want %v", tc.w, got, err, tc.want)
		}
	}
	hbar := []float64{2, 0, -2, 0}
	if got, _ := NC3([]float64{1, 1, 0, 1}, hbar, 2, 2); !closeTo(got, 0.765366865, 1e-8, 0) {
		t.Errorf("NC3 = %v, want 0.765366865", got)
	}
	// NC2 identity variant: W = I₂ is an orthogonal frame.
	c, _ = NeuralCollapse(feats, 2, labels, 2, []float64{1, 0, 0, 1})
	if !closeTo(c.NC2Identity, 0, 0, 1e-15) || !closeTo(c.NC2, 0.765366865, 1e-8, 0) {
		t.Errorf("W = I: %+v", c)
	}
}

// TestNC1Reference checks NC1 on random data against tr(Σ_W Σ_B⁻¹)/K
// computed with an explicit 2 × 2 inverse.
func TestNC1Reference(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	k, n := 3, 60
	var feats []float64
	var labels []int32
	for i := 0; i < n; i++ {
		y := i % k
		feats = append(feats, float64(y)*2+rng.NormFloat64(), float64(y*y)-rng.NormFloat64()*0.5)
		labels = append(labels, int32(y))
	}
	var mu [3][2]float64
	var g [2]float64
	for i := 0; i < n; i++ {
		for j := 0; j < 2; j++ {
			mu[labels[i]][j] += feats[2*i+j] / float64(n/k)
			g[j] += feats[2*i+j] / float64(n)
		}
	}
	var sw, sb [2][2]float64
	for i := 0; i < n; i++ {
		for a := 0; a < 2; a++ {
			for b := 0; b < 2; b++ {
				sw[a][b] += (feats[2*i+a] - mu[labels[i]][a]) * (feats[2*i+b] - mu[labels[i]][b]) / float64(n)
			}
		}
	}
	for c := 0; c < k; c++ {
		for a := 0; a < 2; a++ {
			for b := 0; b < 2; b++ {
				sb[a][b] += (mu[c][a] - g[a]) * (mu[c][b] - g[b]) / float64(k)
			}
		}
	}
	det := sb[0][0]*sb[1][1] - sb[0][1]*sb[1][0]
	inv := [2][2]float64{{sb[1][1] / det, -sb[0][1] / det}, {-sb[1][0] / det, sb[0][0] / det}}
	var tr float64
	for a := 0; a < 2; a++ {
		for b := 0; b < 2; b++ {
			tr += sw[a][b] * inv[b][a]
		}
	}
	c, err := NeuralCollapse(feats, 2, labels, k, []float64{1, 0, 0, 1, 1, 1})
	if err != nil || !closeTo(c.NC1, tr/float64(k), 1e-10, 0) {
		t.Errorf("NC1 = %v, %v; want %v", c.NC1, err, tr/float64(k))
	}
}

func TestCollapseErrors(t *testing.T) {
	feats := []float64{3, 1, 1, -1, -1, 1, -3, -1}
	labels := []int32{0, 0, 1, 1}
	w := []float64{1, 0, -1, 0}
	if _, err := NeuralCollapse(feats, 2, labels, 1, w[:2]); !errors.Is(err, ErrValue) {
		t.Errorf("one class: %v", err)
	}
	if _, err := NeuralCollapse(feats, 2, labels, 2, w[:3]); !errors.Is(err, ErrShape) {
		t.Errorf("weights shape: %v", err)
	}
	if _, err := NeuralCollapse(feats, 2, labels, 2, []float64{0, 0, 0, 0}); !errors.Is(err, ErrValue) {
		t.Errorf("zero weights: %v", err)
	}
	same := []float64{1, 1, 1, 1, 1, 1, 1, 1}
	if _, err := NeuralCollapse(same, 2, labels, 2, w); !errors.Is(err, ErrValue) {
		t.Errorf("equal means: %v", err)
	}
	if _, err := NeuralCollapse(nil, 2, nil, 2, w); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
}
