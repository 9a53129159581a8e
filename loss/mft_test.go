package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refMFT computes the four modes directly from grouped token losses.
func refMFT(mode int, ls []float64, valid []bool, samples, tasks []int32, tw []float64) float64 {
	type grp struct {
		sum float64
		n   int
	}
	sm := map[int32]*grp{}
	tm := map[int32]*grp{}
	st := map[int32]int32{}
	var tot float64
	var n int
	for i, l := range ls {
		if !valid[i] {
			continue
		}
		if sm[samples[i]] == nil {
			sm[samples[i]] = &grp{}
		}
		if tm[tasks[i]] == nil {
			tm[tasks[i]] = &grp{}
		}
		sm[samples[i]].sum += l
		sm[samples[i]].n++
		tm[tasks[i]].sum += l
		tm[tasks[i]].n++
		st[samples[i]] = tasks[i]
		tot += l
		n++
	}
	w := func(t int32) float64 {
		if tw == nil {
			return 1
		}
		return tw[t]
	}
	switch mode {
	case 1:
		return tot / float64(n)
	case 2:
		var s float64
		for _, g := range sm {
			s += g.sum / float64(g.n)
		}
		return s / float64(len(sm))
	case 3:
		var s, W float64
		for t, g := range tm {
			s += w(t) * g.sum / float64(g.n)
			W += w(t)
		}
		return s / W
	}
	var s, W float64
	for t := range tm {
		var ms float64
		var k int
		for sid, g := range sm {
			if st[sid] == t {
				ms += g.sum / float64(g.n)
				k++
			}
		}
		s += w(t) * ms / float64(k)
		W += w(t)
	}
	return s / W
}

func TestMFTCatalogVector(t *testing.T) {
	// Catalog A28: task A samples [1, 2] and [3], task B [0.5 ×4]: case1
	// 8/7, case2 5/3, case3 1.25 (task means 2 and 0.5), case4 1.375; the
	// case3 token coefficients are 1/6 (A) and 1/8 (B).
	ls := []float64{1, 2, 3, 0.5, 0.5, 0.5, 0.5}
	samples := []int32{0, 0, 1, 2, 2, 2, 2}
	tasks := []int32{0, 0, 0, 1, 1, 1, 1}
	valid := []bool{true, true, true, true, true, true, true}
	for mode, want := range map[int]float64{1: 8.0 / 7, 2: 5.0 / 3, 3: 1.25, 4: 1.375} {
		c := make([]float64, 7)
		if err := MFTCoefficients(mode, valid, samples, tasks, nil, c); err != nil {
			t.Fatal(err)
		}
		var v float64
		for i := range c {
			v += c[i] * ls[i]
		}
		if math.Abs(v-want) > 1e-15 {
			t.Errorf("case%d: %v, want %v", mode, v, want)
		}
		if mode == 3 && (math.Abs(c[0]-1.0/6) > 1e-17 || math.Abs(c[4]-1.0/8) > 1e-17) {
			t.Errorf("case3 coefficients %v", c)
		}
	}
}

func TestMFTReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(141, 142))
	const rows, cols = 12, 5
	x := tsrRand(rng, rows*cols, 2)
	labels := []int32{0, 1, -100, 4, 2, 2, 3, -100, 1, 0, 4, 3}
	samples := []int32{7, 7, 7, 3, 3, 9, 9, 9, 9, 4, 4, 5}
	tasks := []int32{1, 1, 1, 0, 0, 2, 2, 2, 2, 0, 0, 1}
	tw := []float64{0.5, 1, 2}
	valid := make([]bool, rows)
	for i := range valid {
		valid[i] = labels[i] != -100
	}
	for mode := 1; mode <= 4; mode++ {
		md := mode
		m, _ := NewMFT(md)
		m = m.ForBatch(samples, tasks).WithTaskWeights(tw)
		tsrVerify(t, tsrCase{
			name: "mft",
			mk:   func(...Option) (Loss, error) { return m, nil },
			in:   Input[float64]{Logits: x, Cols: cols, Labels: labels},
			ref: func(x []float64) float64 {
				ls := make([]float64, rows)
				for i := range ls {
					if valid[i] {
						ls[i] = refCERow(x[i*cols:(i+1)*cols], int(labels[i]))
					}
				}
				return refMFT(md, ls, valid, samples, tasks, tw)
			},
		})
	}
	// Rows are the shares c_t·ℓ_t and add up to the loss.
	m, _ := NewMFT(4)
	m = m.ForBatch(samples, tasks)
	rowsOut := make([]float64, rows)
	v, err := m.Eval64(Input[float64]{Logits: x, Cols: cols, Labels: labels}, Output[float64]{Rows: rowsOut})
	var s float64
	for _, r := range rowsOut {
		s += r
	}
	if err != nil || math.Abs(s-v) > 1e-14 || rowsOut[2] != 0 {
		t.Errorf("rows %v (Σ %v), loss %v, %v", rowsOut, s, v, err)
	}
}

func TestMFTEdges(t *testing.T) {
	rng := rand.New(rand.NewPCG(143, 144))
	x := tsrRand(rng, 4*3, 1)
	labels := []int32{0, 1, 2, 1}
	in := Input[float64]{Logits: x, Cols: 3, Labels: labels}
	ce, _ := NewCrossEntropy()
	want, _ := ce.Eval64(in, Output[float64]{})
	// Without ids every mode is the token mean.
	for mode := 1; mode <= 4; mode++ {
		m, _ := NewMFT(mode)
		if v, err := m.Eval64(in, Output[float64]{}); err != nil || math.Abs(v-want) > 1e-15 {
			t.Errorf("mode %d without ids: %v, want %v (%v)", mode, v, want, err)
		}
	}
	// A sample whose tokens are all ignored is left out (no NaN).
	m, _ := NewMFT(2)
	m = m.ForBatch([]int32{0, 0, 1, 1}, nil)
	v, err := m.Eval64(Input[float64]{Logits: x, Cols: 3, Labels: []int32{0, 1, -100, -100}}, Output[float64]{})
	w := (refCERow(x[0:3], 0) + refCERow(x[3:6], 1)) / 2
	if err != nil || math.Abs(v-w) > 1e-15 {
		t.Errorf("empty sample: %v, want %v (%v)", v, w, err)
	}
	// All ignored: 0.
	if v, err := m.Eval64(Input[float64]{Logits: x, Cols: 3, Labels: []int32{-100, -100, -100, -100}}, Output[float64]{}); v != 0 || err != nil {
		t.Errorf("all ignored: %v %v", v, err)
	}
	// Errors.
	bad := m.ForBatch([]int32{0, 0, 1, 1}, []int32{0, 1, 1, 1})
	_, err = bad.Eval64(in, Output[float64]{})
	tsrWantErr(t, "sample in two tasks", err, ErrValue)
	bad = m.ForBatch(nil, []int32{0, 0, 5, 1}).WithTaskWeights([]float64{1, 1})
	_, err = bad.Eval64(in, Output[float64]{})
	tsrWantErr(t, "task without weight", err, ErrValue)
	bad = m.ForBatch(nil, []int32{0, 0, 1})
	_, err = bad.Eval64(in, Output[float64]{})
	tsrWantErr(t, "short tasks", err, ErrShape)
	_, err = m.Eval64(Input[float64]{Logits: x, Cols: 3, Labels: labels, RowWeights: []float64{1, 1, 1, 1}}, Output[float64]{})
	tsrWantErr(t, "row weights", err, ErrShape)
	if _, err := NewMFT(5); err == nil {
		t.Error("mode 5 accepted")
	}
	if _, _, err := Parse("mft:mode=2.5"); err == nil {
		t.Error("mode 2.5 accepted")
	}
}
