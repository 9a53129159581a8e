package attention

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// refFeature is φ(x) = max([softmax(xW), softmax(−xW)], 1e-12) from the
// definition, with the softmax written as exp/Σexp without a shift.
func refFeature(x, w []float64, dim, f int) []float64 {
	u := make([]float64, f)
	for c := range f {
		for p := range dim {
			u[c] += x[p] * w[p*f+c]
		}
	}
	out := make([]float64, 2*f)
	var sp, sn float64
	for _, v := range u {
		sp += math.Exp(v)
		sn += math.Exp(-v)
	}
	for c, v := range u {
		out[c] = math.Max(math.Exp(v)/sp, 1e-12)
		out[f+c] = math.Max(math.Exp(-v)/sn, 1e-12)
	}
	return out
}

func TestFeatureMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	rows, dim, f := 5, 7, 6
	x, w := make([]float64, rows*dim), make([]float64, dim*f)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for i := range w {
		w[i] = rng.NormFloat64() * 3 // some features below the floor
	}
	got := make([]float64, rows*2*f)
	if err := FeatureMap(got, x, rows, dim, w, f); err != nil {
		t.Fatal(err)
	}
	got32 := make([]float32, rows*2*f)
	if err := FeatureMap(got32, to32(x), rows, dim, to32(w), f); err != nil {
		t.Fatal(err)
	}
	for r := range rows {
		want := refFeature(x[r*dim:(r+1)*dim], w, dim, f)
		if err := closeTo(got[r*2*f:(r+1)*2*f], want, 0, 1e-13); err != nil {
			t.Errorf("row %d: %v", r, err)
		}
		if err := closeTo(to64(got32[r*2*f:(r+1)*2*f]), want, 0, 2e-6); err != nil {
			t.Errorf("float32 row %d: %v", r, err)
		}
	}
	// A one-feature map is [1, 1]; errors.
	one := make([]float64, 2)
	if err := FeatureMap(one, []float64{3}, 1, 1, []float64{2}, 1); err != nil || one[0] != 1 || one[1] != 1 {
		t.Errorf("one feature: %v %v", one, err)
	}
	if err := FeatureMap(one, []float64{3}, 1, 1, []float64{2, 1}, 1); !errors.Is(err, ErrShape) {
		t.Errorf("bad w: %v", err)
	}
	if err := FeatureMap(one, []float64{math.NaN()}, 1, 1, []float64{2}, 1); !errors.Is(err, ErrValue) {
		t.Errorf("NaN x: %v", err)
	}
}

// refLinear is LoLCATs' quadratic form: the window and linear masks of
// the authors' hybrid_attention_quadratic, with the mask aligned to the
// end of the keys.
func refLinear(pr *problem, fq, fk []float64, nf, fkHeads int, c LinearConfig) []float64 {
	B, H, Hkv, S, T, D, Dv := pr.dims()
	lam := c.LinearFactor
	if lam == 0 {
		lam = 1
	}
	scale := c.Scale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(D))
	}
	out := make([]float64, B*H*S*Dv)
	for b := range B {
		for h := range H {
			g := h / (H / Hkv)
			fkh := h
			if fkHeads == Hkv {
				fkh = g
			}
			for i := range S {
				ip := i + T - S
				a := make([]float64, T)
				// Window part: γ·exp(s − max over the window).
				m := math.Inf(-1)
				s := make([]float64, T)
				for j := range T {
					win := c.Window > 0 && j <= ip && j > ip-c.Window
					s[j] = -1e8 // the authors' mask value
					if win {
						s[j] = 0
						for x := range D {
							s[j] += pr.q[((b*H+h)*S+i)*D+x] * pr.k[((b*Hkv+g)*T+j)*D+x]
						}
						s[j] *= scale
					}
					m = math.Max(m, s[j])
				}
				for j := range T {
					if c.Window > 0 && j <= ip && j > ip-c.Window {
						a[j] = c.WindowFactor * math.Exp(s[j]-m)
					}
					if j <= ip-c.Window {
						var l float64
						for f := range nf {
							l += fq[((b*H+h)*S+i)*nf+f] * fk[((b*fkHeads+fkh)*T+j)*nf+f]
						}
						a[j] += lam * l
					}
				}
				var den float64
				for _, v := range a {
					den += v
				}
				for j := range T {
					for x := range Dv {
						if den > 0 {
							out[((b*H+h)*S+i)*Dv+x] += a[j] / den * pr.v[((b*Hkv+g)*T+j)*Dv+x]
						}
					}
				}
			}
		}
	}
	return out
}

func TestLinearAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, tc := range []struct {
		name    string
		sh      Shape
		cfg     LinearConfig
		perHead bool // fk per query head
	}{
		{"linear", Shape{Batch: 2, Heads: 2, Queries: 9, Keys: 9, Dim: 4}, LinearConfig{}, true},
		{"hybrid", Shape{Batch: 1, Heads: 2, Queries: 20, Keys: 20, Dim: 6}, LinearConfig{Window: 4, WindowFactor: 0.1}, true},
		{"hybrid gqa S<T", Shape{Batch: 1, Heads: 4, KVHeads: 2, Queries: 5, Keys: 30, Dim: 5, ValueDim: 3}, LinearConfig{Window: 7, WindowFactor: 0.3, LinearFactor: 0.7, Scale: 0.5}, false},
		{"hybrid S>T", Shape{Batch: 1, Heads: 1, Queries: 12, Keys: 6, Dim: 3}, LinearConfig{Window: 2, WindowFactor: 1}, true},
		{"window covers all", Shape{Batch: 1, Heads: 1, Queries: 8, Keys: 8, Dim: 3}, LinearConfig{Window: 100, WindowFactor: 0.5}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := newProblem(rng, tc.sh, Config{}, 1)
			B, H, Hkv, S, T, D, _ := pr.dims()
			f := 3
			nf := 2 * f
			fkHeads := Hkv
			if tc.perHead {
				fkHeads = H
			}
			w := make([]float64, D*f)
			for i := range w {
				w[i] = rng.NormFloat64()
			}
			fq, fk := make([]float64, B*H*S*nf), make([]float64, B*fkHeads*T*nf)
			if err := FeatureMap(fq, pr.q, B*H*S, D, w, f); err != nil {
				t.Fatal(err)
			}
			kk := pr.k
			if tc.perHead { // keys repeated for the query heads, as LoLCATs does
				kk = make([]float64, B*H*T*D)
				for b := range B {
					for h := range H {
						copy(kk[((b*H+h)*T)*D:((b*H+h)*T+T)*D], pr.k[((b*Hkv+h/(H/Hkv))*T)*D:])
					}
				}
			}
			if err := FeatureMap(fk, kk, B*fkHeads*T, D, w, f); err != nil {
				t.Fatal(err)
			}
			want := refLinear(pr, fq, fk, nf, fkHeads, tc.cfg)
			got := make([]float64, len(want))
			in := LinearInput[float64]{Q: pr.q, K: pr.k, V: pr.v, FQ: fq, FK: fk, Shape: tc.sh, Features: nf}
			if err := LinearAttention(tc.cfg, in, got); err != nil {
				t.Fatal(err)
			}
			if err := closeTo(got, want, 1e-12, 1e-12); err != nil {
				t.Errorf("float64: %v", err)
			}
			got32 := make([]float32, len(want))
			in32 := LinearInput[float32]{Q: to32(pr.q), K: to32(pr.k), V: to32(pr.v), FQ: to32(fq), FK: to32(fk), Shape: tc.sh, Features: nf}
			tc.cfg.Threads = 3
			if err := LinearAttention(tc.cfg, in32, got32); err != nil {
				t.Fatal(err)
			}
			if err := closeTo(to64(got32), want, 2e-6*maxAbs(pr.v), 0); err != nil {
				t.Errorf("float32: %v", err)
			}
			if tc.name == "window covers all" {
				// Every key in the window: causal softmax attention.
				out := Output[float64]{Out: make([]float64, len(want))}
				if err := Forward(Config{Causal: true}, pr.in64(), out); err != nil {
					t.Fatal(err)
				}
				if err := closeTo(got, out.Out, 1e-12, 1e-12); err != nil {
					t.Errorf("against softmax attention: %v", err)
				}
			}
		})
	}
}

func TestLinearAttentionErrors(t *testing.T) {
	sh := Shape{Batch: 1, Heads: 1, Queries: 2, Keys: 2, Dim: 2}
	in := LinearInput[float32]{Q: make([]float32, 4), K: make([]float32, 4), V: make([]float32, 4), FQ: make([]float32, 4), FK: make([]float32, 4), Shape: sh, Features: 2}
	out := make([]float32, 4)
	for _, c := range []struct {
		cfg  LinearConfig
		in   func() LinearInput[float32]
		want error
	}{
		{LinearConfig{Window: 2}, func() LinearInput[float32] { return in }, ErrValue}, // no γ
		{LinearConfig{Window: -1}, func() LinearInput[float32] { return in }, ErrValue},
		{LinearConfig{LinearFactor: -1}, func() LinearInput[float32] { return in }, ErrValue},
		{LinearConfig{}, func() LinearInput[float32] { i := in; i.FK = i.FK[:3]; return i }, ErrShape},
		{LinearConfig{}, func() LinearInput[float32] { i := in; i.Features = 0; return i }, ErrShape},
		{LinearConfig{}, func() LinearInput[float32] {
			i := in
			i.FQ = []float32{0, -1, 0, 0}
			return i
		}, ErrValue},
	} {
		if err := LinearAttention(c.cfg, c.in(), out); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.cfg, err, c.want)
		}
	}
}

// TestLinearAttentionBackward: every gradient against central
// differences of LinearAttention (float64), the feature maps treated as
// inputs of their own; float32 against float64.
func TestLinearAttentionBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, tc := range []struct {
		name    string
		sh      Shape
		cfg     LinearConfig
		perHead bool
	}{
		{"linear", Shape{Batch: 1, Heads: 2, Queries: 6, Keys: 6, Dim: 3}, LinearConfig{}, true},
		{"hybrid", Shape{Batch: 2, Heads: 1, Queries: 9, Keys: 9, Dim: 3}, LinearConfig{Window: 3, WindowFactor: 0.2}, true},
		{"hybrid gqa shared fk S<T", Shape{Batch: 1, Heads: 4, KVHeads: 2, Queries: 4, Keys: 10, Dim: 3, ValueDim: 2}, LinearConfig{Window: 4, WindowFactor: 0.6, LinearFactor: 0.4, Scale: 0.9}, false},
		{"hybrid gqa per head S>T", Shape{Batch: 1, Heads: 2, KVHeads: 1, Queries: 8, Keys: 5, Dim: 2}, LinearConfig{Window: 2, WindowFactor: 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := newProblem(rng, tc.sh, Config{}, 1)
			B, H, Hkv, S, T, _, Dv := pr.dims()
			nf := 4
			fkHeads := Hkv
			if tc.perHead {
				fkHeads = H
			}
			fq, fk := make([]float64, B*H*S*nf), make([]float64, B*fkHeads*T*nf)
			for i := range fq {
				fq[i] = 0.05 + rng.Float64()
			}
			for i := range fk {
				fk[i] = 0.05 + rng.Float64()
			}
			dOut := randDOut(rng, B*H*S*Dv)
			loss := func(in LinearInput[float64]) float64 {
				y := make([]float64, len(dOut))
				if err := LinearAttention(tc.cfg, in, y); err != nil {
					t.Fatal(err)
				}
				var l float64
				for i, v := range y {
					l += v * dOut[i]
				}
				return l
			}
			in := LinearInput[float64]{Q: pr.q, K: pr.k, V: pr.v, FQ: fq, FK: fk, Shape: tc.sh, Features: nf}
			g := LinearGrad[float64]{DQ: make([]float64, len(pr.q)), DK: make([]float64, len(pr.k)), DV: make([]float64, len(pr.v)),
				DFQ: make([]float64, len(fq)), DFK: make([]float64, len(fk))}
			if err := LinearAttentionBackward(tc.cfg, in, dOut, &g); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name string
				x    *[]float64
				got  []float64
			}{{"dq", &in.Q, g.DQ}, {"dk", &in.K, g.DK}, {"dv", &in.V, g.DV}, {"dfq", &in.FQ, g.DFQ}, {"dfk", &in.FK, g.DFK}} {
				orig := *c.x
				x := append([]float64(nil), orig...)
				*c.x = x
				num := gradcheck.Numeric(func([]float64) float64 { return loss(in) }, x, 1e-6)
				*c.x = orig
				if err := gradcheck.Compare(c.got, num, 1e-7, 1e-6); err != nil {
					t.Errorf("%s: %v", c.name, err)
				}
			}
			in32 := LinearInput[float32]{Q: to32(pr.q), K: to32(pr.k), V: to32(pr.v), FQ: to32(fq), FK: to32(fk), Shape: tc.sh, Features: nf}
			g32 := LinearGrad[float32]{DQ: make([]float32, len(pr.q)), DK: make([]float32, len(pr.k)), DV: make([]float32, len(pr.v)),
				DFQ: make([]float32, len(fq)), DFK: make([]float32, len(fk))}
			c32 := tc.cfg
			c32.Threads = 2
			if err := LinearAttentionBackward(c32, in32, to32(dOut), &g32); err != nil {
				t.Fatal(err)
			}
			for _, p := range [][2][]float64{{to64(g32.DQ), g.DQ}, {to64(g32.DK), g.DK}, {to64(g32.DV), g.DV}, {to64(g32.DFQ), g.DFQ}, {to64(g32.DFK), g.DFK}} {
				if err := closeTo(p[0], p[1], 1e-5*(1+maxAbs(p[1])), 0); err != nil {
					t.Errorf("float32: %v", err)
				}
			}
		})
	}
}

func TestFeatureMapBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	rows, dim, f := 3, 4, 5
	x, w, dphi := make([]float64, rows*dim), make([]float64, dim*f), make([]float64, rows*2*f)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for i := range w {
		w[i] = rng.NormFloat64()
	}
	for i := range dphi {
		dphi[i] = rng.NormFloat64()
	}
	loss := func(x, w []float64) float64 {
		phi := make([]float64, rows*2*f)
		if err := FeatureMap(phi, x, rows, dim, w, f); err != nil {
			t.Fatal(err)
		}
		var l float64
		for i, v := range phi {
			l += v * dphi[i]
		}
		return l
	}
	dx, dw := make([]float64, rows*dim), make([]float64, dim*f)
	if err := FeatureMapBackward(dx, dw, x, rows, dim, w, f, dphi); err != nil {
		t.Fatal(err)
	}
	if err := gradcheck.Check(func(v []float64) float64 { return loss(v, w) }, dx, append([]float64(nil), x...), 1e-6, 1e-8, 1e-6); err != nil {
		t.Errorf("dx: %v", err)
	}
	if err := gradcheck.Check(func(v []float64) float64 { return loss(x, v) }, dw, append([]float64(nil), w...), 1e-6, 1e-8, 1e-6); err != nil {
		t.Errorf("dw: %v", err)
	}
	if err := FeatureMapBackward(nil, dw[:3], x, rows, dim, w, f, dphi); !errors.Is(err, ErrShape) {
		t.Errorf("short dw: %v", err)
	}
}
