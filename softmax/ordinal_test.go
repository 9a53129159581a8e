package softmax

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestOrdinalSoftmaxCatalog: catalog A3's vector, K = 4, z = [1.5, 0.5,
// −0.5], recomputed with mpmath (it agrees): label probabilities
// [0.1824255238, 0.195115145, 0.2449186624, 0.3775406688], predicted 2.
func TestOrdinalSoftmaxCatalog(t *testing.T) {
	x := []float64{1.5, 0.5, -0.5}
	want := []float64{0.1824255238, 0.195115145, 0.2449186624, 0.3775406688}
	y := make([]float64, 4)
	if err := OrdinalSoftmax(y, x, 3); err != nil {
		t.Fatal(err)
	}
	near(t, "float64", y, want, 1e-9)
	y32 := make([]float32, 4)
	if err := OrdinalSoftmax(y32, f32(x), 3); err != nil {
		t.Fatal(err)
	}
	near(t, "float32", f64(y32), want, 1e-7)
	pred := make([]int32, 1)
	if err := OrdinalPredict(pred, x, 3); err != nil || pred[0] != 2 {
		t.Errorf("prediction %v, %v", pred, err)
	}
}

// TestOrdinalSoftmaxStable: rows of saturated sigmoids keep relative
// precision (a plain σ(a) − σ(b) gives 0), random monotone rows sum to 1,
// non-monotone rows clamp, special values.
func TestOrdinalSoftmaxStable(t *testing.T) {
	// z = [40, 39]: P(y=1) = σ(40) − σ(39) ≈ e^−39 − e^−40.
	y := make([]float64, 3)
	if err := OrdinalSoftmax(y, []float64{40, 39}, 2); err != nil {
		t.Fatal(err)
	}
	want := math.Exp(-39) - math.Exp(-40) // the sigmoids' higher terms are below 1e-17 relative
	if math.Abs(y[1]-want) > 1e-14*want {
		t.Errorf("saturated: %g, want %g", y[1], want)
	}
	if math.Abs(y[0]-math.Exp(-40)) > 1e-14*math.Exp(-40) {
		t.Errorf("P(y=0) %g, want %g", y[0], math.Exp(-40))
	}
	rng := rand.New(rand.NewPCG(71, 72))
	for _, K := range []int{2, 3, 10} {
		x := make([]float64, K-1)
		v := rng.NormFloat64() * 3
		for k := range x {
			x[k] = v
			v -= rng.Float64() * 2
		}
		p := make([]float64, K)
		if err := OrdinalSoftmax(p, x, K-1); err != nil {
			t.Fatal(err)
		}
		var s float64
		for k, v := range p {
			if v < 0 {
				t.Fatalf("negative probability %v", p)
			}
			// Independent check: the plain differences.
			var w float64
			switch {
			case k == 0:
				w = 1 - 1/(1+math.Exp(-x[0]))
			case k == K-1:
				w = 1 / (1 + math.Exp(-x[K-2]))
			default:
				w = 1/(1+math.Exp(-x[k-1])) - 1/(1+math.Exp(-x[k]))
			}
			if math.Abs(v-w) > 1e-15 {
				t.Errorf("K %d class %d: %v, plain %v", K, k, v, w)
			}
			s += v
		}
		if math.Abs(s-1) > 1e-15 {
			t.Errorf("K %d: sum %v", K, s)
		}
	}
	// Non-monotone: the middle class clamps to 0.
	p := make([]float64, 3)
	if err := OrdinalSoftmax(p, []float64{-1, 1}, 2); err != nil || p[1] != 0 {
		t.Errorf("non-monotone: %v %v", p, err)
	}
	inf := math.Inf(1)
	p = make([]float64, 8)
	if err := OrdinalSoftmax(p, []float64{inf, 0, -inf, math.NaN(), 0, 0}, 3); err != nil {
		t.Fatal(err)
	}
	near(t, "infinite", p[:4], []float64{0, 0.5, 0.5, 0}, 1e-15)
	for _, v := range p[4:] {
		if !math.IsNaN(v) {
			t.Errorf("NaN row: %v", p[4:])
		}
	}
	// Temperature 2 halves the logits.
	a, b := make([]float64, 4), make([]float64, 4)
	OrdinalSoftmax(a, []float64{3, 1, -1}, 3, Temperature(2))
	OrdinalSoftmax(b, []float64{1.5, 0.5, -0.5}, 3)
	near(t, "temperature", a, b, 1e-15)
	for _, err := range []error{
		OrdinalSoftmax(make([]float64, 3), make([]float64, 3), 3),
		OrdinalSoftmax(make([]float64, 4), make([]float64, 3), 0),
		OrdinalPredict(make([]int32, 2), make([]float64, 3), 3),
	} {
		if !errors.Is(err, ErrShape) {
			t.Errorf("err %v, want ErrShape", err)
		}
	}
	buf := make([]float64, 7)
	if err := OrdinalSoftmax(buf[2:6], buf[:3], 3); !errors.Is(err, ErrShape) {
		t.Errorf("overlap: %v", err)
	}
}

func ExampleOrdinalSoftmax() {
	// Three cumulative logits z_k (P(y > k) = σ(z_k)) give four classes.
	z := []float64{1.5, 0.5, -0.5}
	p := make([]float64, 4)
	if err := OrdinalSoftmax(p, z, 3); err != nil {
		fmt.Println(err)
		return
	}
	pred := make([]int32, 1)
	_ = OrdinalPredict(pred, z, 3)
	fmt.Printf("%.4f, predicted class %d\n", p, pred[0])
	// Output:
	// [0.1824 0.1951 0.2449 0.3775], predicted class 2
}

// TestOrdinalPredictColsBeyondInt32: a prediction counts up to cols and
// is stored as int32, so more columns than int32 holds are refused
// instead of wrapping.
func TestOrdinalPredictColsBeyondInt32(t *testing.T) {
	for _, cols := range []int{1 << 31, math.MaxInt} {
		if err := OrdinalPredict[float32](nil, nil, cols); !errors.Is(err, ErrShape) {
			t.Errorf("cols = %d: err = %v, want ErrShape", cols, err)
		}
	}
	if err := OrdinalPredict[float32](nil, nil, math.MaxInt32); err != nil {
		t.Errorf("cols = 2³¹−1: %v", err)
	}
}
