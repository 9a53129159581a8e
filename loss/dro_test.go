package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDROAggregateCatalogVector(t *testing.T) {
	// Catalog B21 (recomputed with mpmath), ℓ = [0.5, 1, 2]: r = 1:
	// V = 1.36575649544, w = [0.1402443832, 0.2312238976, 0.6285317192];
	// r = 0.5: V = 1.53561686544, w = [0.04201006613, 0.1141951994,
	// 0.8437947345].
	for _, c := range []struct {
		r, v float64
		w    []float64
	}{
		{1, 1.36575649544, []float64{0.1402443832, 0.2312238976, 0.6285317192}},
		{0.5, 1.53561686544, []float64{0.04201006613, 0.1141951994, 0.8437947345}},
	} {
		w := make([]float64, 3)
		v, err := DROAggregate([]float64{0.5, 1, 2}, nil, c.r, w)
		if err != nil || math.Abs(v-c.v) > 1e-11 || !tsrClose(w, c.w, 1e-10, 0) {
			t.Errorf("r=%v: %v %v %v", c.r, v, w, err)
		}
	}
}

func refCERow(s []float64, y int) float64 { return -tsrLSM(s, 1)[y] }

func refDRO(x []float64, cols int, labels []int32, rw []float64, r float64) float64 {
	var num, mass float64
	for i := range labels {
		if labels[i] == -100 {
			continue
		}
		p := 1.0
		if rw != nil {
			p = rw[i]
		}
		num += p * math.Exp(refCERow(x[i*cols:(i+1)*cols], int(labels[i]))/r)
		mass += p
	}
	return r * math.Log(num/mass)
}

func TestDROReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(131, 132))
	const rows, cols = 5, 4
	for _, r := range []float64{0.3, 1, 5} {
		x := tsrRand(rng, rows*cols, 2)
		labels := []int32{0, 3, -100, 1, 2}
		rw := []float64{1, 2, 1, 0.5, 1}
		rr := r
		tsrVerify(t, tsrCase{
			name: "dro",
			mk:   func(opts ...Option) (Loss, error) { return NewDRO(rr, opts...) },
			in:   Input[float64]{Logits: x, Cols: cols, Labels: labels, RowWeights: rw},
			ref:  func(x []float64) float64 { return refDRO(x, cols, labels, rw, rr) },
		})
	}
}

func TestDROLimitsAndRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(133, 134))
	const rows, cols = 6, 3
	x := tsrRand(rng, rows*cols, 3)
	labels := []int32{0, 1, 2, 0, 1, 2}
	in := Input[float64]{Logits: x, Cols: cols, Labels: labels}
	ce, _ := NewCrossEntropy()
	mean, _ := ce.Eval64(in, Output[float64]{})
	var mx float64
	ls := make([]float64, rows)
	for i := range ls {
		ls[i] = refCERow(x[i*cols:(i+1)*cols], int(labels[i]))
		mx = max(mx, ls[i])
	}
	big, _ := NewDRO(1e7)
	small, _ := NewDRO(1e-4)
	rowsOut := make([]float64, rows)
	vb, _ := big.Eval64(in, Output[float64]{Rows: rowsOut})
	vs, _ := small.Eval64(in, Output[float64]{})
	if math.Abs(vb-mean) > 1e-5 || math.Abs(vs-mx) > 1e-3 {
		t.Errorf("r→∞: %v (mean %v); r→0: %v (max %v)", vb, mean, vs, mx)
	}
	if !tsrClose(rowsOut, ls, 1e-15, 1e-13) {
		t.Errorf("rows %v, want per-row losses %v", rowsOut, ls)
	}
	// Huge losses with a small r: no overflow.
	h := []float64{1e4, -1e4, 0, -1e4, 1e4, 0}
	d, _ := NewDRO(0.01)
	v, err := d.Eval32(Input[float32]{Logits: tsrTo32(h), Cols: 3, Labels: []int32{1, 0}}, Output[float32]{Grad: make([]float32, 6)})
	if err != nil || math.Abs(v-2e4) > 1 {
		t.Errorf("huge: %v %v", v, err)
	}
	// Soft targets work too.
	q := []float64{0.2, 0.3, 0.5, 1, 0, 0}
	if _, err := big.Eval64(Input[float64]{Logits: x[:6], Cols: 3, Targets: q}, Output[float64]{}); err != nil {
		t.Error(err)
	}
}

func TestDROErrors(t *testing.T) {
	if _, err := NewDRO(0); err == nil {
		t.Error("r = 0 accepted")
	}
	if _, err := NewDRO(1, WithReduction(Sum)); err == nil {
		t.Error("sum reduction accepted")
	}
	d, _ := NewDRO(1)
	_, err := d.Eval64(Input[float64]{Logits: []float64{0, 1}, Cols: 2, Labels: []int32{2}}, Output[float64]{})
	tsrWantErr(t, "label range", err, ErrValue)
	_, err = d.Eval64(Input[float64]{Logits: []float64{0, 1}, Cols: 2, Labels: []int32{0}, RowWeights: []float64{-1}}, Output[float64]{})
	tsrWantErr(t, "negative prior", err, ErrValue)
	for _, c := range []struct {
		l, p []float64
		w    error
	}{
		{[]float64{math.NaN()}, nil, ErrValue},
		{[]float64{math.Inf(1)}, nil, ErrValue},
		{[]float64{1}, []float64{-1}, ErrValue},
		{[]float64{1, 2}, []float64{1}, ErrShape},
	} {
		_, err := DROAggregate(c.l, c.p, 1, nil)
		tsrWantErr(t, "aggregate", err, c.w)
	}
	// No prior mass: 0.
	if v, err := DROAggregate([]float64{3}, []float64{0}, 1, nil); v != 0 || err != nil {
		t.Errorf("no mass: %v %v", v, err)
	}
}
