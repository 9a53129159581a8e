package rowstat

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refTail is the float64 definition: S = Σ exp(s(z_j − m)), T = Σ over
// every column but the first maximal one.
func refTail(z []float64, m, s float64) (sum, tail float64) {
	a := -1
	for j, v := range z {
		e := math.Exp(s * (v - m))
		sum += e
		if v == m && a < 0 {
			a = j
			continue
		}
		tail += e
	}
	return sum, tail
}

func TestTailMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cols := range []int{1, 2, 7, 100, Chunk - 1, Chunk + 3, 2*Chunk + 5} {
		for _, spread := range []float64{0.1, 3, 60} { // 60: a tail far below TailThreshold
			for _, s := range []float64{1, 0.5} {
				z := make([]float64, cols)
				for j := range z {
					z[j] = -spread * rng.Float64()
				}
				a := rng.IntN(cols)
				z[a] = 1
				m, _ := K64.MaxNaN(z)
				sum, tail, am := K64.Tail(z, m, s)
				wantSum, wantTail := refTail(z, m, s)
				if math.Abs(sum-wantSum) > 1e-13*wantSum {
					t.Errorf("cols %d spread %v s %v: sum %v, want %v", cols, spread, s, sum, wantSum)
				}
				if cols > 1 && math.Abs(tail-wantTail) > 1e-12*wantTail {
					t.Errorf("cols %d spread %v s %v: tail %v, want %v (relative error %.2g)", cols, spread, s, tail, wantTail, math.Abs(tail-wantTail)/wantTail)
				}
				if tail < TailThreshold && am != a || tail >= TailThreshold && am != -1 {
					t.Errorf("cols %d spread %v: argmax %d, want %d (tail %v)", cols, spread, am, a, tail)
				}
				z32 := make([]float32, cols)
				for j, v := range z {
					z32[j] = float32(v)
				}
				m32, _ := K32.MaxNaN(z32)
				_, tail32, _ := K32.Tail(z32, m32, float32(s))
				ref := make([]float64, cols)
				for j, v := range z32 {
					ref[j] = float64(v)
				}
				_, want32 := refTail(ref, float64(m32), s)
				if cols > 1 && math.Abs(tail32-want32) > 1e-5*want32 {
					t.Errorf("float32 cols %d spread %v: tail %v, want %v", cols, spread, tail32, want32)
				}
			}
		}
	}
}

// TestConfidentRowKeepsTail: a tail of ~1e-30 survives (no Softmax
// Collapse), where S − 1 would be 0.
func TestConfidentRowKeepsTail(t *testing.T) {
	z := []float32{0, -70, -70, 0.5, -72}
	m := float32(0.5)
	sum, tail, a := K32.Tail(z, m, 1)
	want := math.Exp(-0.5) + 2*math.Exp(-70.5) + math.Exp(-72.5)
	if a != -1 || math.Abs(sum-(1+want)) > 1e-6 || math.Abs(tail-want) > 1e-6*want {
		t.Errorf("sum %v tail %v argmax %d, want tail %v", sum, tail, a, want)
	}
	z = []float32{-70, 0, -75}
	sum, tail, a = K32.Tail(z, 0, 1)
	want = math.Exp(-70) + math.Exp(-75)
	if a != 1 || math.Abs(tail-want) > 1e-6*want || sum != 1+tail {
		t.Errorf("tail %v (argmax %d), want %v", tail, a, want)
	}
}

// TestExpSumChunks: ExpSum is the in-order sum of the Chunk pieces' sums.
func TestExpSumChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 3*Chunk+17)
	for j := range x {
		x[j] = float32(rng.NormFloat64())
	}
	var want float64
	for c := 0; c < len(x); c += Chunk {
		want += K32.ExpSumFlat(x[c:min(len(x), c+Chunk)], 0, 1)
	}
	if got := K32.ExpSum(x, 0, 1); got != want {
		t.Errorf("ExpSum %v, want the chunked sum %v", got, want)
	}
	if got, want := K32.SumExcept(x, 5), K32.Sum(x[:5])+K32.Sum(x[6:]); got != want {
		t.Errorf("SumExcept %v, want %v", got, want)
	}
	var direct float64
	for j, v := range x[:1000] {
		if j != 999 {
			direct += float64(v)
		}
	}
	if got := K32.SumExcept(x[:1000], 999); math.Abs(got-direct) > 1e-9*1000 {
		t.Errorf("SumExcept of the first 1000 without the last: %v, direct sum %v", got, direct)
	}
	if got := K32.ExpSum(nil, 0, 1); got != 0 {
		t.Errorf("ExpSum of nothing = %v", got)
	}
}

func TestAsExact(t *testing.T) {
	type f32 float32
	if AsExact[f32, float32](nil) != nil {
		t.Error("nil became non-nil")
	}
	if e := AsExact[f32, float32]([]f32{}); e == nil || len(e) != 0 {
		t.Error("an empty slice did not stay empty and non-nil")
	}
	x := []f32{1, 2}
	e := AsExact[f32, float32](x)
	e[1] = 5
	if x[1] != 5 || len(e) != 2 {
		t.Error("AsExact copied")
	}
	if For[float32]() != K32 || For[float64]() != K64 {
		t.Error("For returns the wrong table")
	}
}

func TestOverlapPartially(t *testing.T) {
	x := make([]float32, 10)
	for _, c := range []struct {
		a, b []float32
		want bool
	}{
		{x, x, false}, {x[:5], x[5:], false}, {x[2:], x, true}, {x, x[9:], true}, {x[:0], x, false}, {x[:4], x[3:], true},
		{x, make([]float32, 10), false},
	} {
		if got := OverlapPartially(c.a, c.b); got != c.want {
			t.Errorf("OverlapPartially(len %d, len %d) = %v, want %v", len(c.a), len(c.b), got, c.want)
		}
	}
}
