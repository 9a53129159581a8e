package main

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/loss"
)

// TestNaiveCTC: the benchmark's baseline computes the same loss and
// gradient as the library (so the comparison times the same work).
func TestNaiveCTC(t *testing.T) {
	tt, n, c, s := 20, 3, 7, 4
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, tt*n*c)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 2)
	}
	tg := []int32{1, 2, 2, 3, 6, 6, 6, 6, 1, 5, 1, 5}
	gb := make([]float32, len(x))
	vb := naiveCTC(gb, x, tg, tt, n, c, s, 2)
	l, _ := loss.NewCTC(0, false)
	g := make([]float32, len(x))
	v, err := l.EvalBatch32(loss.CTCInput[float32]{Logits: x, Batch: n, Classes: c, Targets: tg, TargetCols: s}, loss.CTCOutput[float32]{Grad: g})
	if err != nil || math.Abs(v-vb) > 1e-5*v {
		t.Fatalf("loss %v (%v), baseline %v", v, err, vb)
	}
	for i := range g {
		if math.Abs(float64(g[i]-gb[i])) > 1e-6 {
			t.Fatalf("grad[%d] %v, baseline %v", i, g[i], gb[i])
		}
	}
}

func TestBenchCTCSmoke(t *testing.T) {
	code, out, errs := runCLI(t, "bench", "ctc", "--frames", "30", "--batch", "3", "--classes", "40", "--target", "8", "--reps", "1", "--json")
	if code != 0 {
		t.Fatal(errs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%q", out)
	}
	for _, k := range []string{"op", "frames", "batch", "classes", "target", "threads", "ours_s", "baseline", "baseline_s", "speedup"} {
		if _, ok := res[k]; !ok {
			t.Errorf("key %s missing in %s", k, out)
		}
	}
	if code, _, _ := runCLI(t, "bench", "ctc", "--classes", "1"); code != 2 {
		t.Error("one class accepted")
	}
}
