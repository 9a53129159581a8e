package loss

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// Checks shared by the distillation, sequence and group losses: logit
// scales up to 1e4, thread-count independence, the registry, and a fuzz
// test of the teacher–student driver.

// tsrTeacherLosses builds every teacher–student loss with its defaults
// (the label-reading ones get labels from the caller).
func tsrTeacherLosses(t testing.TB) map[string]Loss {
	out := map[string]Loss{}
	for _, name := range []string{"sce", "nkd", "kl-top", "binary-kl", "binary-kl-norm", "gpg", "listwise", "jsd", "tvd", "reverse-kl"} {
		l, _, err := Parse(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = l
	}
	return out
}

func TestDistillHugeLogits(t *testing.T) {
	rng := rand.New(rand.NewPCG(201, 202))
	const rows, cols = 3, 7
	s := tsrRand(rng, rows*cols, 1e4)
	te := tsrRand(rng, rows*cols, 1e4)
	// Round to float32 first so that both precisions see the same inputs.
	s, te = tsrTo64(tsrTo32(s)), tsrTo64(tsrTo32(te))
	labels := []int32{2, 0, 6}
	refs := map[string]func(i int, s, t []float64) float64{
		"sce":        func(_ int, s, t []float64) float64 { return refSCERow(s, t, 0.5, false, math.Inf(-1)) },
		"nkd":        func(i int, s, t []float64) float64 { return refNKDRow(s, t, int(labels[i]), 1.5, 1) },
		"kl-top":     func(_ int, s, t []float64) float64 { return refKLTopRow(s, t, 8, false) },
		"gpg":        func(i int, s, t []float64) float64 { return refGPGRow(s, t, int(labels[i]), 0.5, 1) },
		"listwise":   func(_ int, s, t []float64) float64 { return refListwiseRow(s, t, 1) },
		"jsd":        func(_ int, s, t []float64) float64 { return refJSDRow(s, t, 0.5, 1) },
		"tvd":        func(_ int, s, t []float64) float64 { return refTVDRow(s, t) },
		"reverse-kl": func(_ int, s, t []float64) float64 { return refReverseKLRow(s, t, 1) },
	}
	for name, l := range tsrTeacherLosses(t) {
		in := Input[float64]{Logits: s, Cols: cols, Teacher: te}
		if name == "nkd" || name == "gpg" {
			in.Labels = labels
		}
		g := make([]float64, len(s))
		v, err := l.Eval64(in, Output[float64]{Grad: g})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		g32 := make([]float32, len(s))
		v32, err := l.Eval32(tsrIn32(in), Output[float32]{Grad: g32})
		if err != nil || math.Abs(v32-v) > 1e-6*(1+math.Abs(v)) {
			t.Errorf("%s: float32 %v, float64 %v (%v)", name, v32, v, err)
		}
		for j := range g {
			if math.IsNaN(g[j]) || math.Abs(float64(g32[j])-g[j]) > 1e-6*(1+math.Abs(g[j])) {
				t.Errorf("%s: gradient %d: %v / %v", name, j, g32[j], g[j])
				break
			}
		}
		if ref := refs[name]; ref != nil {
			want := tsrMeanRows(s, te, cols, nil, nil, ref)
			if math.Abs(v-want) > 1e-12*(1+math.Abs(want)) {
				t.Errorf("%s: %v, reference %v", name, v, want)
			}
		}
	}
}

// Results do not depend on the number of threads (fixed blocks).
func TestDistillThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(203, 204))
	const rows, cols = 1200, 64 // three blocks of rows
	s := tsrRand(rng, rows*cols, 2)
	te := tsrRand(rng, rows*cols, 2)
	labels := make([]int32, rows)
	ids := make([]int32, rows)
	for i := range labels {
		labels[i] = int32(rng.IntN(cols))
		ids[i] = int32(i / 7)
	}
	eval := func(l Loss, in Input[float64]) (float64, []float64) {
		g := make([]float64, len(in.Logits))
		v, err := l.Eval64(in, Output[float64]{Grad: g})
		if err != nil {
			t.Fatal(err)
		}
		return v, g
	}
	same := func(name string, mk func(threads int) Loss, in Input[float64]) {
		v1, g1 := eval(mk(1), in)
		v3, g3 := eval(mk(3), in)
		if v1 != v3 {
			t.Errorf("%s: %v with 1 thread, %v with 3", name, v1, v3)
		}
		for j := range g1 {
			if g1[j] != g3[j] {
				t.Errorf("%s: gradient %d differs", name, j)
				break
			}
		}
	}
	same("jsd", func(n int) Loss { l, _ := NewJSD(0.5, 1, WithThreads(n)); return l }, Input[float64]{Logits: s, Cols: cols, Teacher: te})
	same("nkd", func(n int) Loss { l, _ := NewNKD(1.5, 2, WithThreads(n)); return l }, Input[float64]{Logits: s, Cols: cols, Teacher: te, Labels: labels})
	same("eisl", func(n int) Loss { l, _ := NewEISL([]int{1, 2}, WithThreads(n)); return l.ForSequences(ids[:140]) }, Input[float64]{Logits: s[:140*cols], Cols: cols, Labels: labels[:140]})
	q := make([]float64, rows*cols)
	for i := 0; i < rows; i++ {
		q[i*cols+int(labels[i])] = 1
	}
	same("bag", func(n int) Loss { l, _ := NewBag(0.3, WithThreads(n)); return l.ForBags(ids) }, Input[float64]{Logits: s, Cols: cols, Targets: q})
	same("flat", func(n int) Loss { l, _ := NewFLAT(JensenShannon, WithThreads(n)); return l }, Input[float64]{Logits: s, Cols: cols, Labels: labels})
}

func TestDistillRegistry(t *testing.T) {
	for _, c := range []struct {
		text, name, catalog string
	}{
		{"sce:alpha=0.2,logfloor=-4", "sce", "A27"},
		{"nkd:gamma=3.5,temperature=3", "nkd", "B15"},
		{"kl-top:k=3,renorm=1", "kl-top", "B13"},
		{"binary-kl:temperature=4", "binary-kl", "B29"},
		{"binary-kl-norm", "binary-kl-norm", "B29"},
		{"gpg:alpha=0.7,temperature=2", "gpg", "A21"},
		{"listwise:temperature=3", "listwise", "B26"},
		{"jsd:beta=0.1,temperature=2", "jsd", ""},
		{"tvd", "tvd", ""},
		{"reverse-kl:temperature=2", "reverse-kl", ""},
		{"eisl:ngram=1", "eisl", "A25"},
		{"bag:rho=0.5", "bag", "B9"},
		{"mft:mode=4", "mft", "A28"},
		{"dro:r=0.5", "dro", "B21"},
		{"ensloss:lambda=0.5,seed=3", "ensloss", "B2"},
		{"flat", "flat", "B4"},
		{"flat-kl", "flat-kl", "B4"},
		{"flat-js", "flat-js", "B4"},
		{"flat-pearson", "flat-pearson", "B4"},
	} {
		l, s, err := Parse(c.text)
		if err != nil || l.Name() != c.name || s.Catalog != c.catalog {
			t.Errorf("%s: %v %+v %v", c.text, l, s, err)
		}
	}
	l, _, _ := Parse("sce:alpha=0.2,logfloor=-4")
	if sc := l.(*SCE); sc.alpha != 0.2 || sc.floor != -4 {
		t.Errorf("sce parameters %+v", sc)
	}
	if s, _ := Lookup("sce"); !math.IsInf(s.Params[1].Default, -1) {
		t.Errorf("sce log floor default %v", s.Params[1].Default)
	}
	for _, bad := range []string{"sce:alpha=2", "jsd:beta=-1", "dro:r=0", "bag:rho=-1", "nkd:temperature=0", "reverse-kl:temperature=0"} {
		if _, _, err := Parse(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// FuzzTeacherLosses feeds arbitrary student and teacher logits and labels
// to every teacher–student loss: an error or a finite loss with a finite
// gradient, never a panic.
func FuzzTeacherLosses(f *testing.F) {
	seed := func(cols int, labels []byte, vals ...float32) {
		b := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		f.Add(cols, labels, b)
	}
	inf := float32(math.Inf(1))
	seed(2, []byte{0, 1}, 1, 2, 3, 4, 0, 1, -1, 2)
	seed(3, []byte{2}, -inf, 0, 1, 0, -inf, 5)
	seed(1, []byte{0, 0}, 1e30, -1e30, 7, 8)
	seed(2, []byte{1}, float32(math.NaN()), inf, 0, 0)
	seed(0, nil)
	losses := tsrTeacherLosses(f)
	f.Fuzz(func(t *testing.T, cols int, labels []byte, raw []byte) {
		x := floatsFrom(raw)
		n := len(x) / 2
		s, te := x[:n], x[n:2*n]
		lab := make([]int32, 0, len(labels))
		for _, l := range labels {
			lab = append(lab, int32(l)-100)
		}
		for name, l := range losses {
			in := Input[float32]{Logits: s, Cols: cols, Teacher: te}
			if name == "nkd" || name == "gpg" {
				in.Labels = lab
			}
			g := make([]float32, len(s))
			v, err := l.Eval32(in, Output[float32]{Grad: g})
			if err != nil {
				continue
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s: non-finite loss %v without an error", name, v)
			}
			for i, e := range g {
				if e != e || math.IsInf(float64(e), 0) {
					t.Fatalf("%s: non-finite gradient %v at %d", name, e, i)
				}
			}
		}
	})
}
