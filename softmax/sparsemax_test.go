package softmax

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refSparsemax projects z onto the simplex by bisection on τ (Σ max(z − τ,
// 0) = 1) for the max-shifted row, independently of the sort-based
// threshold.
func refSparsemax(z []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, v)
	}
	u := make([]float64, len(z))
	for i, v := range z {
		u[i] = v - m
	}
	z = u
	lo, hi := -1.0, 0.0
	for it := 0; it < 200; it++ {
		mid := (lo + hi) / 2
		var s float64
		for _, v := range z {
			s += max(v-mid, 0)
		}
		if s > 1 {
			lo = mid
		} else {
			hi = mid
		}
	}
	tau := (lo + hi) / 2
	p := make([]float64, len(z))
	for i, v := range z {
		p[i] = max(v-tau, 0)
	}
	return p
}

func TestSparsemaxVectors(t *testing.T) {
	for _, c := range []struct{ x, want []float64 }{
		{[]float64{1, 0.5, -1}, []float64{0.75, 0.25, 0}}, // τ = 0.25
		{[]float64{0, 0, 0}, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}},
		{[]float64{3, 0}, []float64{1, 0}},
		{[]float64{0.2, 0.1, 0.3, -5}, []float64{1.0 / 3, 7.0 / 30, 13.0 / 30, 0}}, // τ = −2/15
		{[]float64{7}, []float64{1}},
	} {
		y := make([]float64, len(c.x))
		if err := Sparsemax(y, c.x, len(c.x)); err != nil {
			t.Fatal(err)
		}
		near(t, "sparsemax", y, c.want, 1e-15)
		// Shift invariance, exact at a large offset.
		sh := make([]float64, len(c.x))
		for i, v := range c.x {
			sh[i] = v + 1e4
		}
		if err := Sparsemax(sh, sh, len(c.x)); err != nil {
			t.Fatal(err)
		}
		near(t, "shifted by 1e4", sh, c.want, 1e-12)
		y32 := make([]float32, len(c.x))
		if err := Sparsemax(y32, f32(c.x), len(c.x)); err != nil {
			t.Fatal(err)
		}
		near(t, "float32", f64(y32), c.want, 1e-7)
	}
	// Temperature 2 halves the logits: [1, 0.5, −1]/2 → τ = 0.
	y := make([]float64, 3)
	if err := Sparsemax(y, []float64{1, 0.5, -1}, 3, Temperature(2)); err != nil {
		t.Fatal(err)
	}
	near(t, "temperature", y, []float64{0.625, 0.375, 0}, 1e-15)
}

func TestSparsemaxRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for _, cols := range []int{1, 2, 5, 64, 3000} {
		for _, scale := range []float64{1e-3, 0.3, 3, 1e4} {
			const rows = 3
			x := make([]float64, rows*cols)
			for i := range x {
				x[i] = rng.NormFloat64() * scale
			}
			y := make([]float64, len(x))
			if err := Sparsemax(y, x, cols, Threads(2)); err != nil {
				t.Fatal(err)
			}
			y32 := make([]float32, len(x))
			if err := Sparsemax(y32, f32(x), cols); err != nil {
				t.Fatal(err)
			}
			for r := 0; r < rows; r++ {
				want := refSparsemax(x[r*cols : (r+1)*cols])
				near(t, "float64", y[r*cols:(r+1)*cols], want, 1e-12)
				var s float64
				for _, v := range y[r*cols : (r+1)*cols] {
					s += v
				}
				if math.Abs(s-1) > 1e-12 {
					t.Fatalf("row sums to %v", s)
				}
				// float32: the inputs round, so compare with the projection
				// of the rounded row.
				want32 := refSparsemax(f64(f32(x[r*cols : (r+1)*cols])))
				near(t, "float32", f64(y32[r*cols:(r+1)*cols]), want32, 1e-6)
			}
		}
	}
}

func TestSparsemaxSpecialRows(t *testing.T) {
	inf := math.Inf(-1)
	y := make([]float64, 4)
	if err := Sparsemax(y, []float64{0, inf, 0.5, inf}, 4); err != nil {
		t.Fatal(err)
	}
	near(t, "masked", y, []float64{0.25, 0, 0.75, 0}, 1e-15)
	x := []float64{inf, inf, 1, math.NaN(), 1, math.Inf(1)}
	y = make([]float64, len(x))
	if err := Sparsemax(y, x, 2); err != nil {
		t.Fatal(err)
	}
	if y[0] != 0 || y[1] != 0 {
		t.Errorf("all −Inf row: %v", y[:2])
	}
	for _, v := range y[2:] {
		if !math.IsNaN(v) {
			t.Errorf("NaN and +Inf rows: %v", y[2:])
		}
	}
	for _, err := range []error{
		Sparsemax(make([]float64, 3), make([]float64, 4), 2),
		Sparsemax(make([]float64, 4), make([]float64, 4), 0),
		Sparsemax(make([]float64, 4), make([]float64, 4), 3),
		SparsemaxJVP(make([]float64, 4), make([]float64, 4), make([]float64, 3), 2),
	} {
		if !errors.Is(err, ErrShape) {
			t.Errorf("err %v, want ErrShape", err)
		}
	}
	if err := Sparsemax(make([]float64, 4), make([]float64, 4), 2, Temperature(0)); err == nil {
		t.Error("temperature 0 accepted")
	}
}

// TestSparsemaxJVP checks the Jacobian-vector product against central
// differences of sparsemax (away from the kinks), in place too.
func TestSparsemaxJVP(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	const rows, cols = 3, 7
	for _, temp := range []float64{1, 0.5} {
		x := make([]float64, rows*cols)
		for i := range x {
			x[i] = rng.NormFloat64() * 0.6
		}
		f := func(x []float64) []float64 {
			y := make([]float64, len(x))
			if err := Sparsemax(y, x, cols, Temperature(temp)); err != nil {
				t.Fatal(err)
			}
			return y
		}
		p := f(x)
		back := func(g []float64) []float64 {
			d := make([]float64, len(g))
			if err := SparsemaxJVP(d, p, g, cols, Temperature(temp)); err != nil {
				t.Fatal(err)
			}
			return d
		}
		checkVJP(t, "sparsemax", x, f, back)
		// In place over v and over p.
		v := make([]float64, len(x))
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		want := back(v)
		vv := append([]float64(nil), v...)
		if err := SparsemaxJVP(vv, p, vv, cols, Temperature(temp)); err != nil {
			t.Fatal(err)
		}
		near(t, "in place over v", vv, want, 0)
		pp := append([]float64(nil), p...)
		if err := SparsemaxJVP(pp, pp, v, cols, Temperature(temp)); err != nil {
			t.Fatal(err)
		}
		near(t, "in place over p", pp, want, 0)
	}
}

func ExampleSparsemax() {
	x := []float32{1, 0.5, -1, 3, 0, 0}
	p := make([]float32, len(x))
	if err := Sparsemax(p, x, 3); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p)
	// Output:
	// [0.75 0.25 0 1 0 0]
}
