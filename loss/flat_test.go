package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refFLATForget and refFLATTemplate write the two terms from the f-GAN
// pairs (activation g, conjugate f*) of the official table.
func refFLATForget(div FDivergence, pf float64) float64 {
	sp := func(v float64) float64 { return math.Log(1 + math.Exp(v)) }
	switch div {
	case TotalVariation:
		return math.Tanh(pf) / 2 // f*(u) = u on g(v) = tanh(v)/2
	case KLDivergence:
		return math.Exp(pf - 1)
	case JensenShannon:
		g := math.Log(2) - sp(-pf)
		return -math.Log(2 - math.Exp(g))
	}
	return pf*pf/4 + pf
}

func refFLATTemplate(div FDivergence, pe float64) float64 {
	switch div {
	case TotalVariation:
		return -math.Tanh(pe) / 2
	case JensenShannon:
		return -(math.Log(2) - math.Log(1+math.Exp(-pe)))
	}
	return -pe
}

func refFLATObjective(div FDivergence, pe, pf float64) float64 {
	return refFLATTemplate(div, pe) + refFLATForget(div, pf)
}

func TestFLATCatalogVector(t *testing.T) {
	// Catalog B4 (recomputed with mpmath): template z_e = [1, 0.5, −0.5],
	// forget z_f = [2, 0, −1], label 0 in both (P_e = 0.5465493873,
	// P_f = 0.8437947345); gradients [∂/∂z_e, ∂/∂z_f].
	x := []float64{1, 0.5, -0.5, 2, 0, -1}
	for _, c := range []struct {
		div FDivergence
		v   float64
		g   []float64
	}{
		{TotalVariation, 0.0949420966761, []float64{-0.09319346068, 0.0681298789, 0.02506358178, 0.03472487937, -0.02538592095, -0.009338958414}},
		{KLDivergence, 0.308834204327, []float64{-0.2478331545, 0.1811805537, 0.06665260085, 0.1127439887, -0.08242246015, -0.03032152858}},
		{JensenShannon, 0.271983863726, []float64{-0.09087182972, 0.06643263067, 0.02443919905, 0.09216659517, -0.06737918006, -0.02478741511}},
		{Pearson, 0.4752427357, []float64{-0.2478331545, 0.1811805537, 0.06665260085, 0.1874134392, -0.1370102025, -0.05040323672}},
	} {
		f, _ := NewFLAT(c.div)
		f = f.ForRoles([]bool{true, false})
		g := make([]float64, 6)
		probs := make([]float64, 2)
		v, err := f.Eval64(Input[float64]{Logits: x, Cols: 3, Labels: []int32{0, 0}}, Output[float64]{Grad: g, Rows: probs})
		if err != nil || math.Abs(v-c.v) > 1e-10 || !tsrClose(g, c.g, 1e-9, 0) {
			t.Errorf("%v: %v %v %v", c.div, v, g, err)
		}
		if !tsrClose(probs, []float64{0.5465493873, 0.8437947345}, 1e-10, 0) {
			t.Errorf("%v: rows %v", c.div, probs)
		}
	}
}

func TestFLATReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(171, 172))
	const rows, cols = 9, 5
	x := tsrRand(rng, rows*cols, 1.5)
	labels := []int32{0, 4, 2, -100, 1, 3, 3, 0, 2}
	roles := []bool{true, true, false, true, false, false, true, false, false}
	for _, div := range []FDivergence{TotalVariation, KLDivergence, JensenShannon, Pearson} {
		d := div
		for _, withRoles := range []bool{true, false} {
			wr := withRoles
			tsrVerify(t, tsrCase{
				name: "flat " + d.String(),
				mk: func(opts ...Option) (Loss, error) {
					f, err := NewFLAT(d, opts...)
					if err != nil || !wr {
						return f, err
					}
					return f.ForRoles(roles), nil
				},
				in: Input[float64]{Logits: x, Cols: cols, Labels: labels},
				ref: func(x []float64) float64 {
					var pe, pf, ne, nf float64
					for i := 0; i < rows; i++ {
						if labels[i] == -100 {
							continue
						}
						p := tsrSM(x[i*cols:(i+1)*cols], 1)[labels[i]]
						if wr && roles[i] {
							pe, ne = pe+p, ne+1
						} else {
							pf, nf = pf+p, nf+1
						}
					}
					if ne == 0 {
						return refFLATForget(d, pf/nf)
					}
					return refFLATObjective(d, pe/ne, pf/nf)
				},
			})
		}
	}
}

func TestFLATObjectiveMonotone(t *testing.T) {
	for _, div := range []FDivergence{TotalVariation, KLDivergence, JensenShannon, Pearson} {
		for pe := 0.0; pe <= 1; pe += 0.05 {
			for pf := 0.0; pf <= 1; pf += 0.05 {
				v, de, df := FLATObjective(div, pe, pf)
				if !(de < 0 && df > 0) || math.Abs(v-refFLATObjective(div, pe, pf)) > 1e-14 {
					t.Fatalf("%v at (%v, %v): %v, derivatives %v %v", div, pe, pf, v, de, df)
				}
			}
		}
	}
}

func TestFLATEdges(t *testing.T) {
	f, _ := NewFLAT(TotalVariation)
	inf := math.Inf(-1)
	// A masked label has probability 0: allowed.
	v, err := f.Eval64(Input[float64]{Logits: []float64{inf, 0, 1}, Cols: 3, Labels: []int32{0}}, Output[float64]{Grad: make([]float64, 3)})
	if err != nil || v != 0 {
		t.Errorf("masked label: %v %v", v, err)
	}
	// Huge logits.
	v, err = f.Eval32(Input[float32]{Logits: []float32{1e4, -1e4}, Cols: 2, Labels: []int32{0}}, Output[float32]{Grad: make([]float32, 2)})
	if err != nil || math.Abs(v-math.Tanh(1)/2) > 1e-7 {
		t.Errorf("huge: %v %v", v, err)
	}
	if _, err := NewFLAT(TotalVariation, WithReduction(Sum)); err == nil {
		t.Error("sum accepted")
	}
	if _, err := NewFLAT(FDivergence(9)); err == nil {
		t.Error("unknown divergence accepted")
	}
	_, err = f.ForRoles([]bool{true}).Eval64(Input[float64]{Logits: []float64{0, 1, 2, 3}, Cols: 2, Labels: []int32{0, 1}}, Output[float64]{})
	tsrWantErr(t, "roles length", err, ErrShape)
	_, err = f.Eval64(Input[float64]{Logits: []float64{0, 1}, Cols: 2, Labels: []int32{0}, Teacher: []float64{0, 1}}, Output[float64]{})
	tsrWantErr(t, "teacher", err, ErrShape)
	for _, name := range []string{"flat", "flat-kl", "flat-js", "flat-pearson"} {
		l, _, err := Parse(name)
		if err != nil || l.Name() != name {
			t.Errorf("%s: %v %v", name, l, err)
		}
	}
}
