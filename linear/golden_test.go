package linear

import (
	"encoding/json"
	"math"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/xentlab/xent/internal/golden"
	"github.com/xentlab/xent/loss"
)

// measureAlloc returns the bytes allocated while f runs. Two collections
// first empty the buffer pools (a pooled item survives one collection in
// the victim cache), so every measurement starts cold and two measurements
// differ only by what depends on the shapes. The collector is off while f
// runs: a collection in the middle would empty the pools again and count
// their refill as growth.
func measureAlloc(f func()) int64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return int64(b.TotalAlloc - a.TotalAlloc)
}

// runGolden checks the public reference cases (PyTorch, float64 from
// float32 inputs): loss relative error ≤ 1e-5, gradients absolute error
// ≤ 1e-6 + 1e-5·|g|.
func runGolden(t *testing.T) {
	cases, err := golden.Load("linear_ce.jsonl")
	if err != nil || len(cases) == 0 {
		t.Fatal(len(cases), err)
	}
	for _, c := range cases {
		h, _ := golden.Float32s(c.Inputs["hidden"])
		w, _ := golden.Float32s(c.Inputs["classifier"])
		d, _ := golden.Int(c.Inputs["dim"])
		y, _ := golden.Floats(c.Inputs["targets"])
		in := Input{Hidden: h, N: len(h) / d, D: d, Weight: w, V: len(w) / d}
		for _, v := range y {
			in.Targets64 = append(in.Targets64, int64(v))
		}
		if raw, ok := c.Inputs["bias"]; ok {
			in.Bias, _ = golden.Float32s(raw)
		}
		var head Head
		var red string
		json.Unmarshal(c.Params["reduction"], &red)
		r, err := loss.ParseReduction(red)
		if err != nil {
			t.Fatal(err)
		}
		head.Loss = append(head.Loss, loss.WithReduction(r))
		num := func(key string) (float64, bool) {
			raw, ok := c.Params[key]
			var v float64
			if ok && json.Unmarshal(raw, &v) == nil {
				return v, true
			}
			return 0, false
		}
		if v, ok := num("ignore_index"); ok {
			head.Loss = append(head.Loss, loss.WithIgnoreIndex(int64(v)))
		}
		if v, ok := num("label_smoothing"); ok {
			head.Loss = append(head.Loss, loss.WithLabelSmoothing(v))
		}
		if v, ok := num("z_loss"); ok {
			head.Loss = append(head.Loss, loss.WithZLoss(v))
		}
		if v, ok := num("softcap"); ok {
			head.Loss = append(head.Loss, loss.WithSoftCap(v))
		}
		out := Output{GradHidden: make([]float32, len(h)), GradWeight: make([]float32, len(w)), Rows: make([]float32, in.N)}
		if in.Bias != nil {
			out.GradBias = make([]float32, in.V)
		}
		st, err := head.Eval(in, out)
		if err != nil {
			t.Fatal(c.Name, err)
		}
		want, _ := golden.Floats(c.Expect["loss"])
		got := st.Loss
		if r == loss.None {
			for i := range want {
				if math.Abs(float64(out.Rows[i])-want[i]) > 1e-5*math.Abs(want[i])+1e-12 {
					t.Errorf("%s: row %d loss %v, want %v", c.Name, i, out.Rows[i], want[i])
				}
			}
		} else if math.Abs(got-want[0]) > 1e-5*math.Abs(want[0])+1e-12 {
			t.Errorf("%s: loss %v, want %v", c.Name, got, want[0])
		}
		for _, pair := range []struct {
			key string
			got []float32
		}{{"grad_hidden", out.GradHidden}, {"grad_classifier", out.GradWeight}, {"grad_bias", out.GradBias}} {
			raw, ok := c.Expect[pair.key]
			if !ok {
				continue
			}
			want, _ := golden.Floats(raw)
			for i := range want {
				if math.Abs(float64(pair.got[i])-want[i]) > 1e-6+1e-5*math.Abs(want[i]) {
					t.Errorf("%s: %s[%d] = %v, want %v", c.Name, pair.key, i, pair.got[i], want[i])
					break
				}
			}
		}
	}
}
