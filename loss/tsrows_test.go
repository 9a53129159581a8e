package loss

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// Helpers shared by the tests of the distillation, sequence and group
// losses. The references here are written from the formulas, directly
// and without the stable forms of the code under test (only a max-shift
// so that large logits do not overflow).

// tsrLSM is a reference log softmax(x/T) (max-shifted; −Inf entries stay
// −Inf).
func tsrLSM(x []float64, T float64) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	var s float64
	for _, v := range x {
		s += math.Exp((v - m) / T)
	}
	out := make([]float64, len(x))
	for j, v := range x {
		out[j] = (v-m)/T - math.Log(s)
	}
	return out
}

func tsrSM(x []float64, T float64) []float64 {
	l := tsrLSM(x, T)
	for j, v := range l {
		l[j] = math.Exp(v)
	}
	return l
}

func tsrRand(rng *rand.Rand, n int, scale float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64() * scale
	}
	return x
}

func tsrTo32(x []float64) []float32 {
	if x == nil {
		return nil
	}
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func tsrIn32(in Input[float64]) Input[float32] {
	return Input[float32]{Logits: tsrTo32(in.Logits), Cols: in.Cols, Labels: in.Labels, Labels64: in.Labels64,
		Targets: tsrTo32(in.Targets), Teacher: tsrTo32(in.Teacher), RowWeights: tsrTo32(in.RowWeights)}
}

// tsrCase is one check of a loss against a reference of its Mean value
// as a function of the logits.
type tsrCase struct {
	name string
	mk   func(opts ...Option) (Loss, error)
	in   Input[float64]
	ref  func(x []float64) float64
	// den is the Mean denominator (Σ r_i over the counted rows), to tie
	// Mean, Sum and None together; 0 skips that check.
	den float64
	// rtol for the value against the reference (default 1e-11).
	rtol float64
}

// tsrVerify checks the value against the reference, the gradient against
// central differences of the reference, float32 against float64, and
// Mean·den = Sum = Σ Rows (None).
func tsrVerify(t *testing.T, c tsrCase) {
	t.Helper()
	l, err := c.mk()
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	in := c.in
	x := append([]float64(nil), in.Logits...)
	in.Logits = x
	g := make([]float64, len(x))
	got, err := l.Eval64(in, Output[float64]{Grad: g})
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	want := c.ref(x)
	rtol := c.rtol
	if rtol == 0 {
		rtol = 1e-11
	}
	if math.Abs(got-want) > 1e-13+rtol*math.Abs(want) {
		t.Errorf("%s: loss %.15g, reference %.15g", c.name, got, want)
	}
	if err := gradcheck.Check(c.ref, g, x, 1e-5, 1e-8, 1e-6); err != nil {
		t.Errorf("%s: gradient: %v", c.name, err)
	}
	// float32 against float64.
	in32 := tsrIn32(in)
	g32 := make([]float32, len(x))
	got32, err := l.Eval32(in32, Output[float32]{Grad: g32})
	if err != nil {
		t.Fatalf("%s float32: %v", c.name, err)
	}
	// The float64 loss at the float32-rounded inputs.
	in64r := in
	in64r.Logits = tsrTo64(in32.Logits)
	in64r.Teacher = tsrTo64(in32.Teacher)
	in64r.Targets = tsrTo64(in32.Targets)
	in64r.RowWeights = tsrTo64(in32.RowWeights)
	g64r := make([]float64, len(x))
	want32, err := l.Eval64(in64r, Output[float64]{Grad: g64r})
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	if math.Abs(got32-want32) > 1e-6+1e-5*math.Abs(want32) {
		t.Errorf("%s: float32 loss %.9g, float64 %.9g", c.name, got32, want32)
	}
	for j := range g32 {
		if math.Abs(float64(g32[j])-g64r[j]) > 1e-6+1e-5*math.Abs(g64r[j]) {
			t.Errorf("%s: float32 gradient %d: %.9g, float64 %.9g", c.name, j, g32[j], g64r[j])
			break
		}
	}
	if c.den == 0 {
		return
	}
	ls, err := c.mk(WithReduction(Sum))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ls.Eval64(in, Output[float64]{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(sum-got*c.den) > 1e-12*(1+math.Abs(sum)) {
		t.Errorf("%s: sum %.15g, mean·den %.15g", c.name, sum, got*c.den)
	}
	ln, err := c.mk(WithReduction(None))
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]float64, len(x)/in.Cols)
	none, err := ln.Eval64(in, Output[float64]{Rows: rows})
	if err != nil {
		t.Fatal(err)
	}
	var rs float64
	for _, v := range rows {
		rs += v
	}
	if math.Abs(none-sum) > 1e-12*(1+math.Abs(sum)) || math.Abs(rs-sum) > 1e-12*(1+math.Abs(sum)) {
		t.Errorf("%s: none %.15g, Σ rows %.15g, sum %.15g", c.name, none, rs, sum)
	}
}

func tsrTo64(x []float32) []float64 {
	if x == nil {
		return nil
	}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// tsrMeanRows averages f over the rows of x (weighted by rw, nil: 1),
// skipping rows where skip returns true.
func tsrMeanRows(x, te []float64, cols int, rw []float64, skip func(i int) bool, f func(i int, s, t []float64) float64) float64 {
	var tot, den float64
	for i := 0; i < len(x)/cols; i++ {
		if skip != nil && skip(i) {
			continue
		}
		w := 1.0
		if rw != nil {
			w = rw[i]
		}
		var trow []float64
		if te != nil {
			trow = te[i*cols : (i+1)*cols]
		}
		tot += w * f(i, x[i*cols:(i+1)*cols], trow)
		den += w
	}
	if den == 0 {
		return 0
	}
	return tot / den
}

// tsrWantErr checks that err wraps target.
func tsrWantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err %v, want %v", what, err, target)
	}
}

// tsrClose reports whether got and want agree to atol + rtol·|want|
// element by element.
func tsrClose(got, want []float64, atol, rtol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !(math.Abs(got[i]-want[i]) <= atol+rtol*math.Abs(want[i])) {
			return false
		}
	}
	return true
}
