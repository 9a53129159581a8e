package loss

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// refMixture is −log((1 − α)·softmax(c1·z1)_y + α·softmax(c2·z2)_y).
func refMixture(z1, z2 []float64, y int, alpha, c1, c2 float64) float64 {
	s1 := make([]float64, len(z1))
	s2 := make([]float64, len(z2))
	for j := range z1 {
		s1[j], s2[j] = c1*z1[j], c2*z2[j]
	}
	return -math.Log((1-alpha)*refSoftmax(s1)[y] + alpha*refSoftmax(s2)[y])
}

// TestMixtureCatalog: catalog B19's vector, recomputed with mpmath (it
// agrees): z_s = [2, 0.5, −1], z_r = [0.2, 0.4, 0], c_s = 2, c_r = 1,
// α = 0.84, y = 1; ∂ℓ/∂γ = −0.1380602756 for α = σ(γ).
func TestMixtureCatalog(t *testing.T) {
	l, _ := NewMixture(0.84, 2, 1)
	z1 := []float64{2, 0.5, -1}
	z2 := []float64{0.2, 0.4, 0}
	g1, g2, da := make([]float64, 3), make([]float64, 3), make([]float64, 1)
	v, err := EvalMixture(l, Input[float64]{Logits: z1, Teacher: z2, Cols: 3, Labels: []int32{1}}, Output[float64]{Grad: g1}, g2, da)
	if err != nil {
		t.Fatal(err)
	}
	if !near(v, 1.06407084, 1e-8) {
		t.Errorf("loss %.10g, want 1.06407084", v)
	}
	checkVec(t, "head 1", g1, []float64{0.04169996582, -0.0418033297, 0.000103363881}, 1e-9)
	checkVec(t, "head 2", g2, []float64{0.3217162246, -0.5851151915, 0.2633989669}, 1e-9)
	if dg := 0.84 * 0.16 * da[0]; !near(dg, -0.1380602756, 1e-9) {
		t.Errorf("∂ℓ/∂γ %.10g, want -0.1380602756", dg)
	}
	// The other log-mixture entries of the catalog, as losses of labels 0
	// and 2.
	for y, want := range map[int32]float64{0: 0.8477995128, 2: 1.484590111} {
		v, _ := l.Eval64(Input[float64]{Logits: z1, Teacher: z2, Cols: 3, Labels: []int32{y}}, Output[float64]{})
		if !near(v, want, 1e-9) {
			t.Errorf("label %d: %.10g, want %.10g", y, v, want)
		}
	}
}

func TestMixtureReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	const rows, cols = 5, 6
	for _, red := range []Reduction{Mean, Sum, None} {
		for _, perRow := range []bool{false, true} {
			cw := []float64{1, 0.5, 2, 1, 1, 3}
			l, _ := NewMixture(0.3, 1.5, 0.7, WithReduction(red), WithClassWeights(cw))
			z1 := randLogits(rng, rows*cols, 2)
			z2 := randLogits(rng, rows*cols, 2)
			labels := []int32{0, 5, -100, 2, 3}
			rw := []float64{1, 2, 1, 0.5, 1}
			alphas := []float64{0.3, 0.3, 0.3, 0.3, 0.3}
			in := Input[float64]{Logits: z1, Teacher: z2, Cols: cols, Labels: labels, RowWeights: rw}
			if perRow {
				alphas = []float64{0, 0.2, 0.5, 0.9, 1}
				in.Targets = alphas
			}
			total := func(z1, z2, al []float64) float64 {
				var s, den float64
				for i := 0; i < rows; i++ {
					if labels[i] == -100 {
						continue
					}
					w := rw[i] * cw[labels[i]]
					s += w * refMixture(z1[i*cols:(i+1)*cols], z2[i*cols:(i+1)*cols], int(labels[i]), al[i], 1.5, 0.7)
					den += w
				}
				if red == Mean {
					s /= den
				}
				return s
			}
			g1, g2, da := make([]float64, len(z1)), make([]float64, len(z2)), make([]float64, rows)
			v, err := EvalMixture(l, in, Output[float64]{Grad: g1, Rows: make([]float64, rows)}, g2, da)
			if err != nil {
				t.Fatal(err)
			}
			if want := total(z1, z2, alphas); !near(v, want, 1e-12) {
				t.Errorf("%v: %v, reference %v", red, v, want)
			}
			if err := gradcheck.Check(func(x []float64) float64 { return total(x, z2, alphas) }, g1, z1, 1e-5, 1e-8, 1e-6); err != nil {
				t.Errorf("%v head 1: %v", red, err)
			}
			if err := gradcheck.Check(func(x []float64) float64 { return total(z1, x, alphas) }, g2, z2, 1e-5, 1e-8, 1e-6); err != nil {
				t.Errorf("%v head 2: %v", red, err)
			}
			if perRow {
				// α at 0 and 1 has one-sided neighbourhoods: check the inner rows.
				num := gradcheck.Numeric(func(a []float64) float64 { return total(z1, z2, a) }, append([]float64(nil), alphas...), 1e-7)
				for _, i := range []int{1, 3} {
					if math.Abs(num[i]-da[i]) > 1e-6*max(1, math.Abs(num[i])) {
						t.Errorf("%v: dα[%d] %v, numeric %v", red, i, da[i], num[i])
					}
				}
				if da[2] != 0 {
					t.Errorf("ignored row dα %v", da[2])
				}
			}
		}
	}
}

// TestMixtureStable: where both heads' p_y underflow float32, the loss is
// the larger log term (the official log of the sum gives +Inf); masks in
// one head; errors.
func TestMixtureStable(t *testing.T) {
	l, _ := NewMixture(0.5, 1, 1)
	z1 := []float32{300, 0}
	z2 := []float32{200, 0}
	g1, g2 := make([]float32, 2), make([]float32, 2)
	v, err := EvalMixture(l, Input[float32]{Logits: z1, Teacher: z2, Cols: 2, Labels: []int32{1}}, Output[float32]{Grad: g1}, g2, nil)
	want := 200 + math.Log(2) // −log(0.5·e^−300 + 0.5·e^−200)
	if err != nil || !near(v, want, 1e-7) {
		t.Fatalf("loss %v (want %v), %v", v, want, err)
	}
	if math.Abs(float64(g2[1])+1) > 1e-6 || math.Abs(float64(g1[1])) > 1e-30 {
		t.Errorf("gradients %v %v", g1, g2)
	}
	inf := float32(math.Inf(-1))
	// The target is masked in head 1 only: head 2 carries it.
	v, err = l.Eval32(Input[float32]{Logits: []float32{0, inf}, Teacher: []float32{0, 0}, Cols: 2, Labels: []int32{1}}, Output[float32]{Grad: g1})
	if err != nil || !near(v, math.Log(4), 1e-7) || g1[0] != 0 || g1[1] != 0 {
		t.Errorf("masked in head 1: %v %v %v", v, g1, err)
	}
	for _, c := range []struct {
		in   Input[float32]
		text string
	}{
		{Input[float32]{Logits: []float32{0, inf}, Teacher: []float32{0, inf}, Cols: 2, Labels: []int32{1}}, "probability 0"},
		{Input[float32]{Logits: []float32{0, 0}, Teacher: []float32{0, float32(math.NaN())}, Cols: 2, Labels: []int32{1}}, "head 2 (Teacher) logit NaN at row 0, column 1"},
		{Input[float32]{Logits: []float32{0, float32(math.Inf(1))}, Teacher: []float32{0, 0}, Cols: 2, Labels: []int32{1}}, "head 1 (Logits) logit +Inf at row 0, column 1"},
		{Input[float32]{Logits: []float32{0, 0}, Teacher: []float32{inf, inf}, Cols: 2, Labels: []int32{1}}, "entirely"},
		{Input[float32]{Logits: []float32{0, 0}, Cols: 2, Labels: []int32{1}}, "Teacher"},
		{Input[float32]{Logits: []float32{0, 0}, Teacher: []float32{0, 0}, Cols: 2, Labels: []int32{1}, Targets: []float32{1.5}}, "alpha"},
	} {
		_, err := l.Eval32(c.in, Output[float32]{})
		if !errors.Is(err, ErrValue) && !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("err %v, want one mentioning %q", err, c.text)
		}
	}
	// α = 0 is head 1's cross-entropy.
	l0, _ := NewMixture(0, 1, 1)
	ce, _ := NewCrossEntropy()
	a, _ := l0.Eval32(Input[float32]{Logits: []float32{1, 2, 3}, Teacher: []float32{inf, 0, inf}, Cols: 3, Labels: []int32{0}}, Output[float32]{})
	b, _ := ce.Eval32(Input[float32]{Logits: []float32{1, 2, 3}, Cols: 3, Labels: []int32{0}}, Output[float32]{})
	if !near(a, b, 1e-7) {
		t.Errorf("alpha 0: %v, cross-entropy %v", a, b)
	}
	if _, err := NewMixture(1.2, 1, 1); err == nil {
		t.Error("alpha 1.2 accepted")
	}
	// In place: head gradients over their own logits.
	x1, x2 := []float64{1, 2, 0.5}, []float64{0.3, -1, 2}
	want1, want2 := make([]float64, 3), make([]float64, 3)
	in := Input[float64]{Logits: x1, Teacher: x2, Cols: 3, Labels: []int32{2}}
	v1, _ := EvalMixture(l, in, Output[float64]{Grad: want1}, want2, nil)
	v2, err := EvalMixture(l, in, Output[float64]{Grad: x1}, x2, nil)
	if err != nil || v1 != v2 {
		t.Fatalf("in place: %v %v %v", v1, v2, err)
	}
	checkVec(t, "in place head 1", x1, want1, 0)
	checkVec(t, "in place head 2", x2, want2, 0)
}

// TestMixtureFloat32 compares float32 with float64 on random rows at
// several scales.
func TestMixtureFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	l, _ := NewMixture(0.7, 2, 1, WithReduction(Sum))
	for _, scale := range []float64{1e-3, 1, 30, 1e4} {
		const rows, cols = 3, 50
		a, b := make([]float32, rows*cols), make([]float32, rows*cols)
		a64, b64 := make([]float64, rows*cols), make([]float64, rows*cols)
		for i := range a {
			a[i], b[i] = float32(rng.NormFloat64()*scale), float32(rng.NormFloat64()*scale)
			a64[i], b64[i] = float64(a[i]), float64(b[i])
		}
		labels := []int32{0, 17, 49}
		g, g2 := make([]float32, len(a)), make([]float32, len(a))
		h, h2 := make([]float64, len(a)), make([]float64, len(a))
		v, err := EvalMixture(l, Input[float32]{Logits: a, Teacher: b, Cols: cols, Labels: labels}, Output[float32]{Grad: g}, g2, nil)
		w, err2 := EvalMixture(l, Input[float64]{Logits: a64, Teacher: b64, Cols: cols, Labels: labels}, Output[float64]{Grad: h}, h2, nil)
		if err != nil || err2 != nil || math.Abs(v-w) > 1e-5*math.Abs(w)+1e-6 {
			t.Fatalf("scale %v: %v vs %v (%v %v)", scale, v, w, err, err2)
		}
		for i := range g {
			if math.Abs(float64(g[i])-h[i]) > 1e-6+1e-5*math.Abs(h[i]) || math.Abs(float64(g2[i])-h2[i]) > 1e-6+1e-5*math.Abs(h2[i]) {
				t.Fatalf("scale %v: grad[%d] %v %v, float64 %v %v", scale, i, g[i], g2[i], h[i], h2[i])
			}
		}
	}
}

// TestMixtureHugeScale: a scale beyond float32 (1e39) or near float64's
// limit (1e300) changes nothing in rows whose scaled differences are 0
// or −∞: each head's softmax(c·z) is exact there, so the loss is known in
// closed form. The scaled logits once overflowed inside the kernels
// (Inf·0 = NaN): a row of ties came out 0.47 instead of log 4, and
// gradients NaN.
func TestMixtureHugeScale(t *testing.T) {
	// Head 1 rows: [0,0,0,0] (p uniform), [1,0,1,0] (p = ½ on columns 0
	// and 2), [5,1,1,1] (p = e₀). Head 2 (scale 1) uniform on every row.
	z1 := []float64{0, 0, 0, 0, 1, 0, 1, 0, 5, 1, 1, 1}
	z2 := make([]float64, 12)
	y := []int32{1, 2, 0}
	p1 := [][]float64{{0.25, 0.25, 0.25, 0.25}, {0.5, 0, 0.5, 0}, {1, 0, 0, 0}}
	const alpha = 0.5
	wantRows := make([]float64, 3)
	wantGrad := make([]float64, 12)
	for i := range 3 {
		py, qy := p1[i][y[i]], 0.25
		m := (1-alpha)*py + alpha*qy
		wantRows[i] = -math.Log(m)
		w1 := (1 - alpha) * py / m
		for j := range 4 {
			e := 0.0
			if j == int(y[i]) {
				e = 1
			}
			wantGrad[i*4+j] = w1 * (p1[i][j] - e) / 3 // times c, below
		}
	}
	for _, c := range []float64{1e39, 1e300} {
		l, err := NewMixture(alpha, c, 1)
		if err != nil {
			t.Fatal(err)
		}
		rows := make([]float64, 3)
		g := make([]float64, 12)
		v, err := l.Eval64(Input[float64]{Logits: z1, Cols: 4, Labels: y, Teacher: z2}, Output[float64]{Grad: g, Rows: rows})
		if err != nil {
			t.Fatalf("c1 = %g: %v", c, err)
		}
		for i := range rows {
			if !closeRel(rows[i], wantRows[i], 1e-15) {
				t.Errorf("float64, c1 = %g: row %d = %v, want %v", c, i, rows[i], wantRows[i])
			}
		}
		if want := (wantRows[0] + wantRows[1] + wantRows[2]) / 3; !closeRel(v, want, 1e-15) {
			t.Errorf("float64, c1 = %g: loss %v, want %v", c, v, want)
		}
		for j := range g {
			if want := c * wantGrad[j]; math.Abs(g[j]-want) > 1e-15*math.Abs(c) {
				t.Errorf("float64, c1 = %g: grad[%d] = %v, want %v", c, j, g[j], want)
			}
		}
		// float32: the value is the same; the gradient (up to c/4) is
		// returned where it fits float32 (c = 1e39) and refused where it
		// does not (1e300), never returned as ±Inf or NaN.
		in32 := Input[float32]{Logits: f32(z1), Cols: 4, Labels: y, Teacher: f32(z2)}
		r32 := make([]float32, 3)
		v32, err := l.Eval32(in32, Output[float32]{Rows: r32})
		if err != nil {
			t.Fatalf("float32, c1 = %g: %v", c, err)
		}
		for i := range r32 {
			if !closeRel(float64(r32[i]), wantRows[i], 1e-6) {
				t.Errorf("float32, c1 = %g: row %d = %v, want %v", c, i, r32[i], wantRows[i])
			}
		}
		if !closeRel(v32, v, 1e-6) {
			t.Errorf("float32, c1 = %g: loss %v, want %v", c, v32, v)
		}
		g32 := make([]float32, 12)
		_, err = l.Eval32(in32, Output[float32]{Grad: g32})
		switch {
		case c > math.MaxFloat32*4:
			if err == nil || !strings.Contains(err.Error(), "overflows") {
				t.Errorf("float32, c1 = %g, gradient: err = %v, want an overflow error", c, err)
			}
		case err != nil:
			t.Errorf("float32, c1 = %g, gradient: %v", c, err)
		default:
			for j := range g32 {
				if want := c * wantGrad[j]; math.Abs(float64(g32[j])-want) > 1e-6*c {
					t.Errorf("float32, c1 = %g: grad[%d] = %v, want %v", c, j, g32[j], want)
				}
			}
		}
	}
}

func closeRel(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(math.Abs(want), 1e-300)
}

func f32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}
