package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func TestMultiLabelReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	cols, rows := 20, 150
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.IntN(12)) // many ties
	}
	labels := make([][]int32, rows)
	for r := range labels {
		for _, j := range rng.Perm(cols)[:rng.IntN(5)] {
			labels[r] = append(labels[r], int32(j))
		}
	}
	ks := []int{1, 3, 5, 20}
	rep, err := EvaluateMultiLabel(x, cols, labels, ks)
	if err != nil {
		t.Fatal(err)
	}
	prec, rec, ndcg := make([]float64, len(ks)), make([]float64, len(ks)), make([]float64, len(ks))
	labeled := 0
	for r := 0; r < rows; r++ {
		order := make([]int, cols)
		for j := range order {
			order[j] = j
		}
		row := x[r*cols : (r+1)*cols]
		sort.SliceStable(order, func(a, b int) bool { return row[order[a]] > row[order[b]] })
		y := labels[r]
		if len(y) > 0 {
			labeled++
		}
		for i, k := range ks {
			hits, dcg, idcg := 0, 0.0, 0.0
			for rank := 0; rank < k; rank++ {
				if slices.Contains(y, int32(order[rank])) {
					hits++
					dcg += 1 / math.Log2(float64(rank)+2)
				}
				if rank < len(y) {
					idcg += 1 / math.Log2(float64(rank)+2)
				}
			}
			prec[i] += float64(hits) / float64(k) / float64(rows)
			if len(y) > 0 {
				rec[i] += float64(hits) / float64(len(y))
				ndcg[i] += dcg / idcg
			}
		}
	}
	for i := range ks {
		rec[i] /= float64(labeled)
		ndcg[i] /= float64(labeled)
		if !closeTo(rep.Precision[i], prec[i], 1e-12, 0) || !closeTo(rep.Recall[i], rec[i], 1e-12, 0) || !closeTo(rep.NDCG[i], ndcg[i], 1e-12, 0) {
			t.Errorf("k = %d: got P %v R %v N %v, want %v %v %v", ks[i], rep.Precision[i], rep.Recall[i], rep.NDCG[i], prec[i], rec[i], ndcg[i])
		}
	}
	if rep.N != rows || rep.Labeled != labeled || rep.Recall[3] != 1 {
		t.Errorf("N %d labeled %d recall@all %v", rep.N, rep.Labeled, rep.Recall[3])
	}
}

func TestMultiLabelHand(t *testing.T) {
	// Scores rank classes 2, 0, 1, 3; labels {0, 3}.
	rep, err := EvaluateMultiLabel([]float64{0.8, 0.1, 0.9, 0}, 4, [][]int32{{0, 3}}, []int{1, 2, 4})
	if err != nil {
		t.Fatal(err)
	}
	idcg2 := 1 + 1/math.Log2(3)
	want := RankReport{K: []int{1, 2, 4}, N: 1, Labeled: 1,
		Precision: []float64{0, 0.5, 0.5}, Recall: []float64{0, 0.5, 1},
		NDCG: []float64{0, (1 / math.Log2(3)) / idcg2, (1/math.Log2(3) + 1/math.Log2(5)) / idcg2}}
	for i := range want.K {
		if !closeTo(rep.Precision[i], want.Precision[i], 1e-15, 0) || !closeTo(rep.Recall[i], want.Recall[i], 1e-15, 0) || !closeTo(rep.NDCG[i], want.NDCG[i], 1e-15, 0) {
			t.Errorf("got %+v, want %+v", rep, want)
		}
	}
}

func TestMultiLabelErrors(t *testing.T) {
	x := []float32{1, 2, 3, 4}
	for name, err := range map[string]error{
		"label range": errOf(EvaluateMultiLabel(x, 2, [][]int32{{2}, {}}, nil)),
		"duplicate":   errOf(EvaluateMultiLabel(x, 2, [][]int32{{1, 1}, {}}, nil)),
		"sets":        errOf(EvaluateMultiLabel(x, 2, [][]int32{{1}}, nil)),
		"k too big":   errOf(EvaluateMultiLabel(x, 2, [][]int32{{1}, {0}}, []int{3})),
		"NaN":         errOf(EvaluateMultiLabel([]float32{1, float32(math.NaN()), 3, 4}, 2, [][]int32{{1}, {0}}, nil)),
		"empty":       errOf(EvaluateMultiLabel([]float32{}, 2, nil, nil)),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := EvaluateMultiLabel([]float32{}, 2, nil, nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
}

func TestMargins(t *testing.T) {
	gap, margin, err := Margins([]float32{1, 3, 2, 5, 5, 0}, 3, []int32{2, 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gap, []float64{1, 0}) || !slices.Equal(margin, []float64{-1, 0}) {
		t.Errorf("gap %v margin %v", gap, margin)
	}
	// Catalog B24: m = [3, 0.5, 1.2, 0.1], G = 10, ε = 0.05 → 0.5.
	m := []float64{3, 0.5, 1.2, 0.1}
	if e, err := PredictedError(m, []float64{10}, 0.05); err != nil || e != 0.5 {
		t.Errorf("PredictedError = %v, %v; want 0.5", e, err)
	}
	// Margins uniform on (0, 1): error(ε) = ε, slope 1.
	u := make([]float64, 10000)
	for i := range u {
		u[i] = (float64(i) + 0.5) / float64(len(u))
	}
	s, err := ErrorSlope(u, []float64{1}, []float64{0.01, 0.02, 0.05, 0.1})
	if err != nil || math.Abs(s-1) > 1e-3 {
		t.Errorf("slope = %v, %v; want 1", s, err)
	}
	if _, err := PredictedError(m, []float64{1, 2}, 0.1); !errors.Is(err, ErrShape) {
		t.Errorf("grad shape: %v", err)
	}
	if _, err := ErrorSlope(m, []float64{1}, []float64{100}); !errors.Is(err, ErrEmpty) {
		t.Errorf("slope without usable ε: %v", err)
	}
}
