package attention

import (
	"math"
	"testing"
)

// weightsOf returns the attention weights of one query with the given
// scores: with Scale 1, K and V the identity, out = A. It runs both paths
// and, with dOut given, returns dQ = ∂L/∂s for L = dOut·out.
func weightsOf[F Float](t *testing.T, cfg Config, scores, dOut []float64) (a, lse, ds []float64, dbeta float64) {
	t.Helper()
	n := len(scores)
	q := make([]F, n)
	eye := make([]F, n*n)
	for j, s := range scores {
		q[j] = F(s)
		eye[j*n+j] = 1
	}
	cfg.Scale = 1
	in := Input[F]{Q: q, K: eye, V: eye, Shape: Shape{Batch: 1, Heads: 1, Queries: 1, Keys: n, Dim: n}}
	out := Output[F]{Out: make([]F, n), LSE: make([]F, 1)}
	if err := Forward(cfg, in, out); err != nil {
		t.Fatal(err)
	}
	a, lse = make([]float64, n), []float64{float64(out.LSE[0])}
	for j, v := range out.Out {
		a[j] = float64(v)
	}
	if dOut == nil {
		return a, lse, nil, 0
	}
	d := make([]F, n)
	for j, v := range dOut {
		d[j] = F(v)
	}
	g := Grad[F]{DQ: make([]F, n), DK: make([]F, n*n), DV: make([]F, n*n)}
	if err := Backward(cfg, in, out, d, &g); err != nil {
		t.Fatal(err)
	}
	ds = make([]float64, n)
	for j, v := range g.DQ {
		ds[j] = float64(v)
	}
	return a, lse, ds, g.DBeta
}

func near(got, want []float64, tol float64) bool {
	for i := range want {
		if !(math.Abs(got[i]-want[i]) <= tol*math.Max(1, math.Abs(want[i]))) {
			return false
		}
	}
	return true
}

// TestCatalogVectors checks the worked examples of catalog A20 (sigmoid
// attention), A26 (softplus attention's core) and B23 (selective
// attention's temperature), recomputed in float64 when the catalog was
// read: they agree with it to the digits it gives.
func TestCatalogVectors(t *testing.T) {
	for _, f64 := range []bool{false, true} {
		tol := 2e-7 // the catalog's digits, and float32
		run := func(cfg Config, s, d []float64) ([]float64, []float64, []float64, float64) {
			if f64 {
				return weightsOf[float64](t, cfg, s, d)
			}
			return weightsOf[float32](t, cfg, s, d)
		}
		// A20: σ(s − ln 3), row sum 1.07046637, dA/ds = A(1 − A).
		a, lse, ds, _ := run(Config{Normalizer: Sigmoid}, []float64{2, 0, -1}, []float64{1, 1, 1})
		if !near(a, []float64{0.711234594, 0.25, 0.109231773}, tol) || !near(lse, []float64{math.Log(1.07046637)}, tol) {
			t.Errorf("A20 f64=%v: weights %v, lse %v", f64, a, lse)
		}
		if !near(ds, []float64{0.205379946, 0.1875, 0.0973001924}, tol) {
			t.Errorf("A20 f64=%v: dA/ds %v", f64, ds)
		}
		// A26: softplus/ℓ1 with κ = 1, and κ = ln 3 (LengthBase e, 3 keys).
		a, _, _, _ = run(Config{Normalizer: Softplus}, []float64{2, 0, -1}, nil)
		if !near(a, []float64{0.678806044, 0.221216935, 0.0999770212}, tol) {
			t.Errorf("A26 κ=1 f64=%v: %v", f64, a)
		}
		a, _, _, _ = run(Config{Normalizer: Softplus, LengthBase: math.E}, []float64{2, 0, -1}, nil)
		if !near(a, []float64{0.701277649, 0.211105608, 0.0876167435}, tol) {
			t.Errorf("A26 κ=ln 3 f64=%v: %v", f64, a)
		}
		// B23: β = 1.5, n = 4: τ = 1.0156849, A as listed; ∂τ/∂β =
		// −0.07029499, so with dOut = e₀, ∂L/∂β = (s₀A₀ − A₀·Σ s_j A_j)·∂τ/∂β.
		s := []float64{1, 0.5, 0, -0.5}
		want := []float64{0.4583185, 0.2758127, 0.1659820, 0.0998867}
		a, _, _, db := run(Config{Selective: true, Beta: 1.5}, s, []float64{1, 0, 0, 0})
		if !near(a, want, 1e-7) {
			t.Errorf("B23 f64=%v: %v", f64, a)
		}
		var sa float64
		for j := range s {
			sa += s[j] * want[j]
		}
		wantDB := (s[0]*want[0] - want[0]*sa) * -0.07029499
		if math.Abs(db-wantDB) > 1e-6 {
			t.Errorf("B23 f64=%v: dβ %v, want %v", f64, db, wantDB)
		}
		// The plain softmax of the B23 scores, for contrast (β → ∞: τ → 1).
		a, _, _, _ = run(Config{}, s, nil)
		if !near(a, []float64{0.4550542, 0.2760043, 0.1674051, 0.1015363}, 1e-7) {
			t.Errorf("softmax f64=%v: %v", f64, a)
		}
	}
}
