package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestScores(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	cols, rows := 40, 100
	x := randomLogits(rng, rows, cols)
	msp, err := MSP(to32(x), cols)
	if err != nil {
		t.Fatal(err)
	}
	ml, _ := MaxLogit(x, cols)
	en, _ := Energy(x, cols, 2)
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		ref := reference(row, -1)
		// −2·LSE(z/2), by definition.
		var s float64
		for _, v := range row {
			s += math.Exp(v/2 - ref.maxLogit/2)
		}
		wantE := -2 * (ref.maxLogit/2 + math.Log(s))
		x32 := reference(to64(to32(row)), -1)
		if !closeTo(msp[r], x32.conf, 2e-6, 0) || ml[r] != ref.maxLogit || !closeTo(en[r], wantE, 1e-13, 1e-13) {
			t.Fatalf("row %d: msp %v ml %v energy %v; want %v %v %v", r, msp[r], ml[r], en[r], x32.conf, ref.maxLogit, wantE)
		}
	}
	if _, err := Energy(x, cols, 0); !errors.Is(err, ErrValue) {
		t.Errorf("T = 0: err = %v", err)
	}
	if _, err := MSP([]float64{1, math.NaN()}, 2); !errors.Is(err, ErrValue) {
		t.Errorf("NaN: err = %v", err)
	}
}

// bruteAUROC compares every pair.
func bruteAUROC(pos, neg []float64) float64 {
	var s float64
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				s++
			case p == n:
				s += 0.5
			}
		}
	}
	return s / float64(len(pos)*len(neg))
}

func TestAUROC(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for trial := 0; trial < 50; trial++ {
		np, nn := 1+rng.IntN(40), 1+rng.IntN(40)
		pos, neg := make([]float64, np), make([]float64, nn)
		for i := range pos {
			pos[i] = float64(rng.IntN(8)) // coarse: many ties
		}
		for i := range neg {
			neg[i] = float64(rng.IntN(6))
		}
		if trial%5 == 0 {
			pos[0], neg[0] = math.Inf(1), math.Inf(-1)
		}
		got, err := AUROC(pos, neg)
		if want := bruteAUROC(pos, neg); err != nil || got != want {
			t.Fatalf("AUROC = %v, %v; want %v", got, err, want)
		}
	}
	// Separated: 1; reversed: 0; all tied: 0.5.
	for _, c := range []struct {
		pos, neg []float64
		want     float64
	}{
		{[]float64{3, 4, 5}, []float64{0, 1, 2.9}, 1},
		{[]float64{0, 1}, []float64{2, 3}, 0},
		{[]float64{1, 1}, []float64{1, 1, 1}, 0.5},
	} {
		if got, _ := AUROC(c.pos, c.neg); got != c.want {
			t.Errorf("AUROC(%v, %v) = %v, want %v", c.pos, c.neg, got, c.want)
		}
	}
	// Identical distributions: ≈ 0.5 (standard error ≈ √(1/(6n)) ≈ 0.004).
	pos, neg := make([]float64, 10000), make([]float64, 10000)
	for i := range pos {
		pos[i], neg[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	if got, _ := AUROC(pos, neg); math.Abs(got-0.5) > 0.02 {
		t.Errorf("AUROC of identical distributions = %v", got)
	}
	if _, err := AUROC(nil, neg); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	if _, err := AUROC([]float64{math.NaN()}, neg); !errors.Is(err, ErrValue) {
		t.Errorf("NaN: %v", err)
	}
}

func TestFPRAtTPR(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for trial := 0; trial < 100; trial++ {
		np, nn := 1+rng.IntN(30), 1+rng.IntN(30)
		pos, neg := make([]float64, np), make([]float64, nn)
		for i := range pos {
			pos[i] = float64(rng.IntN(10))
		}
		for i := range neg {
			neg[i] = float64(rng.IntN(10)) - 2
		}
		tpr := []float64{0.95, 0.5, 1, 0.01}[trial%4]
		// Brute force: the largest candidate threshold with TPR ≥ tpr.
		best := math.Inf(-1)
		for _, th := range pos {
			c := 0
			for _, p := range pos {
				if p >= th {
					c++
				}
			}
			if float64(c)/float64(np) >= tpr {
				best = math.Max(best, th)
			}
		}
		f := 0
		for _, n := range neg {
			if n >= best {
				f++
			}
		}
		fpr, th, err := FPRAtTPR(pos, neg, tpr)
		if err != nil || th != best || fpr != float64(f)/float64(nn) {
			t.Fatalf("FPRAtTPR(tpr %v) = %v at %v (%v); want %v at %v", tpr, fpr, th, err, float64(f)/float64(nn), best)
		}
	}
	// 20 positives 1..20: TPR ≥ 0.95 first at threshold 2 (19/20).
	pos := make([]float64, 20)
	for i := range pos {
		pos[i] = float64(i + 1)
	}
	fpr, th, _ := FPRAtTPR(pos, []float64{0, 1.5, 2, 3, 30}, 0.95)
	if th != 2 || fpr != 3.0/5 {
		t.Errorf("FPR@95 = %v at %v, want 0.6 at 2", fpr, th)
	}
	if _, _, err := FPRAtTPR(pos, pos, 0); !errors.Is(err, ErrValue) {
		t.Errorf("tpr 0: %v", err)
	}
}

func TestMahalanobisCatalog(t *testing.T) {
	// Catalog A29: μ0 = [0,0], μ1 = [2,0], Σ = [[1,0.5],[0.5,1]], x = [1,1]:
	// d² = [4/3, 4], score −4/3.
	m, err := NewMahalanobis([]float64{0, 0, 2, 0}, []float64{1, 0.5, 0.5, 1}, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	d := make([]float64, 2)
	m.Distances(d, []float64{1, 1})
	if !closeTo(d[0], 4.0/3, 1e-14, 0) || !closeTo(d[1], 4, 1e-14, 0) {
		t.Errorf("d² = %v, want [4/3 4]", d)
	}
	s, _ := m.Scores([]float64{1, 1})
	if !closeTo(s[0], -4.0/3, 1e-14, 0) {
		t.Errorf("score = %v, want -4/3", s[0])
	}
	// Catalog B appendix: μ0 = [0,0], μ1 = [2,2], Σ = [[1,0.5],[0.5,2]],
	// f = [1, 0.5]: d² = [1, 1.5714286], M = −1.
	m, _ = NewMahalanobis([]float64{0, 0, 2, 2}, []float64{1, 0.5, 0.5, 2}, 2, 2)
	m.Distances(d, []float64{1, 0.5})
	if !closeTo(d[0], 1, 1e-14, 0) || !closeTo(d[1], 11.0/7, 1e-14, 0) {
		t.Errorf("d² = %v, want [1 11/7]", d)
	}
}

func TestFitMahalanobis(t *testing.T) {
	// Each class is its mean ± a and ± b with a = [√2, 1/√2], b = [0, √1.5],
	// so Σ = (aaᵀ + bbᵀ)/2 = [[1, 0.5], [0.5, 1]] and the means are
	// [0,0] and [2,0]: the catalog case again.
	a := []float64{math.Sqrt2, 1 / math.Sqrt2}
	b := []float64{0, math.Sqrt(1.5)}
	var feats []float64
	var labels []int32
	for c, mu := range [][]float64{{0, 0}, {2, 0}} {
		for _, v := range [][]float64{a, b} {
			for _, sgn := range []float64{1, -1} {
				feats = append(feats, mu[0]+sgn*v[0], mu[1]+sgn*v[1])
				labels = append(labels, int32(c))
			}
		}
	}
	m, err := FitMahalanobis(feats, 2, labels, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{1, 0.5, 0.5, 1} {
		if !closeTo(m.Cov[i], want, 1e-14, 1e-15) {
			t.Errorf("Σ = %v", m.Cov)
			break
		}
	}
	s, _ := m.Scores([]float64{1, 1, 0, 0})
	if !closeTo(s[0], -4.0/3, 1e-13, 0) || !closeTo(s[1], 0, 0, 1e-14) {
		t.Errorf("scores = %v, want [-4/3 0]", s)
	}
	// Singular Σ (the second feature is constant): the pseudo-inverse
	// ignores it, d² = (x₀ − μ₀)²/σ².
	sing := []float64{-1, 5, 1, 5, 9, 5, 11, 5}
	m, err = FitMahalanobis(sing, 2, []int32{0, 0, 1, 1}, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	d := make([]float64, 2)
	m.Distances(d, []float64{2, 7})
	if !closeTo(d[0], 4, 1e-12, 0) || !closeTo(d[1], 64, 1e-12, 0) {
		t.Errorf("singular d² = %v, want [4 64]", d)
	}
	// Shrinkage 1 gives Σ = (tr Σ/d)·I.
	m, _ = FitMahalanobis(feats, 2, labels, 2, 1)
	if !closeTo(m.Cov[0], 1, 1e-14, 0) || m.Cov[1] != 0 {
		t.Errorf("shrunk Σ = %v", m.Cov)
	}
	for name, err := range map[string]error{
		"missing class":  errOf(FitMahalanobis(feats, 2, labels, 3, 0)),
		"label range":    errOf(FitMahalanobis(feats, 2, append(labels[:7:7], 5), 2, 0)),
		"shape":          errOf(FitMahalanobis(feats[:7], 2, labels, 2, 0)),
		"NaN":            errOf(FitMahalanobis(append([]float64{math.NaN()}, feats[1:]...), 2, labels, 2, 0)),
		"bad shrinkage":  errOf(FitMahalanobis(feats, 2, labels, 2, 2)),
		"asymmetric":     errOf(NewMahalanobis([]float64{0, 0}, []float64{1, 0.5, 0, 1}, 2, 1)),
		"negative":       errOf(NewMahalanobis([]float64{0, 0}, []float64{1, 0, 0, -1}, 2, 1)),
		"zero":           errOf(NewMahalanobis([]float64{0, 0}, []float64{0, 0, 0, 0}, 2, 1)),
		"scores shape":   errOf(m.Scores([]float64{1, 2, 3})),
		"distance shape": m.Distances(d, []float64{1}),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func errOf[T any](_ T, err error) error { return err }
