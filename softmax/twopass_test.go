package softmax

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestTwoPassCatalog checks catalog A14's vectors (recomputed in 30-digit
// arithmetic): softmax and log-sum-exp of rows that overflow a naive exp.
func TestTwoPassCatalog(t *testing.T) {
	x := []float64{1000, 1001, 999, -1000, -1001, -999.5, 1, 2, 3}
	wantY := []float64{0.244728471, 0.665240956, 0.0900305732, 0.33149896, 0.121951652, 0.546549387,
		0.0900305732, 0.244728471, 0.665240956}
	wantLSE := []float64{1001.40760596, -998.895869395, 3.40760596444}
	y32, l32 := make([]float32, 9), make([]float32, 3)
	if err := TwoPassSoftmax(y32, f32(x), 3); err != nil {
		t.Fatal(err)
	}
	if err := TwoPassLogSumExp(l32, f32(x), 3); err != nil {
		t.Fatal(err)
	}
	near(t, "softmax float32", f64(y32), wantY, 1e-6)
	near(t, "lse float32", f64(l32), wantLSE, 1e-7)
	y, l := make([]float64, 9), make([]float64, 3)
	if err := TwoPassSoftmax(y, x, 3); err != nil {
		t.Fatal(err)
	}
	if err := TwoPassLogSumExp(l, x, 3); err != nil {
		t.Fatal(err)
	}
	near(t, "softmax float64", y, wantY, 2e-9)
	near(t, "lse float64", l, wantLSE, 1e-11)
}

// TestTwoPassMatchesSoftmax compares with the max-shift path on random
// and special rows, float32 and float64, 1 and 3 threads.
func TestTwoPassMatchesSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	inf := float32(math.Inf(1))
	for _, cols := range []int{1, 3, 8, 63, 64, 65, 200, 1025} {
		rows := 7
		x := make([]float32, rows*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64()*20 + 5)
		}
		row := func(r int) []float32 { return x[r*cols : (r+1)*cols] }
		for i := range row(1) {
			row(1)[i] = -inf // all masked
		}
		row(2)[0] = float32(math.NaN())
		row(3)[cols-1] = inf
		row(4)[0] = 3e6 // above the kernel's domain: falls back
		for i := range row(5) {
			if i%2 == 0 {
				row(5)[i] = -inf
			}
		}
		for _, th := range []int{1, 3} {
			a, b := make([]float32, len(x)), make([]float32, len(x))
			if err := TwoPassSoftmax(a, x, cols, Threads(th)); err != nil {
				t.Fatal(err)
			}
			if err := Softmax(b, x, cols); err != nil {
				t.Fatal(err)
			}
			for i := range a {
				if math.IsNaN(float64(b[i])) != math.IsNaN(float64(a[i])) ||
					math.Abs(float64(a[i]-b[i])) > 2e-6*float64(b[i])+0x1p-125 {
					t.Fatalf("cols %d threads %d: softmax[%d] = %v, want %v", cols, th, i, a[i], b[i])
				}
			}
			la, lb := make([]float32, rows), make([]float32, rows)
			if err := TwoPassLogSumExp(la, x, cols, Threads(th)); err != nil {
				t.Fatal(err)
			}
			_ = LogSumExp(lb, x, cols)
			for i := range la {
				same := la[i] == lb[i] || math.IsNaN(float64(la[i])) && math.IsNaN(float64(lb[i]))
				if !same && math.Abs(float64(la[i]-lb[i])) > 2e-6*math.Max(1, math.Abs(float64(lb[i]))) {
					t.Fatalf("cols %d: lse[%d] = %v, want %v", cols, i, la[i], lb[i])
				}
			}
		}
		x64 := f64(x)
		a, b := make([]float64, len(x)), make([]float64, len(x))
		_ = TwoPassSoftmax(a, x64, cols)
		_ = Softmax(b, x64, cols)
		for i := range a {
			if math.IsNaN(b[i]) != math.IsNaN(a[i]) || math.Abs(a[i]-b[i]) > 1e-13*b[i]+1e-300 {
				t.Fatalf("float64 cols %d: softmax[%d] = %v, want %v", cols, i, a[i], b[i])
			}
		}
	}
	// Temperature goes to the max-shift path; shape errors.
	x := []float32{1, 2, 3, 4}
	a, b := make([]float32, 4), make([]float32, 4)
	_ = TwoPassSoftmax(a, x, 2, Temperature(2))
	_ = Softmax(b, x, 2, Temperature(2))
	if a[0] != b[0] || a[3] != b[3] {
		t.Errorf("temperature: %v vs %v", a, b)
	}
	if err := TwoPassLogSumExp(make([]float32, 3), x, 2); !errors.Is(err, ErrShape) {
		t.Errorf("bad dst: %v", err)
	}
	if err := TwoPassSoftmax(a, x, 3); !errors.Is(err, ErrShape) {
		t.Errorf("bad cols: %v", err)
	}
}

// TestTwoPassThreads: the same bits for any thread count.
func TestTwoPassThreads(t *testing.T) {
	x := benchMatrix(97, 333)
	a, b := make([]float32, len(x)), make([]float32, len(x))
	la, lb := make([]float32, 97), make([]float32, 97)
	_ = TwoPassSoftmax(a, x, 333, Threads(1))
	_ = TwoPassSoftmax(b, x, 333, Threads(3))
	_ = TwoPassLogSumExp(la, x, 333, Threads(1))
	_ = TwoPassLogSumExp(lb, x, 333, Threads(2))
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("softmax[%d]: %v vs %v", i, a[i], b[i])
		}
	}
	for i := range la {
		if math.Float32bits(la[i]) != math.Float32bits(lb[i]) {
			t.Fatalf("lse[%d]: %v vs %v", i, la[i], lb[i])
		}
	}
}

// TestTwoPassInPlace: dst = x, with rows that fall back to the max-shift
// path (which needs x intact).
func TestTwoPassInPlace(t *testing.T) {
	x := benchMatrix(5, 77)
	x[0] = float32(math.NaN())
	x[77] = 3e6
	for i := 2 * 77; i < 3*77; i++ {
		x[i] = float32(math.Inf(-1))
	}
	want := make([]float32, len(x))
	_ = Softmax(want, x, 77)
	got := append([]float32(nil), x...)
	if err := TwoPassSoftmax(got, got, 77); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if math.IsNaN(float64(want[i])) != math.IsNaN(float64(got[i])) ||
			math.Abs(float64(got[i]-want[i])) > 2e-6*float64(want[i])+0x1p-125 {
			t.Fatalf("in place [%d]: %v, want %v", i, got[i], want[i])
		}
	}
}
