package loss

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/xentlab/xent/internal/golden"
)

// The public reference cases (PyTorch, float64 expectations from float32
// inputs): loss relative error ≤ 1e-5, gradient absolute error
// ≤ 1e-6 + 1e-5·|g|.
func checkGolden(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-5*math.Abs(want)+1e-12 {
		t.Errorf("%s: loss %.10g, want %.10g", name, got, want)
	}
}

func checkGoldenGrad(t *testing.T, name string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d gradient entries, want %d", name, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i])-want[i]) > 1e-6+1e-5*math.Abs(want[i]) {
			t.Errorf("%s: grad[%d] = %.9g, want %.9g", name, i, got[i], want[i])
			return
		}
	}
}

func param(c golden.Case, key string) (float64, bool) {
	raw, ok := c.Params[key]
	if !ok {
		return 0, false
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, false
	}
	return v, true
}

func reductionOf(t *testing.T, c golden.Case) Reduction {
	var s string
	if err := json.Unmarshal(c.Params["reduction"], &s); err != nil {
		t.Fatal(c.Name, err)
	}
	if s == "batchmean" {
		return Mean
	}
	r, err := ParseReduction(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGoldenCrossEntropy(t *testing.T) {
	cases, err := golden.Load("cross_entropy.jsonl")
	if err != nil || len(cases) == 0 {
		t.Fatal(len(cases), err)
	}
	for _, c := range cases {
		logits, _ := golden.Float32s(c.Inputs["logits"])
		cols, _ := golden.Int(c.Inputs["cols"])
		red := reductionOf(t, c)
		opts := []CrossEntropyOption{WithReduction(red)}
		if v, ok := param(c, "ignore_index"); ok {
			opts = append(opts, WithIgnoreIndex(int64(v)))
		}
		if v, ok := param(c, "label_smoothing"); ok {
			opts = append(opts, WithLabelSmoothing(v))
		}
		if v, ok := param(c, "z_loss"); ok {
			opts = append(opts, WithZLoss(v))
		}
		if v, ok := param(c, "softcap"); ok {
			opts = append(opts, WithSoftCap(v))
		}
		if raw, ok := c.Inputs["weight"]; ok {
			w, _ := golden.Floats(raw)
			opts = append(opts, WithClassWeights(w))
		}
		ce, err := NewCrossEntropy(opts...)
		if err != nil {
			t.Fatal(c.Name, err)
		}
		in := Input[float32]{Logits: logits, Cols: cols}
		if raw, ok := c.Inputs["soft_targets"]; ok {
			in.Targets, _ = golden.Float32s(raw)
		} else {
			y, _ := golden.Floats(c.Inputs["targets"])
			for _, v := range y {
				in.Labels64 = append(in.Labels64, int64(v))
			}
		}
		rows := len(logits) / cols
		out := Output[float32]{Grad: make([]float32, len(logits)), Rows: make([]float32, rows)}
		got, err := ce.Eval32(in, out)
		if err != nil {
			t.Fatal(c.Name, err)
		}
		wantLoss, _ := golden.Floats(c.Expect["loss"])
		wantGrad, _ := golden.Floats(c.Expect["grad"])
		if red == None {
			for i := range wantLoss {
				checkGolden(t, c.Name, float64(out.Rows[i]), wantLoss[i])
			}
		} else {
			checkGolden(t, c.Name, got, wantLoss[0])
		}
		checkGoldenGrad(t, c.Name, out.Grad, wantGrad)
	}
}

func TestGoldenBCE(t *testing.T) {
	cases, err := golden.Load("bce.jsonl")
	if err != nil || len(cases) == 0 {
		t.Fatal(len(cases), err)
	}
	for _, c := range cases {
		logits, _ := golden.Float32s(c.Inputs["logits"])
		targets, _ := golden.Float32s(c.Inputs["targets"])
		cols, _ := golden.Int(c.Inputs["cols"])
		var pw []float64
		if raw, ok := c.Inputs["pos_weight"]; ok {
			pw, _ = golden.Floats(raw)
		}
		b, err := NewBCEWithLogits(WithPosWeight(pw), WithReduction(reductionOf(t, c)))
		if err != nil {
			t.Fatal(err)
		}
		g := make([]float32, len(logits))
		got, err := b.Eval32(Input[float32]{Logits: logits, Cols: cols, Targets: targets}, Output[float32]{Grad: g})
		if err != nil {
			t.Fatal(c.Name, err)
		}
		want, _ := golden.Floats(c.Expect["loss"])
		wantGrad, _ := golden.Floats(c.Expect["grad"])
		checkGolden(t, c.Name, got, want[0])
		checkGoldenGrad(t, c.Name, g, wantGrad)
	}
}

func TestGoldenKD(t *testing.T) {
	cases, err := golden.Load("kd.jsonl")
	if err != nil || len(cases) == 0 {
		t.Fatal(len(cases), err)
	}
	for _, c := range cases {
		s, _ := golden.Float32s(c.Inputs["student"])
		te, _ := golden.Float32s(c.Inputs["teacher"])
		cols, _ := golden.Int(c.Inputs["cols"])
		temp, _ := param(c, "temperature")
		k, err := NewKD(temp, WithReduction(reductionOf(t, c)))
		if err != nil {
			t.Fatal(err)
		}
		g := make([]float32, len(s))
		got, err := k.Eval32(Input[float32]{Logits: s, Cols: cols, Teacher: te}, Output[float32]{Grad: g})
		if err != nil {
			t.Fatal(c.Name, err)
		}
		want, _ := golden.Floats(c.Expect["loss"])
		wantGrad, _ := golden.Floats(c.Expect["grad"])
		checkGolden(t, c.Name, got, want[0])
		checkGoldenGrad(t, c.Name, g, wantGrad)
	}
}
