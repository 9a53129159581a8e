package attention

import (
	"encoding/json"
	"testing"

	"github.com/xentlab/xent/internal/golden"
)

// TestGolden: the PyTorch reference cases (float64 autograd on the
// materialized formula, inputs rounded to float32; see
// bench/pytorch/attention_golden.py): both paths, outputs, log-normalisers
// and gradients. This pins the conventions shared with PyTorch: the
// layout, repeat_interleave for grouped-query heads, the key padding mask.
func TestGolden(t *testing.T) {
	cases, err := golden.Load("attention.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 10 {
		t.Fatalf("%d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var p struct {
				Batch, Heads, KVHeads, Queries, Keys, Dim, ValueDim int
				Causal                                              bool
				Window                                              int
				Softcap, Scale                                      float64
				Normalizer                                          string
			}
			b, _ := json.Marshal(map[string]json.RawMessage{
				"Batch": c.Params["batch"], "Heads": c.Params["heads"], "KVHeads": c.Params["kv_heads"], "Queries": c.Params["queries"],
				"Keys": c.Params["keys"], "Dim": c.Params["dim"], "ValueDim": c.Params["value_dim"], "Causal": c.Params["causal"],
				"Window": c.Params["window"], "Softcap": c.Params["softcap"], "Normalizer": c.Params["normalizer"],
			})
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			if s, ok := c.Params["scale"]; ok {
				if err := json.Unmarshal(s, &p.Scale); err != nil {
					t.Fatal(err)
				}
			}
			norm, err := ParseNormalizer(p.Normalizer)
			if err != nil {
				t.Fatal(err)
			}
			cfg := Config{Scale: p.Scale, Causal: p.Causal, Window: p.Window, Softcap: p.Softcap, Normalizer: norm}
			get := func(m map[string]json.RawMessage, k string) []float64 {
				if m[k] == nil {
					return nil
				}
				x, err := golden.Floats(m[k])
				if err != nil {
					t.Fatal(err)
				}
				return x
			}
			pr := &problem{sh: Shape{Batch: p.Batch, Heads: p.Heads, KVHeads: p.KVHeads, Queries: p.Queries, Keys: p.Keys, Dim: p.Dim, ValueDim: p.ValueDim}, cfg: cfg,
				q: get(c.Inputs, "q"), k: get(c.Inputs, "k"), v: get(c.Inputs, "v"), bias: get(c.Inputs, "bias")}
			if pad := get(c.Inputs, "key_padding"); pad != nil {
				pr.pad = make([]bool, len(pad))
				for i, x := range pad {
					pr.pad[i] = x != 0
				}
			}
			dOut := get(c.Inputs, "dout")
			want := map[string][]float64{}
			for _, k := range []string{"out", "lse", "dq", "dk", "dv"} {
				want[k] = get(c.Expect, k)
			}
			// float64 path.
			out := Output[float64]{Out: make([]float64, len(want["out"])), LSE: make([]float64, len(want["lse"]))}
			if err := Forward(cfg, pr.in64(), out); err != nil {
				t.Fatal(err)
			}
			g := Grad[float64]{DQ: make([]float64, len(pr.q)), DK: make([]float64, len(pr.k)), DV: make([]float64, len(pr.v))}
			if err := Backward(cfg, pr.in64(), out, dOut, &g); err != nil {
				t.Fatal(err)
			}
			for k, got := range map[string][]float64{"out": out.Out, "lse": out.LSE, "dq": g.DQ, "dk": g.DK, "dv": g.DV} {
				if err := closeTo(got, want[k], 1e-12, 1e-10); err != nil {
					t.Errorf("float64 %s: %v", k, err)
				}
			}
			// float32 path.
			in := pr.in32()
			o32 := Output[float32]{Out: make([]float32, len(want["out"])), LSE: make([]float32, len(want["lse"]))}
			if err := Forward(cfg, in, o32); err != nil {
				t.Fatal(err)
			}
			g32 := Grad[float32]{DQ: make([]float32, len(pr.q)), DK: make([]float32, len(pr.k)), DV: make([]float32, len(pr.v))}
			if err := Backward(cfg, in, o32, to32(dOut), &g32); err != nil {
				t.Fatal(err)
			}
			for k, got := range map[string][]float32{"out": o32.Out, "lse": o32.LSE, "dq": g32.DQ, "dk": g32.DK, "dv": g32.DV} {
				if err := closeTo(to64(got), want[k], 1e-5*(1+maxAbs(want[k])), 0); err != nil {
					t.Errorf("float32 %s: %v", k, err)
				}
			}
		})
	}
}
