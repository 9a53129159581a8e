package embedding

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/xentlab/xent/internal/gradcheck"
)

// gradCase is one loss on one kind of input, for finite differences.
type gradCase struct {
	spec   string
	n, d   int
	c      int  // classes (0: none)
	pos    bool // paired positives
	labels []int64
	rel    bool // relevance over the classes
}

func gradCases() []gradCase {
	return []gradCase{
		{spec: "infonce:temperature=0.5", n: 5, d: 4, pos: true},
		{spec: "infonce:temperature=0.3,symmetric=1", n: 5, d: 4, pos: true, labels: []int64{0, 1, 0, 2, 3}},
		{spec: "infonce:temperature=2,normalize=0", n: 4, d: 3, pos: true},
		{spec: "nt-xent:temperature=0.5", n: 4, d: 3, pos: true},
		{spec: "nt-xent:temperature=0.7", n: 5, d: 3, pos: true, labels: []int64{1, 1, 2, 3, 2}},
		{spec: "cacr", n: 6, d: 3, labels: []int64{0, 0, 1, 1, 1, 2}},
		{spec: "cacr:tau_pos=2,tau_neg=0.5,alpha=0.7,beta=1.3", n: 4, d: 3, pos: true},
		{spec: "cacr:normalize=0", n: 5, d: 2, labels: []int64{0, 1, 0, 1, 1}},
		{spec: "cacr:tau_neg=2", n: 6, d: 3, labels: []int64{0, 1, 2, 0, 1, 2}},
		{spec: "cacr:all_negatives=1,tau_pos=0.5", n: 4, d: 3, pos: true},
		{spec: "decoupled-softmax:temperature=0.5", n: 4, d: 3, c: 6, rel: true},
		{spec: "decoupled-softmax:temperature=0.5", n: 5, d: 3, pos: true, labels: []int64{0, 0, 1, 2, 1}},
		{spec: "decoupled-softmax:temperature=0.5", n: 4, d: 3, c: 5, labels: []int64{0, 3, 4, 3}},
		{spec: "soft-topk:temperature=0.5,k=2", n: 4, d: 3, c: 6, rel: true},
		{spec: "soft-topk:temperature=0.3,k=3,alpha=1", n: 5, d: 3, pos: true},
		{spec: "ngame-triplet:k=3,margin=0.8", n: 5, d: 3, pos: true},
		{spec: "ngame-triplet:k=2,margin=0.9,aggressive=0", n: 5, d: 3, pos: true, labels: []int64{0, 1, 1, 2, 3}},
		{spec: "norm-softmax", n: 5, d: 3, c: 4, labels: []int64{0, 3, 1, 1, 2}},
		{spec: "norm-softmax:scale=3,smoothing=0.2", n: 4, d: 3, c: 3, labels: []int64{2, 0, 1, 1}},
		{spec: "cosface:scale=5,margin=0.2", n: 4, d: 3, c: 3, labels: []int64{0, 2, 1, 1}},
		{spec: "arcface:scale=5,margin=0.3", n: 4, d: 3, c: 3, labels: []int64{0, 2, 1, 1}},
		{spec: "madacos:alpha=0.3", n: 5, d: 3, c: 4, labels: []int64{0, 3, 1, 2, 2}},
		{spec: "ebv:temperature=0.5,smoothing=0.1", n: 4, d: 3, c: 3, labels: []int64{0, 2, 1, 1}},
		{spec: "ebv:temperature=0.5", n: 4, d: 5, labels: []int64{0, 2, 1, 1}},
		{spec: "gumbel-cbm:tau=0.7", n: 3, d: 4},
		{spec: "gumbel-cbm:noise=0", n: 2, d: 3},
		{spec: "fourier-head:bins=7", n: 3, d: 6, labels: []int64{0, 6, 3}},
		{spec: "fourier-head:bins=5,gamma=0.01", n: 2, d: 8, labels: []int64{1, 4}},
	}
}

func (gc gradCase) input(rng *rand.Rand) Input[float64] {
	rnd := func(k int) []float64 {
		x := make([]float64, k)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		return x
	}
	in := Input[float64]{Embeddings: rnd(gc.n * gc.d), Dim: gc.d, Labels: gc.labels}
	if gc.pos {
		in.Positives = rnd(gc.n * gc.d)
	}
	if gc.c > 0 {
		in.Classes = rnd(gc.c * gc.d)
	}
	if gc.rel {
		in.Relevance = make([]float64, gc.n*gc.c)
		for i := 0; i < gc.n; i++ {
			in.Relevance[i*gc.c+(i%gc.c)] = 1
			if i%2 == 0 {
				in.Relevance[i*gc.c+((i+2)%gc.c)] = 1
			}
		}
	}
	return in
}

// TestGradients checks every gradient of every loss against central
// differences in float64.
func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, gc := range gradCases() {
		l, _, err := Parse(gc.spec)
		if err != nil {
			t.Fatalf("%s: %v", gc.spec, err)
		}
		in := gc.input(rng)
		out := Output[float64]{Grad: make([]float64, len(in.Embeddings))}
		if in.Positives != nil {
			out.GradPositives = make([]float64, len(in.Positives))
		}
		if in.Classes != nil {
			out.GradClasses = make([]float64, len(in.Classes))
		}
		if _, err := l.Eval64(in, out); err != nil {
			t.Fatalf("%s: %v", gc.spec, err)
		}
		f := func(x []float64) float64 {
			v, err := l.Eval64(in, Output[float64]{})
			if err != nil {
				t.Fatalf("%s: %v", gc.spec, err)
			}
			return v
		}
		for _, part := range []struct {
			name      string
			x, analyt []float64
		}{{"embeddings", in.Embeddings, out.Grad}, {"positives", in.Positives, out.GradPositives}, {"classes", in.Classes, out.GradClasses}} {
			if part.x == nil {
				continue
			}
			if err := gradcheck.Check(f, part.analyt, part.x, 1e-6, 1e-7, 1e-5); err != nil {
				t.Errorf("%s, %s: %v", gc.spec, part.name, err)
			}
		}
	}
}

// TestFloat32 runs every case in float32 and compares with float64.
func TestFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, gc := range gradCases() {
		l, _, _ := Parse(gc.spec)
		in := gc.input(rng)
		// Round the inputs to float32 first so both see the same numbers.
		r32 := func(x []float64) []float32 {
			if x == nil {
				return nil
			}
			y := make([]float32, len(x))
			for i, v := range x {
				y[i] = float32(v)
				x[i] = float64(y[i])
			}
			return y
		}
		in32 := Input[float32]{Embeddings: r32(in.Embeddings), Dim: in.Dim, Positives: r32(in.Positives),
			Labels: in.Labels, Classes: r32(in.Classes), Relevance: r32(in.Relevance)}
		g32 := make([]float32, len(in.Embeddings))
		g64 := make([]float64, len(in.Embeddings))
		v32, err := Eval(l, in32, Output[float32]{Grad: g32})
		if err != nil {
			t.Fatalf("%s: %v", gc.spec, err)
		}
		v64, err := Eval(l, in, Output[float64]{Grad: g64})
		if err != nil {
			t.Fatal(err)
		}
		if v32 != v64 {
			t.Errorf("%s: float32 loss %v, float64 %v", gc.spec, v32, v64)
		}
		for i := range g32 {
			if math.Abs(float64(g32[i])-g64[i]) > 1e-6*math.Max(1, math.Abs(g64[i])) {
				t.Fatalf("%s: grad[%d] %v vs %v", gc.spec, i, g32[i], g64[i])
			}
		}
	}
}

func TestEdgeCases(t *testing.T) {
	// A batch of one.
	for _, spec := range []string{"infonce", "infonce:symmetric=1", "nt-xent", "ngame-triplet", "cacr"} {
		l, _, _ := Parse(spec)
		g := make([]float64, 3)
		v, err := l.Eval64(Input[float64]{Embeddings: []float64{1, 2, 3}, Dim: 3, Positives: []float64{3, 1, 0}}, Output[float64]{Grad: g})
		if err != nil || v != 0 && spec != "cacr" {
			t.Errorf("%s, batch of one: %v, %v", spec, v, err)
		}
		for _, x := range g {
			if math.IsNaN(x) || spec != "cacr" && x != 0 {
				t.Errorf("%s, batch of one: grad %v", spec, g)
				break
			}
		}
	}
	// Duplicate embeddings: finite values, and InfoNCE of two identical
	// pairs is log 2.
	l, _, _ := Parse("infonce:temperature=1")
	v, err := l.Eval64(Input[float64]{Embeddings: []float64{1, 0, 1, 0}, Dim: 2, Positives: []float64{1, 0, 1, 0}}, Output[float64]{Grad: make([]float64, 4)})
	if err != nil || math.Abs(v-math.Log(2)) > 1e-15 {
		t.Errorf("duplicates: %v %v", v, err)
	}
	// With labels marking the duplicate as the same item, it is no
	// negative: loss 0.
	v, _ = l.Eval64(Input[float64]{Embeddings: []float64{1, 0, 1, 0}, Dim: 2, Positives: []float64{1, 0, 1, 0}, Labels: []int64{7, 7}}, Output[float64]{})
	if v != 0 {
		t.Errorf("duplicates with labels: %v", v)
	}
	// Zero vectors cannot be normalised: an error naming the row.
	for _, spec := range []string{"infonce", "cacr", "ngame-triplet", "norm-softmax", "ebv", "decoupled-softmax"} {
		l, s, _ := Parse(spec)
		in := Input[float64]{Embeddings: []float64{1, 2, 0, 0}, Dim: 2}
		if s.Needs&(NeedsPositives|AcceptsPositives) != 0 {
			in.Positives = []float64{1, 0, 0, 1}
		}
		if s.Needs&(NeedsLabels|AcceptsLabels) != 0 {
			in.Labels = []int64{0, 1}
		}
		if s.Needs&NeedsClasses != 0 {
			in.Classes = []float64{1, 0, 0, 1}
		}
		_, err := l.Eval64(in, Output[float64]{})
		if !errors.Is(err, ErrValue) || !strings.Contains(err.Error(), "row 1") {
			t.Errorf("%s, zero row: %v", spec, err)
		}
	}
	// Shapes and values.
	ns, _ := NewNormSoftmax(10, 0)
	for _, bad := range []struct {
		in   Input[float64]
		want error
	}{
		{Input[float64]{Embeddings: []float64{1, 2, 3}, Dim: 2, Labels: []int64{0}, Classes: []float64{1, 0}}, ErrShape},
		{Input[float64]{Embeddings: []float64{1, 2}, Dim: 2, Labels: []int64{0, 1}, Classes: []float64{1, 0}}, ErrShape},
		{Input[float64]{Embeddings: []float64{1, 2}, Dim: 2, Labels: []int64{1}, Classes: []float64{1, 0}}, ErrValue},
		{Input[float64]{Embeddings: []float64{1, 2}, Dim: 2, Labels: []int64{0}}, ErrShape},
		{Input[float64]{Embeddings: []float64{1, math.NaN()}, Dim: 2, Labels: []int64{0}, Classes: []float64{1, 0}}, ErrValue},
		{Input[float64]{Embeddings: []float64{1, 2}, Dim: 2, Labels: []int64{0}, Classes: []float64{1, 0}, Positives: []float64{1, 1}}, ErrShape},
	} {
		if _, err := ns.Eval64(bad.in, Output[float64]{}); !errors.Is(err, bad.want) {
			t.Errorf("%+v: err %v, want %v", bad.in, err, bad.want)
		}
	}
	if _, err := ns.Eval64(Input[float64]{Embeddings: []float64{1, 2}, Dim: 2, Labels: []int64{0}, Classes: []float64{1, 0}},
		Output[float64]{Grad: make([]float64, 3)}); !errors.Is(err, ErrShape) {
		t.Errorf("short grad: %v", err)
	}
	st, _, _ := Parse("soft-topk:k=5")
	if _, err := st.Eval64(Input[float64]{Embeddings: []float64{1, 2, 3, 4}, Dim: 2, Positives: []float64{1, 0, 0, 1}}, Output[float64]{}); !errors.Is(err, ErrValue) {
		t.Errorf("k ≥ pool: %v", err)
	}
	fh, _, _ := Parse("fourier-head:bins=3")
	if _, err := fh.Eval64(Input[float64]{Embeddings: make([]float64, 4), Dim: 4, Labels: []int64{0}}, Output[float64]{}); !errors.Is(err, ErrValue) {
		t.Errorf("all-zero Fourier coefficients: %v", err)
	}
	// MadaCos with the median target cosine at 1 has no finite scale.
	mc, _ := NewMadaCos(0.02, true)
	if _, err := mc.Eval64(Input[float64]{Embeddings: []float64{1, 0}, Dim: 2, Labels: []int64{0}, Classes: []float64{2, 0, 0, 1}}, Output[float64]{}); !errors.Is(err, ErrValue) {
		t.Errorf("median cosine 1: %v", err)
	}
}

func TestGenerateEBV(t *testing.T) {
	for _, c := range []struct {
		c, d  int
		alpha float64
	}{{5, 8, 0}, {8, 8, 0.002}, {6, 3, 0.5}, {12, 6, 0.45}} {
		w, got, err := GenerateEBV(c.c, c.d, c.alpha, 7, 0)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if got > c.alpha+1e-4 || math.Abs(got-maxCos(w, c.d)) > 1e-15 {
			t.Errorf("%+v: max |cos| %v", c, got)
		}
		for r := 0; r < c.c; r++ {
			if math.Abs(norm(w[r*c.d:(r+1)*c.d])-1) > 1e-12 {
				t.Fatalf("%+v: row %d not unit", c, r)
			}
		}
		w2, _, _ := GenerateEBV(c.c, c.d, c.alpha, 7, 0)
		for i := range w {
			if w[i] != w2[i] {
				t.Fatalf("%+v: not reproducible", c)
			}
		}
	}
	// Below the Welch bound √((c−d)/(d(c−1))) = √(3/(3·5)) ≈ 0.447.
	if _, _, err := GenerateEBV(6, 3, 0.4, 1, 0); !errors.Is(err, ErrValue) {
		t.Errorf("below Welch bound: %v", err)
	}
}

func TestRegistry(t *testing.T) {
	names := map[string]bool{}
	for _, s := range Specs() {
		names[s.Name] = true
		if s.Summary == "" || s.New == nil {
			t.Errorf("incomplete spec %s", s.Name)
		}
		if _, _, err := Parse(s.Name); err != nil {
			t.Errorf("%s with defaults: %v", s.Name, err)
		}
		if s.InputText() == "" {
			t.Errorf("%s: no input text", s.Name)
		}
	}
	for _, want := range []string{"infonce", "nt-xent", "cacr", "decoupled-softmax", "soft-topk", "ngame-triplet",
		"norm-softmax", "cosface", "arcface", "madacos", "ebv", "gumbel-cbm", "fourier-head"} {
		if !names[want] {
			t.Errorf("%s not registered", want)
		}
	}
	l, s, err := Parse("infonce:temperature=0.1,symmetric=1")
	if err != nil || s.Name != "infonce" || l.(*InfoNCE).Temperature != 0.1 || !l.(*InfoNCE).Symmetric {
		t.Fatalf("%v %v %v", l, s, err)
	}
	for _, bad := range []struct{ text, mention string }{
		{"no-such-loss", "infonce"},
		{"infonce:temp=1", "temperature=0.07"},
		{"infonce:temperature=x", "not a number"},
		{"infonce:temperature=-1", "temperature"},
		{"infonce:symmetric=2", "0 or 1"},
		{"ngame-triplet:k=2.5", "integer"},
		{"madacos:alpha=1", "alpha"},
		{"fourier-head:bins=0", "bins"},
	} {
		_, _, err := Parse(bad.text)
		if err == nil || !strings.Contains(err.Error(), bad.mention) {
			t.Errorf("%q: err %v, want one mentioning %q", bad.text, err, bad.mention)
		}
	}
	if got := fmt.Sprint(Specs()[0].ParamList()); got == "" {
		t.Error("empty param list")
	}
}

// TestMadaCosSurrogateGradient: at the released α = 0.02 with a median
// target cosine above 0.375, the scale s = log(9999999·0.98/0.02)/(1 − med)
// exceeds its floor of 32, so s (and m) depend on the batch. MadaCos's
// gradient is the official surrogate that holds them constant: it must
// equal the central differences of the loss with s and m frozen at the
// batch's values (computed here from their formulas), and differ from
// those of the returned value itself.
func TestMadaCosSurrogateGradient(t *testing.T) {
	const alpha, n, d, c = 0.02, 5, 4, 3
	rng := rand.New(rand.NewPCG(77, 78))
	cls := make([]float64, c*d)
	for i := range cls {
		cls[i] = rng.NormFloat64()
	}
	labels := []int64{0, 1, 2, 1, 0}
	// Embeddings near their class vectors: target cosines well above 0.375.
	emb := make([]float64, n*d)
	for i := range n {
		for k := range d {
			emb[i*d+k] = cls[int(labels[i])*d+k] + 0.4*rng.NormFloat64()
		}
	}
	unitRow := func(x []float64) []float64 {
		var s float64
		for _, v := range x {
			s += v * v
		}
		out := make([]float64, len(x))
		for k, v := range x {
			out[k] = v / math.Sqrt(s)
		}
		return out
	}
	cosines := func(e []float64) [][]float64 {
		out := make([][]float64, n)
		for i := range n {
			u := unitRow(e[i*d : (i+1)*d])
			out[i] = make([]float64, c)
			for j := range c {
				w := unitRow(cls[j*d : (j+1)*d])
				for k := range d {
					out[i][j] += u[k] * w[k]
				}
			}
		}
		return out
	}
	// s and m of the batch, from their formulas.
	cs := cosines(emb)
	type tv struct {
		v float64
		i int
	}
	var tg []tv
	for i := range n {
		tg = append(tg, tv{cs[i][labels[i]], i})
	}
	sort.Slice(tg, func(a, b int) bool { return tg[a].v < tg[b].v })
	med := tg[(n-1)/2]
	if med.v <= 0.375 {
		t.Fatalf("median target cosine %v: the test needs it above 0.375", med.v)
	}
	s := math.Max(32, math.Log(9999999*(1-alpha)/alpha)/(1-med.v))
	if s <= 32 {
		t.Fatalf("s = %v sits on its floor", s)
	}
	var bsum float64
	for j := range c {
		if j != int(labels[med.i]) {
			bsum += math.Exp(s * cs[med.i][j])
		}
	}
	m := math.Max(0, med.v-(math.Log(bsum)+math.Log(alpha/(1-alpha)))/s)
	// The loss with s and m frozen: CosFace logits s·cos, s·(cos_y − m).
	frozen := func(e []float64) float64 {
		var tot float64
		for i, row := range cosines(e) {
			y := int(labels[i])
			var z float64
			for j, v := range row {
				if j == y {
					v -= m
				}
				z += math.Exp(s * v)
			}
			tot += math.Log(z) - s*(row[y]-m)
		}
		return tot / n
	}
	l, err := NewMadaCos(alpha, true)
	if err != nil {
		t.Fatal(err)
	}
	in := Input[float64]{Embeddings: emb, Dim: d, Labels: labels, Classes: cls}
	g := make([]float64, len(emb))
	v, err := l.Eval64(in, Output[float64]{Grad: g})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(v-frozen(emb)) > 1e-12*math.Abs(v) {
		t.Fatalf("loss %v, the frozen loss at the same point %v", v, frozen(emb))
	}
	if err := gradcheck.Check(frozen, g, emb, 1e-6, 1e-8, 1e-5); err != nil {
		t.Errorf("gradient vs the loss with s and m frozen: %v", err)
	}
	actual := func(e []float64) float64 {
		v, err := l.Eval64(Input[float64]{Embeddings: e, Dim: d, Labels: labels, Classes: cls}, Output[float64]{})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := gradcheck.Check(actual, g, emb, 1e-6, 1e-8, 1e-5); err == nil {
		t.Error("the surrogate gradient matched the derivative of the returned value: s and m did not vary, the test is vacuous")
	}
}
