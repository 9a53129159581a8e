package softmax

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// refStableMax is StableMax from its definition, in float64.
func refStableMax(row []float64, t float64) []float64 {
	s := make([]float64, len(row))
	var sum float64
	for j, v := range row {
		z := v / t
		if z >= 0 {
			s[j] = z + 1
		} else {
			s[j] = 1 / (1 - z)
		}
		sum += s[j]
	}
	for j := range s {
		s[j] /= sum
	}
	return s
}

// TestStableMaxCatalog: catalog B16's vectors.
func TestStableMaxCatalog(t *testing.T) {
	for _, c := range []struct{ z, want []float64 }{
		{[]float64{2, 0, -1}, []float64{2.0 / 3, 2.0 / 9, 1.0 / 9}},
		{[]float64{200, 0, -50}, []float64{0.9949529, 0.0049500, 0.0000971}},
	} {
		got := make([]float64, 3)
		if err := StableMax(got, c.z, 3); err != nil {
			t.Fatal(err)
		}
		for j := range got {
			if math.Abs(got[j]-c.want[j]) > 1e-7 {
				t.Errorf("StableMax(%v) = %v, want %v", c.z, got, c.want)
				break
			}
		}
	}
}

// TestStableMaxReference: random rows, temperatures, both precisions,
// against the definition; masks, all-masked and NaN rows; rows whose
// scaled logits overflow.
func TestStableMaxReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 41))
	const rows, cols = 9, 13
	x := make([]float64, rows*cols)
	for i := range x {
		x[i] = rng.NormFloat64() * math.Pow(10, float64(i%rows)-3)
	}
	for _, temp := range []float64{1, 0.3, 7} {
		y := make([]float64, len(x))
		if err := StableMax(y, x, cols, Temperature(temp), Threads(3)); err != nil {
			t.Fatal(err)
		}
		x32 := make([]float32, len(x))
		for i, v := range x {
			x32[i] = float32(v)
		}
		y32 := make([]float32, len(x))
		if err := StableMax(y32, x32, cols, Temperature(temp)); err != nil {
			t.Fatal(err)
		}
		for r := range rows {
			want := refStableMax(x[r*cols:(r+1)*cols], temp)
			in32 := make([]float64, cols)
			for j := range in32 {
				in32[j] = float64(x32[r*cols+j])
			}
			want32 := refStableMax(in32, temp)
			for j := range want {
				if math.Abs(y[r*cols+j]-want[j]) > 1e-14*want[j] {
					t.Errorf("T %v row %d col %d: %v, want %v", temp, r, j, y[r*cols+j], want[j])
				}
				if math.Abs(float64(y32[r*cols+j])-want32[j]) > 2e-7*want32[j] {
					t.Errorf("float32, T %v row %d col %d: %v, want %v", temp, r, j, y32[r*cols+j], want32[j])
				}
			}
		}
	}
	ninf, nan := math.Inf(-1), math.NaN()
	special := []float64{
		ninf, 1, ninf, // a mask: weight 0
		ninf, ninf, ninf, // all masked: zeros
		1, nan, 0, // NaN: the row is NaN
		1e308, 5e307, ninf, // x/T overflows at T = 0.5: s ≈ 2e308 and 1e308
	}
	y := make([]float64, len(special))
	if err := StableMax(y, special, 3, Temperature(0.5)); err != nil {
		t.Fatal(err)
	}
	want := []float64{0, 1, 0, 0, 0, 0}
	for j, w := range want {
		if y[j] != w {
			t.Errorf("special rows: %v", y)
			break
		}
	}
	for _, v := range y[6:9] {
		if !math.IsNaN(v) {
			t.Errorf("NaN row: %v", y[6:9])
		}
	}
	if math.Abs(y[9]-2.0/3) > 1e-12 || math.Abs(y[10]-1.0/3) > 1e-12 || y[11] != 0 {
		t.Errorf("overflowing row: %v, want [2/3 1/3 0]", y[9:])
	}
	var e error
	if e = StableMax(make([]float64, 2), []float64{1, 2, 3}, 3); !errors.Is(e, ErrShape) {
		t.Errorf("length mismatch: %v", e)
	}
}

// TestStableMaxBackward: the vector–Jacobian product against central
// differences of L(x) = Σ g_i·StableMax(x)_i.
func TestStableMaxBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	const rows, cols = 4, 6
	x := make([]float64, rows*cols)
	g := make([]float64, rows*cols)
	for i := range x {
		x[i] = rng.NormFloat64() * 3
		g[i] = rng.NormFloat64()
	}
	x[7] = math.Inf(-1)
	for _, temp := range []float64{1, 0.5} {
		y := make([]float64, len(x))
		if err := StableMax(y, x, cols, Temperature(temp)); err != nil {
			t.Fatal(err)
		}
		dx := make([]float64, len(x))
		if err := StableMaxBackward(dx, x, y, g, cols, Temperature(temp)); err != nil {
			t.Fatal(err)
		}
		f := func(z []float64) float64 {
			out := make([]float64, len(z))
			if err := StableMax(out, z, cols, Temperature(temp)); err != nil {
				t.Fatal(err)
			}
			var s float64
			for i, v := range out {
				s += g[i] * v
			}
			return s
		}
		if err := gradcheck.Check(f, dx, x, 1e-6, 1e-9, 1e-6); err != nil {
			t.Errorf("T %v: %v", temp, err)
		}
	}
}

// FuzzStableMax: any row gives weights in [0, 1] summing to 1, zeros for
// an all −Inf row, or NaN for a row with NaN or +Inf.
func FuzzStableMax(f *testing.F) {
	f.Add(1.0, -2.0, 0.0, 1.0)
	f.Add(1e308, -1e308, math.Inf(-1), 1e-3)
	f.Add(0.0, 0.0, 0.0, 1e300)
	f.Fuzz(func(t *testing.T, a, b, c, temp float64) {
		if !(temp > 0) || math.IsInf(temp, 0) {
			return
		}
		x := []float64{a, b, c}
		y := make([]float64, 3)
		if err := StableMax(y, x, 3, Temperature(temp)); err != nil {
			t.Fatal(err)
		}
		nan, inf := rowSpecial(x)
		switch {
		case nan || inf:
			for _, v := range y {
				if !math.IsNaN(v) {
					t.Fatalf("%v: %v, want NaN", x, y)
				}
			}
		case math.IsInf(a, -1) && math.IsInf(b, -1) && math.IsInf(c, -1):
			if y[0] != 0 || y[1] != 0 || y[2] != 0 {
				t.Fatalf("all masked: %v", y)
			}
		default:
			var s float64
			for _, v := range y {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("%v (T %v): weight %v", x, temp, v)
				}
				s += v
			}
			if math.Abs(s-1) > 1e-12 {
				t.Fatalf("%v (T %v): weights sum to %v", x, temp, s)
			}
		}
	})
}
