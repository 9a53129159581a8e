package gradcheck

import (
	"math"
	"testing"
)

func TestCheckAcceptsRightAndRejectsWrong(t *testing.T) {
	f := func(x []float64) float64 { return x[0]*x[0]*x[1] + math.Sin(x[1]) }
	x := []float64{1.5, -0.7}
	right := []float64{2 * x[0] * x[1], x[0]*x[0] + math.Cos(x[1])}
	if err := Check(f, right, x, 1e-5, 1e-8, 1e-6); err != nil {
		t.Fatal(err)
	}
	wrong := []float64{right[0], right[1] * 1.001}
	if err := Check(f, wrong, x, 1e-5, 1e-8, 1e-6); err == nil {
		t.Fatal("a wrong gradient passed")
	}
	if x[0] != 1.5 || x[1] != -0.7 {
		t.Fatal("x not restored")
	}
}

func TestNumericSkipsMasks(t *testing.T) {
	g := Numeric(func(x []float64) float64 { return x[1] * 3 }, []float64{math.Inf(-1), 2}, 1e-6)
	if g[0] != 0 || math.Abs(g[1]-3) > 1e-8 {
		t.Fatal(g)
	}
}
