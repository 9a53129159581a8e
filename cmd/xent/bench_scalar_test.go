package main

import (
	"math"
	"testing"
)

// ulpDiff is |got − want| in units of float32's spacing at want.
func ulpDiff(got float32, want float64) float64 {
	w := float32(want)
	ulp := float64(math.Nextafter32(w, float32(math.Inf(1))) - w)
	return math.Abs(float64(got)-want) / ulp
}

// TestScalarExp32 checks the baseline's exponential against math.Exp on
// a dense grid and at the edges of its range.
func TestScalarExp32(t *testing.T) {
	worst := 0.0
	for i := 0; i <= 2000000; i++ {
		x := float32(-87.3 + (88.7+87.3)*float64(i)/2000000)
		if d := ulpDiff(scalarExp32(x), math.Exp(float64(x))); d > worst {
			worst = d
		}
	}
	if worst > 2 {
		t.Errorf("worst error %.2f ulp, want ≤ 2", worst)
	}
	for _, c := range []struct {
		x    float32
		want float32
	}{
		{0, 1}, {-88, 0}, {-1000, 0}, {float32(math.Inf(-1)), 0}, {89, float32(math.Inf(1))}, {float32(math.Inf(1)), float32(math.Inf(1))},
	} {
		if got := scalarExp32(c.x); got != c.want {
			t.Errorf("exp(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := scalarExp32(float32(math.NaN())); got == got {
		t.Errorf("exp(NaN) = %v", got)
	}
	// The largest x below the overflow bound stays finite and accurate.
	x := float32(88.72283)
	if d := ulpDiff(scalarExp32(x), math.Exp(float64(x))); d > 2 {
		t.Errorf("exp(%v): %.2f ulp", x, d)
	}
}

// TestScalarRowwise checks the baseline's three ops against float64
// references written from the definitions.
func TestScalarRowwise(t *testing.T) {
	const cols = 7
	x := []float32{1, 2, 3, -4, 0.5, 30, -30, 0, 0, 0, 0, 0, 0, 0, -80, -90, -100, -110, -120, -130, -140}
	inf := float32(math.Inf(-1))
	x = append(x, inf, inf, 5, inf, inf, inf, inf) // a masked row
	rows := len(x) / cols
	sm := make([]float32, len(x))
	ls := make([]float32, len(x))
	lse := make([]float32, rows)
	scalarRowwise("softmax", sm, x, cols, 2)
	scalarRowwise("logsoftmax", ls, x, cols, 2)
	scalarRowwise("lse", lse, x, cols, 2)
	for r := 0; r < rows; r++ {
		var s float64
		for _, v := range x[r*cols : (r+1)*cols] {
			s += math.Exp(float64(v))
		}
		want := math.Log(s)
		if math.Abs(float64(lse[r])-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("row %d: lse %v, want %v", r, lse[r], want)
		}
		for j := 0; j < cols; j++ {
			v := float64(x[r*cols+j])
			p := math.Exp(v - want)
			if math.Abs(float64(sm[r*cols+j])-p) > 1e-5*p+1e-37 {
				t.Errorf("row %d col %d: softmax %v, want %v", r, j, sm[r*cols+j], p)
			}
			lp := v - want
			if math.IsInf(lp, -1) {
				if !math.IsInf(float64(ls[r*cols+j]), -1) {
					t.Errorf("row %d col %d: log-softmax %v, want -Inf", r, j, ls[r*cols+j])
				}
			} else if math.Abs(float64(ls[r*cols+j])-lp) > 1e-5*math.Max(1, math.Abs(lp)) {
				t.Errorf("row %d col %d: log-softmax %v, want %v", r, j, ls[r*cols+j], lp)
			}
		}
	}
}

func TestBenchSoftmaxReportsRoofBandwidth(t *testing.T) {
	for _, op := range []string{"softmax", "logsoftmax", "lse"} {
		code, out, errs := runCLI(t, "bench", op, "--rows", "8", "--cols", "1000", "--reps", "1", "--json")
		res := decodeJSON(t, out)
		if code != 0 || res["baseline"] != "go-scalar" || res["roof_gbps"] == nil || res["speedup"] == nil {
			t.Errorf("%s: exit %d %s %s", op, code, out, errs)
		}
	}
}
