package embedding

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// The expected values below are the catalog's test vectors recomputed
// independently in 30-digit arithmetic (mpmath), not outputs of this
// code; where the recomputation differs from the catalog the recomputed
// value is used and the difference is noted.

func near(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !(math.Abs(got[i]-want[i]) <= tol*math.Max(1, math.Abs(want[i]))) {
			t.Fatalf("%s: got %v, want %v (index %d)", what, got, want, i)
		}
	}
}

func near1(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	near(t, what, []float64{got}, []float64{want}, tol)
}

func TestCatalogCACR(t *testing.T) {
	// A1, τ⁺ = τ⁻ = α = β = 1.
	la, ga := cacrAttraction([]float64{0.5, 1, 2}, 1, 1)
	near1(t, "L_att", la, 1.55840952763, 1e-11)
	near(t, "dL_att/dd", ga, []float64{-0.00819160817331, 0.102106270174, 0.906085337999}, 1e-11)
	lr, gr := cacrRepulsion([]float64{1, 2, 3}, 1, 1)
	near1(t, "L_rep", lr, -1.4247896174, 1e-11)
	near(t, "dL_rep/dδ", gr, []float64{-0.947828406854, -0.103958113585, 0.0517865204394}, 1e-11)
	near1(t, "total", la+lr, 0.133619910233, 1e-11)
}

func TestCatalogDEXML(t *testing.T) {
	// A7 decoupled softmax: s = [3, 2.5, 1, 0], P = {0, 1}.
	l, g := decoupled([]float64{3, 2.5, 1, 0}, []int{0, 1})
	near1(t, "decoupled", l, 0.218106959682, 1e-11)
	near(t, "decoupled grad", g, []float64{-0.0781026327593, -0.116921396722, 0.142573989791, 0.05245003969}, 1e-11)
	// Soft top-k: s = [2, 1, 0.5, −1], k = 2, α = 2, positive {0}. (The
	// catalog's last gradient entry, 0.00764179516, is off in the 9th
	// digit; the exact value is 0.00764179524774.)
	s := []float64{2, 1, 0.5, -1}
	near1(t, "threshold", softTopKThreshold(s, 2, 2), -0.708959896524, 1e-11)
	l, g = softTopK(s, []int{0}, 2, 2)
	near1(t, "soft top-k", l, 0.0728940248464, 1e-11)
	near(t, "soft top-k grad", g, []float64{-0.124349664715, 0.0571816235437, 0.0595262459236, 0.00764179524774}, 1e-10)
}

func TestCatalogNGAME(t *testing.T) {
	// A30: s_p = 0.8, negatives [0.7, 0.75, 0.2, 0.85], m = 0.3, k = 3,
	// τ = 0.1: the top three are [0.85, 0.75, 0.7].
	loss, gp, gn := ngameTerm(0.8, []float64{0.85, 0.75, 0.7}, 0.3, 0.1, true)
	near1(t, "L", loss/3, 0.101946984254, 1e-11)
	near1(t, "dL/ds_p", gp/3, -0.333333333333, 1e-11)
	near(t, "dL/ds_n", []float64{gn[0] / 3, gn[1] / 3, gn[2] / 3}, []float64{0.302028446, 0.0340354233915, -0.00273053605777}, 1e-9)
	// Unweighted mean of the hinges: 0.266666667.
	loss, _, _ = ngameTerm(0.8, []float64{0.85, 0.75, 0.7}, 0.3, 0.1, false)
	near1(t, "plain", loss/3, 0.8/3, 1e-12)
}

func TestCatalogNormSoftmax(t *testing.T) {
	// A17: x = [3, 4], W = [[1,0],[0,1],[−0.6,0.8]], s = 10, y = 1.
	l, _ := NewNormSoftmax(10, 0)
	g := make([]float64, 2)
	v, err := l.Eval64(Input[float64]{Embeddings: []float64{3, 4}, Dim: 2, Labels: []int64{1},
		Classes: []float64{1, 0, 0, 1, -0.6, 0.8}}, Output[float64]{Grad: g})
	if err != nil {
		t.Fatal(err)
	}
	near1(t, "L", v, 0.131775218153, 1e-11)
	near(t, "dL/dx", g, []float64{0.262938166739, -0.197203625054}, 1e-11)
	// Imprinting from the support {[0, 1], [−0.2, 0.9]}: the normalised
	// mean of the normalised embeddings (the authors' AddNewClass averages
	// normalisation-layer outputs). The catalog's [−0.104684785,
	// 0.994505453] is the normalised mean of the raw vectors.
	w, err := Imprint([]float64{0, 1, -0.2, 0.9}, 2, []int64{0, 0}, 1)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "imprint", w, []float64{-0.109116771892, 0.994028938257}, 1e-11)
	// Already-normalised support gives the catalog's reading.
	w, _ = Imprint([]float64{0, 1, -0.2 / math.Hypot(0.2, 0.9), 0.9 / math.Hypot(0.2, 0.9)}, 2, []int64{0, 0}, 1)
	near(t, "imprint unit", w, []float64{-0.109116771892, 0.994028938257}, 1e-11)
}

func TestCatalogEBV(t *testing.T) {
	// B22: W = I₃, f = [1, 2, 2], τ = 0.07, y = 1.
	for _, c := range []struct {
		eps, loss float64
		grad      []float64
	}{
		{0, 0.697412724916, []float64{0.0225209515534, -2.38658261884, 2.37532214306}},
		{0.1, 0.856142883647, []float64{-0.15384589148, -2.10439566999, 2.18131861573}},
	} {
		l, _ := NewEBV(0.07, c.eps, 0.002, 42)
		g := make([]float64, 3)
		v, err := l.Eval64(Input[float64]{Embeddings: []float64{1, 2, 2}, Dim: 3, Labels: []int64{1},
			Classes: []float64{1, 0, 0, 0, 1, 0, 0, 0, 1}}, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		near1(t, "CE", v, c.loss, 1e-11)
		near(t, "dL/df", g, c.grad, 1e-10)
	}
}

func TestCatalogMadaCos(t *testing.T) {
	// A15: α = 0.02, target cosines [0.6, 0.7, 0.8]; the median sample's
	// non-target cosines [0.1, −0.2, 0.3]. (The catalog's third gradient
	// entry, 2.14629465e-13, is off in the 8th digit: 2.14629455333e-13.)
	cos := []float64{
		0.6, 0.2, 0.1, 0.0,
		0.7, 0.1, -0.2, 0.3,
		0.8, -0.5, 0.4, 0.1,
	}
	labels := []int64{0, 0, 0}
	s, m, err := madaCosScaleMargin(cos, labels, 4, 0.02, true)
	if err != nil {
		t.Fatal(err)
	}
	near1(t, "s", s, 66.6997194969, 1e-11)
	near1(t, "m", m, 0.458348351665, 1e-10)
	h := cosHead{kind: headMadaCos, alpha: 0.02, train: true}
	_, g, err := h.fromCos("madacos", cos[4:8], []int64{0}, 4)
	if err != nil {
		t.Fatal(err)
	}
	// Alone, the median sample is its own batch: same s, m.
	near(t, "dCE/dcos", g, []float64{-65.365725107, 0.000105168422596, 2.14629455333e-13, 65.3656199385}, 1e-9)
	loss, _, _ := h.fromCos("madacos", cos[4:8], []int64{0}, 4)
	near1(t, "CE", loss, 3.91202300543, 1e-10) // −log 0.02
	s, _, _ = madaCosScaleMargin(cos, labels, 4, 0.1, true)
	near1(t, "s(α=0.1)", s, 61.0510670943, 1e-11)
}

func TestCatalogGumbelCBM(t *testing.T) {
	// A4: S = [[2, 0.5], [0.1, 1]].
	s := []float64{2, 0.5, 0.1, 1}
	l, g := gumbelCBM(s, 2, 2, nil, 1)
	near1(t, "G=0", l, 0.889007723794, 1e-11)
	near(t, "G=0 grad", g, []float64{0.171866500458, -0.110008451849, -0.145210257066, 0.0833522084567}, 1e-11)
	l, g = gumbelCBM(s, 2, 2, []float64{0.3, -0.2, 0.1, 0.4}, 1)
	near1(t, "fixed G", l, 0.998266331669, 1e-11)
	near(t, "fixed G grad", g, []float64{0.192925064196, -0.157764295893, -0.164856990576, 0.129696222274}, 1e-11)
	l, _ = gumbelCBM(s, 2, 2, nil, 0.5)
	near1(t, "τ=0.5", l, 1.33423771652, 1e-11)
}

func TestCatalogFourier(t *testing.T) {
	// B8: N = 1, m = 4, a_0 = 1, a_1 = 0.5 (real): rows [Re a0, Re a1, Im a0, Im a1].
	p, err := FourierPMF([]float64{1, 0.5, 0, 0}, 4)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "p", p, []float64{0.108578643763, 0.391421356237, 0.391421356237, 0.108578643763}, 1e-11)
	in := Input[float64]{Embeddings: []float64{1, 0.5, 0, 0}, Dim: 4, Labels: []int64{1}}
	v, err := (&FourierHead{Bins: 4, Eps: 1e-5}).Eval64(in, Output[float64]{})
	if err != nil {
		t.Fatal(err)
	}
	near1(t, "CE", v, 0.937985113406, 1e-11)
	vr, _ := (&FourierHead{Bins: 4, Gamma: 1, Eps: 1e-5}).Eval64(in, Output[float64]{})
	near1(t, "R/γ", vr-v, 9.86960440109, 1e-11) // π²
	// dCE/dr = −0.903232163084 for r = c₁/c₀ varied alone; along
	// a_1 (real) r = a_1/(1 + a_1²), dr/da_1 = (1 − a_1²)/(1 + a_1²)².
	g := make([]float64, 4)
	_, _ = (&FourierHead{Bins: 4, Eps: 1e-5}).Eval64(in, Output[float64]{Grad: g})
	near1(t, "dCE/da1", g[1], -0.903232163084*(1-0.25)/(1.25*1.25), 1e-10)
	// Smoothness metric (scipy's wrap-mode Gaussian filter, recomputed by hand).
	sm, _ := FourierSmoothness([]float64{0.1, 0.2, 0.4, 0.3})
	near1(t, "smoothness", sm, 0.190853436519, 1e-11)
	sm, _ = FourierSmoothness([]float64{1, 0, 0, 0, 0})
	near1(t, "smoothness spike", sm, 0.786283546858, 1e-11)
	sm, _ = FourierSmoothness([]float64{0.25, 0.25, 0.25, 0.25})
	near1(t, "smoothness flat", sm, 0, 1e-15)
}

func TestCosFaceArcFaceVectors(t *testing.T) {
	// One row of cosines [0.6, 0.1, −0.3], target 0, s = 64 (recomputed
	// with mpmath from the papers' formulas).
	cos := []float64{0.6, 0.1, -0.3}
	h := cosHead{kind: headCosFace, scale: 64, margin: 0.35}
	l, g, _ := h.fromCos("cosface", cos, []int64{0}, 3)
	near1(t, "cosface", l, 6.77264430041e-5, 1e-9)
	near(t, "cosface grad", g, []float64{-0.0043343455757, 0.00433434557567, 3.30357976842e-14}, 1e-9)
	h = cosHead{kind: headArcFace, scale: 64, margin: 0.5}
	l, g, _ = h.fromCos("arcface", cos, []int64{0}, 3)
	near1(t, "arcface", l, 0.0618125854301, 1e-10)
	near(t, "arcface grad", g, []float64{-4.7459870623, 3.83622073306, 2.92391572838e-11}, 1e-9)
}

// TestNGAMEPadding: with fewer than k candidate negatives (labels mask the
// others), the missing negatives are padded at similarity −10 (hinge 0,
// logit 0), the catalog's semantics documented on the type; the authors'
// code would instead score the masked picks with their real similarities,
// which gives another value here.
func TestNGAMEPadding(t *testing.T) {
	const n, d, k, margin, tau = 4, 3, 3, 0.3, 0.1
	rng := rand.New(rand.NewPCG(51, 52))
	z := make([]float64, n*d)
	p := make([]float64, n*d)
	for i := range z {
		z[i] = rng.NormFloat64()
		p[i] = z[i] + 0.5*rng.NormFloat64()
	}
	labels := []int64{0, 0, 0, 1}
	unit := func(x []float64) []float64 {
		var s float64
		for _, v := range x {
			s += v * v
		}
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = v / math.Sqrt(s)
		}
		return out
	}
	sim := func(i, j int) float64 {
		a, b := unit(z[i*d:(i+1)*d]), unit(p[j*d:(j+1)*d])
		var s float64
		for t := range a {
			s += a[t] * b[t]
		}
		return s
	}
	// term is Σ_n h_n·π_n with π = softmax(s_n·1[h_n > 0]/τ).
	term := func(sp float64, sn []float64) float64 {
		h := make([]float64, len(sn))
		var zsum float64
		for t, v := range sn {
			h[t] = math.Max(0, v-sp+margin)
			if h[t] > 0 {
				zsum += math.Exp(v / tau)
			} else {
				zsum++
			}
		}
		var l float64
		for t, v := range sn {
			if h[t] > 0 {
				l += h[t] * math.Exp(v/tau) / zsum
			}
		}
		return l
	}
	var padded, reread float64
	for i := range n {
		var negs, masked []float64
		for j := range n {
			if j == i {
				masked = append(masked, sim(i, j))
				continue
			}
			if labels[j] == labels[i] {
				masked = append(masked, sim(i, j))
			} else {
				negs = append(negs, sim(i, j))
			}
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(negs)))
		sort.Sort(sort.Reverse(sort.Float64Slice(masked)))
		pad := append([]float64(nil), negs...)
		re := append([]float64(nil), negs...)
		for len(pad) < k {
			pad = append(pad, -10)
			re = append(re, masked[len(re)-len(negs)])
		}
		padded += term(sim(i, i), pad[:k])
		reread += term(sim(i, i), re[:k])
	}
	padded /= n * k
	reread /= n * k
	l := &NGAMETriplet{Margin: margin, Temperature: tau, K: k, Aggressive: true}
	got, err := l.Eval64(Input[float64]{Embeddings: z, Dim: d, Positives: p, Labels: labels}, Output[float64]{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-padded) > 1e-12 {
		t.Errorf("loss %v, want the −10 padding's %v", got, padded)
	}
	if math.Abs(padded-reread) < 1e-6 {
		t.Errorf("the padded and re-read variants agree (%v): the case does not tell them apart", padded)
	}
}

// refCACRViews is the authors' small-scale CACR on V views of N items
// (views[v] is [N, d], unit rows): the attraction of each anchor over the
// other views of its item, averaged over the V·N anchors, plus the
// repulsion of view x's anchors from view y's other N − 1 items, averaged
// over the anchors and then over the view pairs x < y.
func refCACRViews(views [][]float64, d int, tauPos, tauNeg, alpha, beta float64) float64 {
	V, N := len(views), len(views[0])/d
	sq := func(a []float64, i int, b []float64, j int) float64 {
		var s float64
		for k := range d {
			t := a[i*d+k] - b[j*d+k]
			s += t * t
		}
		return s
	}
	weighted := func(dist []float64, tau float64) float64 {
		var z, s float64
		for _, v := range dist {
			z += math.Exp(tau * v)
		}
		for _, v := range dist {
			s += math.Exp(tau*v) / z * v
		}
		return s
	}
	var att float64
	for x := range V {
		for i := range N {
			var dist []float64
			for y := range V {
				if y != x {
					dist = append(dist, sq(views[x], i, views[y], i))
				}
			}
			att += alpha * weighted(dist, tauPos)
		}
	}
	att /= float64(V * N)
	var rep float64
	pairs := 0
	for x := range V {
		for y := x + 1; y < V; y++ {
			var r float64
			for i := range N {
				var dist []float64
				for j := range N {
					if j != i {
						dist = append(dist, sq(views[x], i, views[y], j))
					}
				}
				r += -beta * weighted(dist, -tauNeg)
			}
			rep += r / float64(N)
			pairs++
		}
	}
	return att + rep/float64(pairs)
}

// TestCACROfficialViews: by default CACR follows the authors' code: with
// two views (Embeddings, Positives) each anchor's negatives come from the
// other view only and the repulsion is averaged over view pairs; with
// labels holding three rows each, the same over three views. The older
// form (every view of the other items, one mean) is all_negatives=1, and
// gives another value.
func TestCACROfficialViews(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	const n, d = 5, 16
	unitRows := func(x []float64) []float64 {
		out := make([]float64, len(x))
		for i := 0; i < len(x)/d; i++ {
			var s float64
			for k := range d {
				s += x[i*d+k] * x[i*d+k]
			}
			for k := range d {
				out[i*d+k] = x[i*d+k] / math.Sqrt(s)
			}
		}
		return out
	}
	rnd := func(rows int) []float64 {
		x := make([]float64, rows*d)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		return x
	}
	z, p := rnd(n), rnd(n)
	for _, prm := range []struct{ tp, tn, a, b float64 }{{1, 1, 1, 1}, {2, 0.5, 0.7, 1.3}} {
		l := &CACR{TauPos: prm.tp, TauNeg: prm.tn, Alpha: prm.a, Beta: prm.b, Normalize: true}
		got, err := l.Eval64(Input[float64]{Embeddings: z, Dim: d, Positives: p}, Output[float64]{})
		if err != nil {
			t.Fatal(err)
		}
		want := refCACRViews([][]float64{unitRows(z), unitRows(p)}, d, prm.tp, prm.tn, prm.a, prm.b)
		if math.Abs(got-want) > 1e-12*math.Abs(want) {
			t.Errorf("two views %v: %v, want the official %v", prm, got, want)
		}
		all := *l
		all.AllNegatives = true
		other, _ := all.Eval64(Input[float64]{Embeddings: z, Dim: d, Positives: p}, Output[float64]{})
		if math.Abs(other-want) < 1e-6 {
			t.Errorf("all_negatives gives the official value %v: the case does not tell them apart", other)
		}
	}
	// Three views of four items as labelled rows (view v = the v-th row
	// of a label), rows interleaved.
	const items, V = 4, 3
	rows := rnd(items * V)
	// Row r is item r mod 4: each label's rows, in row order, are its
	// views 0, 1, 2.
	labels := make([]int64, items*V)
	for r := range labels {
		labels[r] = int64(r % items)
	}
	views := make([][]float64, V)
	u := unitRows(rows)
	for v := range V {
		for i := range items {
			r := v*items + i
			views[v] = append(views[v], u[r*d:(r+1)*d]...)
		}
	}
	l := &CACR{TauPos: 1, TauNeg: 1, Alpha: 1, Beta: 1, Normalize: true}
	got, err := l.Eval64(Input[float64]{Embeddings: rows, Dim: d, Labels: labels}, Output[float64]{})
	if err != nil {
		t.Fatal(err)
	}
	if want := refCACRViews(views, d, 1, 1, 1, 1); math.Abs(got-want) > 1e-12*math.Abs(want) {
		t.Errorf("three views: %v, want the official %v", got, want)
	}
	// The registry's default is the official form.
	reg, _, err := Parse("cacr")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := reg.Eval64(Input[float64]{Embeddings: z, Dim: d, Positives: p}, Output[float64]{}); math.Abs(v-refCACRViews([][]float64{unitRows(z), unitRows(p)}, d, 1, 1, 1, 1)) > 1e-12 {
		t.Errorf("registered cacr = %v, not the official form", v)
	}
}
