package loss

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// refCrossMax follows the three steps literally on one example.
func refCrossMax(z []float64, heads, cols, k int) []float64 {
	zt := make([]float64, len(z))
	for n := 0; n < heads; n++ {
		m := math.Inf(-1)
		for c := 0; c < cols; c++ {
			m = math.Max(m, z[n*cols+c])
		}
		for c := 0; c < cols; c++ {
			zt[n*cols+c] = z[n*cols+c] - m
		}
	}
	y := make([]float64, cols)
	for c := 0; c < cols; c++ {
		col := make([]float64, heads)
		m := math.Inf(-1)
		for n := range col {
			m = math.Max(m, zt[n*cols+c])
		}
		for n := range col {
			col[n] = zt[n*cols+c] - m
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(col)))
		y[c] = col[k-1]
	}
	return y
}

func TestCrossMaxCatalogVector(t *testing.T) {
	// Catalog A18: Z = [[2, 1, 0, −1], [0.5, 3, 1, 0], [1, 1.5, 2.5, 0]]:
	// k = 1 → 0; k = 2 (the median) → [−1.5, −1, −2, −0.5]; k = 3 →
	// [−2.5, −1, −2, −0.5].
	z := []float64{2, 1, 0, -1, 0.5, 3, 1, 0, 1, 1.5, 2.5, 0}
	for k, want := range map[int][]float64{1: {0, 0, 0, 0}, 2: {-1.5, -1, -2, -0.5}, 3: {-2.5, -1, -2, -0.5}} {
		y := make([]float64, 4)
		if err := CrossMax(y, z, 3, 4, k); err != nil || !tsrClose(y, want, 0, 0) {
			t.Errorf("k=%d: %v, want %v (%v)", k, y, want, err)
		}
		y32 := make([]float32, 4)
		if err := CrossMax(y32, tsrTo32(z), 3, 4, k); err != nil || !tsrClose(tsrTo64(y32), want, 0, 0) {
			t.Errorf("float32 k=%d: %v (%v)", k, y32, err)
		}
	}
}

func TestCrossMaxReferenceAndGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(181, 182))
	const batch, heads, cols = 3, 5, 6
	z := tsrRand(rng, batch*heads*cols, 2)
	w := tsrRand(rng, batch*cols, 1)
	for k := 1; k <= heads; k++ {
		y := make([]float64, batch*cols)
		if err := CrossMax(y, z, heads, cols, k); err != nil {
			t.Fatal(err)
		}
		for b := 0; b < batch; b++ {
			if want := refCrossMax(z[b*heads*cols:(b+1)*heads*cols], heads, cols, k); !tsrClose(y[b*cols:(b+1)*cols], want, 0, 0) {
				t.Fatalf("k=%d example %d: %v, want %v", k, b, y[b*cols:(b+1)*cols], want)
			}
		}
		// The gradient of Σ w·y against central differences (random
		// logits have no ties, so y is linear around them).
		dz := make([]float64, len(z))
		if err := CrossMaxGrad(dz, z, w, heads, cols, k); err != nil {
			t.Fatal(err)
		}
		f := func(x []float64) float64 {
			var s float64
			for b := 0; b < batch; b++ {
				for c, v := range refCrossMax(x[b*heads*cols:(b+1)*heads*cols], heads, cols, k) {
					s += w[b*cols+c] * v
				}
			}
			return s
		}
		if err := gradcheck.Check(f, dz, z, 1e-6, 1e-8, 1e-6); err != nil {
			t.Errorf("k=%d: %v", k, err)
		}
	}
}

func TestCrossMaxEdges(t *testing.T) {
	inf := math.Inf(-1)
	// Identical heads: y is 0; ties go to head 0 (best) and the first
	// maximum (column 1), and k = 2 selects head 1, so the subgradient is
	// the piece with +1 at (1, c), −1 at (1, 1), −1 at (0, c), +1 at (0, 1).
	z := []float64{1, 3, 3, 1, 3, 3}
	y := make([]float64, 3)
	dz := make([]float64, 6)
	if err := CrossMax(y, z, 2, 3, 2); err != nil || !tsrClose(y, []float64{0, 0, 0}, 0, 0) {
		t.Errorf("ties: %v %v", y, err)
	}
	if err := CrossMaxGrad(dz, z, []float64{1, 1, 1}, 2, 3, 2); err != nil || !tsrClose(dz, []float64{-1, 2, -1, 1, -2, 1}, 0, 0) {
		t.Errorf("ties gradient: %v %v", dz, err)
	}
	// A class masked in every head stays masked.
	y = make([]float64, 2)
	if err := CrossMax(y, []float64{0, inf, 1, inf}, 2, 2, 1); err != nil || !math.IsInf(y[1], -1) || y[0] != 0 {
		t.Errorf("masked class: %v %v", y, err)
	}
	// Huge logits: only subtractions, exact.
	y = make([]float64, 2)
	if err := CrossMax(y, []float64{1e4, -1e4, -1e4, 1e4}, 2, 2, 2); err != nil || !tsrClose(y, []float64{-2e4, -2e4}, 0, 0) {
		t.Errorf("huge: %v %v", y, err)
	}
	for _, c := range []struct {
		what        string
		z           []float64
		heads, cols int
		k           int
		want        error
	}{
		{"k too large", []float64{0, 1}, 1, 2, 2, ErrValue},
		{"k zero", []float64{0, 1}, 1, 2, 0, ErrValue},
		{"shape", []float64{0, 1, 2}, 1, 2, 1, ErrShape},
		{"nan", []float64{math.NaN(), 1}, 1, 2, 1, ErrValue},
		{"+inf", []float64{math.Inf(1), 1}, 1, 2, 1, ErrValue},
		{"all −inf head", []float64{inf, inf}, 1, 2, 1, ErrValue},
	} {
		err := CrossMax(make([]float64, 2), c.z, c.heads, c.cols, c.k)
		tsrWantErr(t, c.what, err, c.want)
	}
	tsrWantErr(t, "dst", CrossMax(make([]float64, 3), []float64{0, 1}, 1, 2, 1), ErrShape)
	tsrWantErr(t, "dy", CrossMaxGrad(make([]float64, 2), []float64{0, 1}, []float64{1}, 1, 2, 1), ErrShape)
}
