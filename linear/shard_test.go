package linear

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/loss"
)

// slice returns the head input restricted to classes [v0, v1).
func slice(in Input, v0, v1 int) Input {
	s := in
	s.Weight = in.Weight[v0*in.D : v1*in.D]
	s.V = v1 - v0
	if in.Bias != nil {
		s.Bias = in.Bias[v0:v1]
	}
	return s
}

// TestShardsMatchUnsharded splits the vocabulary in three uneven slices,
// merges their states, and compares loss and gradients with the unsharded
// head, for several option sets.
func TestShardsMatchUnsharded(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	n, d, v := 37, 11, 301
	cw := make([]float64, v)
	for i := range cw {
		cw[i] = 0.5 + rng.Float64()
	}
	for k, h := range []Head{
		{},
		{Loss: []loss.CrossEntropyOption{loss.WithLabelSmoothing(0.1), loss.WithZLoss(1e-3)}},
		{Loss: []loss.CrossEntropyOption{loss.WithSoftCap(2), loss.WithClassWeights(cw), loss.WithReduction(loss.Sum)}, Shift: 1},
		{Loss: []loss.CrossEntropyOption{loss.WithClassWeights(cw), loss.WithLabelSmoothing(0.2)}, BlockRows: 8},
	} {
		in := newProblem(rng, n, d, v, true, 1.5).in
		in.Targets[3] = -100
		in.RowWeights = make([]float32, n)
		for i := range in.RowWeights {
			in.RowWeights[i] = float32(0.5 + rng.Float64())
		}
		want := Output{GradHidden: make([]float32, n*d), GradWeight: make([]float32, v*d), GradBias: make([]float32, v), Rows: make([]float32, n)}
		ws, err := h.Eval(in, want)
		if err != nil {
			t.Fatal(err)
		}
		cuts := []int{0, 100, 101, v}
		var states [][]ShardState
		for s := 0; s+1 < len(cuts); s++ {
			st, err := h.ShardForward(slice(in, cuts[s], cuts[s+1]), cuts[s], v)
			if err != nil {
				t.Fatal(err)
			}
			states = append(states, st)
		}
		merged, err := MergeShards(states...)
		if err != nil {
			t.Fatal(err)
		}
		rows := make([]float32, n)
		got, err := h.ShardLoss(in, v, merged, rows)
		if err != nil {
			t.Fatal(err)
		}
		ctx := fmt.Sprintf("head %d", k)
		if math.Abs(got-ws.Loss) > 1e-5*math.Abs(ws.Loss) {
			t.Errorf("%s: sharded loss %v, unsharded %v", ctx, got, ws.Loss)
		}
		gh := make([]float32, n*d)
		gw := make([]float32, v*d)
		gb := make([]float32, v)
		for s := 0; s+1 < len(cuts); s++ {
			v0, v1 := cuts[s], cuts[s+1]
			out := Output{GradHidden: gh, GradWeight: gw[v0*d : v1*d], GradBias: gb[v0:v1]}
			if err := h.ShardBackward(slice(in, v0, v1), v0, v, merged, out); err != nil {
				t.Fatal(err)
			}
		}
		w64 := func(x []float32) []float64 {
			y := make([]float64, len(x))
			for i, v := range x {
				y[i] = float64(v)
			}
			return y
		}
		closeAll(t, ctx, "rows", rows, w64(want.Rows), 1e-5)
		closeAll(t, ctx, "dH", gh, w64(want.GradHidden), 1e-5)
		closeAll(t, ctx, "dW", gw, w64(want.GradWeight), 1e-5)
		closeAll(t, ctx, "db", gb, w64(want.GradBias), 1e-5)
	}
}

// TestShardNoCollapse: a confident row's tiny loss survives the merge.
func TestShardNoCollapse(t *testing.T) {
	n, d, v := 1, 1, 3
	in := Input{N: n, D: d, V: v, Hidden: []float32{1}, Weight: []float32{0, 40, 0}, Targets: []int32{1}}
	want, err := Head{}.Eval(in, Output{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Head{}.ShardForward(slice(in, 0, 1), 0, v)
	b, _ := Head{}.ShardForward(slice(in, 1, 3), 1, v)
	m, _ := MergeShards(a, b)
	got, err := Head{}.ShardLoss(in, v, m, nil)
	exact := math.Log1p(2 * math.Exp(-40))
	if err != nil || math.Abs(got-exact) > 1e-6*exact || math.Abs(want.Loss-exact) > 1e-6*exact {
		t.Fatalf("sharded %v, unsharded %v, exact %v (%v)", got, want.Loss, exact, err)
	}
}

func TestShardErrors(t *testing.T) {
	in := Input{N: 1, D: 1, V: 2, Hidden: []float32{1}, Weight: []float32{1, 2}, Targets: []int32{0}}
	if _, err := (Head{}).ShardForward(in, 2, 3); err == nil {
		t.Error("slice past the vocabulary accepted")
	}
	if _, err := MergeShards([]ShardState{{}}, nil); err == nil {
		t.Error("mismatched shard states accepted")
	}
	s, _ := Head{}.ShardForward(in, 1, 3) // target 0 lies outside [1, 3)
	if _, err := (Head{}).ShardLoss(in, 3, s, nil); err == nil {
		t.Error("a row whose target no shard held gave a loss")
	}
}
