package loss

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refBag computes Σ or mean over bags of (1−ρ)·L_bag + ρ·L_inst from
// probabilities (naive averages).
func refBag(x, q []float64, cols int, bags []int32, rho float64, mean bool) float64 {
	rows := len(x) / cols
	probs := func(i int) ([]float64, []float64) {
		if cols == 1 {
			s := 1 / (1 + math.Exp(-x[i]))
			return []float64{s, 1 - s}, []float64{q[i], 1 - q[i]}
		}
		return tsrSM(x[i*cols:(i+1)*cols], 1), q[i*cols : (i+1)*cols]
	}
	members := map[int32][]int{}
	var order []int32
	for i := 0; i < rows; i++ {
		id := int32(0)
		if bags != nil {
			id = bags[i]
		}
		if _, ok := members[id]; !ok {
			order = append(order, id)
		}
		members[id] = append(members[id], i)
	}
	var tot float64
	for _, id := range order {
		m := members[id]
		n := float64(len(m))
		var pbar, ybar []float64
		var inst float64
		for _, i := range m {
			p, y := probs(i)
			if pbar == nil {
				pbar, ybar = make([]float64, len(p)), make([]float64, len(p))
			}
			for c := range p {
				pbar[c] += p[c] / n
				ybar[c] += y[c] / n
			}
		}
		for _, i := range m {
			p, _ := probs(i)
			for c := range p {
				if ybar[c] > 0 {
					inst -= ybar[c] * math.Log(p[c]) / n
				}
			}
		}
		var bag float64
		for c := range pbar {
			if ybar[c] > 0 {
				bag -= ybar[c] * math.Log(pbar[c])
			}
		}
		tot += (1-rho)*bag + rho*inst
	}
	if mean {
		tot /= float64(len(order))
	}
	return tot
}

func TestBagCatalogVector(t *testing.T) {
	// Catalog B9 (recomputed with mpmath): bag z = [0, 1, −1], ȳ = 2/3:
	// L_bag = 0.69314718056, ∂ = [−0.05555555556, −0.04369154072,
	// −0.04369154072]; L_inst = 0.773223518532, ∂ = [−0.05555555556,
	// 0.02146397065, −0.1325750818]; J = 0.08007633797.
	z := []float64{0, 1, -1}
	for _, targets := range [][]float64{{2.0 / 3, 2.0 / 3, 2.0 / 3}, {1, 1, 0}} {
		for _, c := range []struct {
			rho, v float64
			g      []float64
		}{
			{0, 0.69314718056, []float64{-0.05555555556, -0.04369154072, -0.04369154072}},
			{1, 0.773223518532, []float64{-0.05555555556, 0.02146397065, -0.1325750818}},
		} {
			b, _ := NewBag(c.rho)
			g := make([]float64, 3)
			v, err := b.Eval64(Input[float64]{Logits: z, Cols: 1, Targets: targets}, Output[float64]{Grad: g})
			if err != nil || math.Abs(v-c.v) > 1e-11 || !tsrClose(g, c.g, 1e-10, 0) {
				t.Errorf("ρ=%v targets %v: %v %v %v", c.rho, targets, v, g, err)
			}
		}
	}
}

func TestBagReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(151, 152))
	for _, cols := range []int{1, 4} {
		for _, rho := range []float64{0, 0.4, 1} {
			const rows = 9
			x := tsrRand(rng, rows*cols, 2)
			q := make([]float64, rows*cols)
			for i := 0; i < rows; i++ {
				if cols == 1 {
					q[i] = rng.Float64()
					continue
				}
				copy(q[i*cols:], tsrSM(tsrRand(rng, cols, 1), 1))
			}
			bags := []int32{5, 2, 5, 9, 2, 5, 7, 9, 9}
			r, cc := rho, cols
			tsrVerify(t, tsrCase{
				name: "bag",
				mk: func(opts ...Option) (Loss, error) {
					b, err := NewBag(r, opts...)
					if err != nil {
						return nil, err
					}
					return b.ForBags(bags), nil
				},
				in:  Input[float64]{Logits: x, Cols: cc, Targets: q},
				den: 4,
				ref: func(x []float64) float64 { return refBag(x, q, cc, bags, r, true) },
			})
		}
	}
}

// One row per bag: bag and instance levels coincide with soft-target
// cross-entropy (J = 0).
func TestBagSingletons(t *testing.T) {
	rng := rand.New(rand.NewPCG(153, 154))
	const rows, cols = 4, 3
	x := tsrRand(rng, rows*cols, 2)
	q := make([]float64, rows*cols)
	for i := 0; i < rows; i++ {
		copy(q[i*cols:], tsrSM(tsrRand(rng, cols, 1), 1))
	}
	ce, _ := NewCrossEntropy()
	want, _ := ce.Eval64(Input[float64]{Logits: x, Cols: cols, Targets: q}, Output[float64]{})
	for _, rho := range []float64{0, 1} {
		b, _ := NewBag(rho)
		b = b.ForBags([]int32{0, 1, 2, 3})
		v, err := b.Eval64(Input[float64]{Logits: x, Cols: cols, Targets: q}, Output[float64]{})
		if err != nil || math.Abs(v-want) > 1e-14 {
			t.Errorf("ρ=%v: %v, want %v (%v)", rho, v, want, err)
		}
	}
	// Instance level ≥ bag level (Jensen).
	b0, _ := NewBag(0)
	b1, _ := NewBag(1)
	v0, _ := b0.Eval64(Input[float64]{Logits: x, Cols: cols, Targets: q}, Output[float64]{})
	v1, _ := b1.Eval64(Input[float64]{Logits: x, Cols: cols, Targets: q}, Output[float64]{})
	if !(v1 >= v0) {
		t.Errorf("instance %v < bag %v", v1, v0)
	}
}

func TestBagEdges(t *testing.T) {
	inf := math.Inf(-1)
	b, _ := NewBag(0)
	// Huge binary logits: finite, exact.
	v, err := b.Eval32(Input[float32]{Logits: []float32{1e4, -1e4}, Cols: 1, Targets: []float32{0.5, 0.5}}, Output[float32]{Grad: make([]float32, 2)})
	if err != nil || math.Abs(v-math.Ln2) > 1e-7 {
		t.Errorf("huge: %v %v", v, err)
	}
	// A masked class is fine without response mass, an error with it.
	if _, err := b.Eval64(Input[float64]{Logits: []float64{0, inf, 1, inf}, Cols: 2, Targets: []float64{1, 0, 1, 0}}, Output[float64]{}); err != nil {
		t.Error(err)
	}
	_, err = b.Eval64(Input[float64]{Logits: []float64{0, inf, 1, inf}, Cols: 2, Targets: []float64{1, 0, 0, 1}}, Output[float64]{})
	tsrWantErr(t, "mass on a masked class", err, ErrValue)
	for _, c := range []struct {
		what string
		in   Input[float64]
		want error
	}{
		{"binary target > 1", Input[float64]{Logits: []float64{0}, Cols: 1, Targets: []float64{1.5}}, ErrValue},
		{"nan", Input[float64]{Logits: []float64{math.NaN()}, Cols: 1, Targets: []float64{1}}, ErrValue},
		{"no targets", Input[float64]{Logits: []float64{0}, Cols: 1}, ErrShape},
		{"labels", Input[float64]{Logits: []float64{0}, Cols: 1, Targets: []float64{1}, Labels: []int32{0}}, ErrShape},
	} {
		_, err := b.Eval64(c.in, Output[float64]{})
		tsrWantErr(t, c.what, err, c.want)
	}
	_, err = b.ForBags([]int32{1}).Eval64(Input[float64]{Logits: []float64{0, 1}, Cols: 1, Targets: []float64{1, 0}}, Output[float64]{})
	tsrWantErr(t, "short ids", err, ErrShape)
	if _, err := NewBag(2); err == nil {
		t.Error("rho 2 accepted")
	}
}
