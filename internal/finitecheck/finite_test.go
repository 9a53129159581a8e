package finitecheck

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/xentlab/xent/embedding"
	"github.com/xentlab/xent/loss"
)

// paramValues are the finite values every parameter is tried with, one
// parameter at a time (the others at their defaults), besides random
// combinations of them.
var paramValues = []float64{
	-math.MaxFloat64, -1e300, -1e39, -1e30, -100, -2, -1, -0.5, -1e-30, 0, 1e-300, 1e-30, 1e-8, 1e-3,
	0.02, 0.1, 0.5, 0.9, 0.999999, 1, 1.5, 2, 3, 4, 7, 10, 100, 1000, 1e8, 1e30, 1e39, 1e300, math.MaxFloat64,
}

// logitSets returns finite logit matrices [rows, cols] of several kinds,
// in float64 (each is also evaluated rounded to float32).
func logitSets(rng *rand.Rand, rows, cols int) map[string][]float64 {
	gen := func(f func(i, j int) float64) []float64 {
		x := make([]float64, rows*cols)
		for i := range rows {
			for j := range cols {
				x[i*cols+j] = f(i, j)
			}
		}
		return x
	}
	return map[string][]float64{
		"normal": gen(func(i, j int) float64 { return rng.NormFloat64() * 2 }),
		"ties":   gen(func(i, j int) float64 { return float64(i) }),
		"tiny":   gen(func(i, j int) float64 { return rng.NormFloat64() * 1e-30 }),
		"gap":    gen(func(i, j int) float64 { return 100 * float64((i+j)%cols/max(cols-1, 1)) }),
		"large":  gen(func(i, j int) float64 { return rng.NormFloat64() * 1e4 }),
		"huge": gen(func(i, j int) float64 {
			return float64(math.MaxFloat32) * 0.9 * float64(1-2*((i+j)%2)) * rng.Float64()
		}),
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func to32(x []float64) []float32 {
	if x == nil {
		return nil
	}
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// paramSets returns the parameter maps to try for a spec: the defaults,
// each parameter at each value of paramValues, and random combinations.
func paramSets(rng *rand.Rand, names []string, defaults []float64) []map[string]float64 {
	base := map[string]float64{}
	for i, n := range names {
		base[n] = defaults[i]
	}
	clone := func() map[string]float64 {
		m := map[string]float64{}
		for k, v := range base {
			m[k] = v
		}
		return m
	}
	sets := []map[string]float64{clone()}
	for _, n := range names {
		for _, v := range paramValues {
			m := clone()
			m[n] = v
			sets = append(sets, m)
		}
	}
	if len(names) > 1 {
		for range 40 {
			m := clone()
			for _, n := range names {
				if rng.IntN(2) == 0 {
					m[n] = paramValues[rng.IntN(len(paramValues))]
				}
			}
			sets = append(sets, m)
		}
	}
	return sets
}

func specText(name string, p map[string]float64, order []string) string {
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s=%g", k, p[k]))
	}
	if len(parts) == 0 {
		return name
	}
	return name + ":" + strings.Join(parts, ",")
}

// failures collects the first few failures of a loss.
type failures struct {
	t    *testing.T
	seen map[string]int
}

func (f *failures) add(text, format string, args ...any) {
	name, _, _ := strings.Cut(text, ":")
	f.seen[name]++
	if f.seen[name] <= 4 {
		f.t.Errorf("%s: %s", text, fmt.Sprintf(format, args...))
	}
}

// summary reports how many evaluations of each loss failed.
func (f *failures) summary() {
	for name, n := range f.seen {
		f.t.Errorf("%s: %d non-finite results", name, n)
	}
}

// TestLossesFinite: every registered loss of package loss.
func TestLossesFinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 16))
	const rows, cols = 5, 7
	fails := &failures{t: t, seen: map[string]int{}}
	evaluated := 0
	for _, spec := range loss.Specs() {
		var names []string
		var defs []float64
		for _, p := range spec.Params {
			names = append(names, p.Name)
			defs = append(defs, p.Default)
		}
		for _, p := range paramSets(rng, names, defs) {
			text := specText(spec.Name, p, names)
			l, _, err := loss.Parse(text)
			if err != nil {
				continue // a parameter it does not accept
			}
			if spec.Needs&loss.NeedsSequences != 0 {
				evaluated += checkCTC(rng, fails, text, l)
				continue
			}
			for kind, x := range logitSets(rng, rows, cols) {
				for _, in := range inputsFor(rng, spec, x, rows, cols) {
					evaluated++
					checkLoss(fails, text, kind+in.what, l, in.in)
				}
			}
		}
	}
	fails.summary()
	t.Logf("%d evaluations", evaluated)
}

type namedInput struct {
	what string
	in   loss.Input[float64]
}

// inputsFor builds the inputs a spec reads from logits x.
func inputsFor(rng *rand.Rand, spec loss.Spec, x []float64, rows, cols int) []namedInput {
	base := loss.Input[float64]{Logits: x, Cols: cols}
	var out []namedInput
	labels := make([]int32, rows)
	for i := range labels {
		labels[i] = int32(rng.IntN(cols))
	}
	soft := make([]float64, rows*cols)
	for i := range rows {
		var s float64
		for j := range cols {
			soft[i*cols+j] = rng.Float64()
			s += soft[i*cols+j]
		}
		for j := range cols {
			soft[i*cols+j] /= s
		}
	}
	teacher := make([]float64, rows*cols)
	for i := range teacher {
		teacher[i] = rng.NormFloat64() * 3
	}
	n := spec.Needs
	switch {
	case n&loss.NeedsLabels != 0:
		in := base
		in.Labels = labels
		if n&loss.NeedsTeacher != 0 {
			in.Teacher = teacher
			out = append(out, namedInput{"/teacher", in})
			in2 := in
			in2.Teacher = x // the same logits as both
			out = append(out, namedInput{"/self", in2})
		} else {
			out = append(out, namedInput{"/labels", in})
		}
		if n&loss.AcceptsSoftTargets != 0 {
			in := base
			in.Targets = soft
			out = append(out, namedInput{"/soft", in})
		}
	case n&loss.NeedsTargets != 0:
		for what, f := range map[string]func() float64{
			"/u01":    rng.Float64,
			"/binary": func() float64 { return float64(rng.IntN(2)) },
			"/normal": rng.NormFloat64,
		} {
			in := base
			in.Targets = make([]float64, rows*cols)
			for i := range in.Targets {
				in.Targets[i] = f()
			}
			out = append(out, namedInput{what, in})
		}
		in := base
		in.Targets = soft
		out = append(out, namedInput{"/dist", in})
	case n&loss.NeedsScalarTargets != 0:
		for what, f := range map[string]func() float64{
			"/u01":  rng.Float64,
			"/wide": func() float64 { return rng.NormFloat64() * 20 },
		} {
			in := base
			in.Targets = make([]float64, rows)
			for i := range in.Targets {
				in.Targets[i] = f()
			}
			out = append(out, namedInput{what, in})
		}
	case n&loss.NeedsTeacher != 0:
		in := base
		in.Teacher = teacher
		out = append(out, namedInput{"/teacher", in})
		in2 := base
		in2.Teacher = x
		out = append(out, namedInput{"/self", in2})
		if n&loss.AcceptsSoftTargets != 0 {
			in := base
			in.Targets = soft
			out = append(out, namedInput{"/soft", in})
		}
	default:
		out = append(out, namedInput{"", base})
	}
	return out
}

// checkLoss evaluates l on in in float64 and rounded to float32, with a
// gradient and per-row values.
func checkLoss(f *failures, text, what string, l loss.Loss, in loss.Input[float64]) {
	rows := len(in.Logits) / in.Cols
	g := make([]float64, len(in.Logits))
	r := make([]float64, rows)
	if v, err := l.Eval64(in, loss.Output[float64]{Grad: g, Rows: r}); err == nil {
		report(f, text, what+" float64", v, g, r)
	}
	in32 := loss.Input[float32]{Logits: to32(in.Logits), Cols: in.Cols, Labels: in.Labels, Labels64: in.Labels64,
		Targets: to32(in.Targets), Teacher: to32(in.Teacher)}
	g32 := make([]float32, len(in.Logits))
	r32 := make([]float32, rows)
	if v, err := l.Eval32(in32, loss.Output[float32]{Grad: g32, Rows: r32}); err == nil {
		report(f, text, what+" float32", v, widen(g32), widen(r32))
	}
}

func widen(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func report(f *failures, text, what string, v float64, g, r []float64) {
	if !finite(v) {
		f.add(text, "%s: value %v", what, v)
		return
	}
	for i, x := range g {
		if !finite(x) {
			f.add(text, "%s: gradient[%d] = %v (value %v)", what, i, x, v)
			return
		}
	}
	for i, x := range r {
		if !finite(x) {
			f.add(text, "%s: row %d = %v (value %v)", what, i, x, v)
			return
		}
	}
}

// checkCTC evaluates the sequence loss on feasible alignments (frames ≥
// 2·target + 1); an impossible alignment has the exact value +Inf,
// −log 0, which is not an overflow.
func checkCTC(rng *rand.Rand, f *failures, text string, l loss.Loss) int {
	c, ok := l.(*loss.CTC)
	if !ok {
		f.add(text, "a sequence loss other than CTC")
		return 0
	}
	const frames, batch, classes, s = 9, 3, 5, 3
	n := 0
	for kind, x := range logitSets(rng, frames*batch, classes) {
		tg := make([]int64, batch*s)
		for i := range tg {
			tg[i] = int64(1 + rng.IntN(classes-1))
		}
		if c.Blank() != 0 {
			for i := range tg {
				tg[i] = int64(rng.IntN(classes - 1))
				if tg[i] >= int64(c.Blank()) {
					tg[i]++
				}
			}
		}
		if c.Blank() >= classes {
			continue
		}
		in := loss.CTCInput[float64]{Logits: x, Batch: batch, Classes: classes, Targets64: tg, TargetCols: s}
		g := make([]float64, len(x))
		r := make([]float64, batch)
		if v, err := c.EvalBatch64(in, loss.CTCOutput[float64]{Grad: g, Rows: r}); err == nil {
			report(f, text, kind+" float64", v, g, r)
		}
		in32 := loss.CTCInput[float32]{Logits: to32(x), Batch: batch, Classes: classes, Targets64: tg, TargetCols: s}
		g32 := make([]float32, len(x))
		r32 := make([]float32, batch)
		if v, err := c.EvalBatch32(in32, loss.CTCOutput[float32]{Grad: g32, Rows: r32}); err == nil {
			report(f, text, kind+" float32", v, widen(g32), widen(r32))
		}
		n += 2
	}
	return n
}

// TestEmbeddingLossesFinite: every registered loss of package embedding.
func TestEmbeddingLossesFinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 17))
	const n, dim, classes = 6, 5, 4
	fails := &failures{t: t, seen: map[string]int{}}
	evaluated := 0
	for _, spec := range embedding.Specs() {
		var names []string
		var defs []float64
		for _, p := range spec.Params {
			names = append(names, p.Name)
			defs = append(defs, p.Default)
		}
		for _, p := range paramSets(rng, names, defs) {
			text := specText(spec.Name, p, names)
			l, _, err := embedding.Parse(text)
			if err != nil {
				continue
			}
			for kind, z := range logitSets(rng, n, dim) {
				for _, in := range embeddingInputs(rng, spec, z, n, dim, classes) {
					evaluated++
					checkEmbedding(fails, text, kind+in.what, l, in.in)
				}
			}
		}
	}
	fails.summary()
	t.Logf("%d evaluations", evaluated)
}

type namedEmbInput struct {
	what string
	in   embedding.Input[float64]
}

func embeddingInputs(rng *rand.Rand, spec embedding.Spec, z []float64, n, dim, classes int) []namedEmbInput {
	mat := func(rows int, scale float64) []float64 {
		x := make([]float64, rows*dim)
		for i := range x {
			x[i] = rng.NormFloat64() * scale
		}
		return x
	}
	labels := make([]int64, n)
	for i := range labels {
		labels[i] = int64(i % classes)
	}
	rel := make([]float64, n*classes)
	for i := range n {
		rel[i*classes+int(labels[i])] = 1
		if rng.IntN(2) == 0 {
			rel[i*classes+rng.IntN(classes)] = 1
		}
	}
	nd := spec.Needs
	base := embedding.Input[float64]{Embeddings: z, Dim: dim}
	if nd&embedding.NeedsPositives != 0 {
		base.Positives = mat(n, 1)
	}
	if nd&embedding.NeedsNegatives != 0 {
		base.Negatives = mat(n, 1)
	}
	if nd&embedding.NeedsLabels != 0 {
		base.Labels = labels
	}
	if nd&embedding.NeedsClasses != 0 {
		base.Classes = mat(classes, 1)
	}
	out := []namedEmbInput{{"/base", base}}
	if nd&embedding.AcceptsPositives != 0 {
		in := base
		in.Positives = mat(n, 1)
		out = append(out, namedEmbInput{"/positives", in})
		same := base
		same.Positives = z
		out = append(out, namedEmbInput{"/same-positives", same})
	}
	if nd&embedding.AcceptsLabels != 0 {
		in := base
		in.Labels = labels
		out = append(out, namedEmbInput{"/labels", in})
		if nd&embedding.AcceptsPositives != 0 {
			in.Positives = mat(n, 1)
			out = append(out, namedEmbInput{"/labels+positives", in})
		}
	}
	if nd&embedding.AcceptsClasses != 0 {
		in := base
		in.Classes = mat(classes, 1)
		in.Relevance = rel
		out = append(out, namedEmbInput{"/classes", in})
	}
	return out
}

func checkEmbedding(f *failures, text, what string, l embedding.Loss, in embedding.Input[float64]) {
	g := make([]float64, len(in.Embeddings))
	if v, err := l.Eval64(in, embedding.Output[float64]{Grad: g}); err == nil {
		report(f, text, what+" float64", v, g, nil)
	}
	in32 := embedding.Input[float32]{Embeddings: to32(in.Embeddings), Dim: in.Dim, Positives: to32(in.Positives),
		Negatives: to32(in.Negatives), Labels: in.Labels, Classes: to32(in.Classes), Relevance: to32(in.Relevance)}
	g32 := make([]float32, len(in.Embeddings))
	if v, err := l.Eval32(in32, embedding.Output[float32]{Grad: g32}); err == nil {
		report(f, text, what+" float32", v, widen(g32), nil)
	}
}

// FuzzLossFinite: any registered loss (of either registry), any finite
// parameters, logits of any finite scale: an accepted evaluation is
// finite.
func FuzzLossFinite(f *testing.F) {
	f.Add(uint16(0), 0.5, 1.0, 2.0, uint64(1), 1.0)
	f.Add(uint16(17), 1e39, 1e-30, 0.0, uint64(2), 1e30)
	f.Add(uint16(33), -1e300, 1e300, 7.0, uint64(3), 1e-30)
	f.Add(uint16(50), 0.02, 3.0, 1e8, uint64(4), 3e38)
	f.Add(uint16(63), 1e-300, 0.999999, 10.0, uint64(5), 100.0)
	ls, es := loss.Specs(), embedding.Specs()
	f.Fuzz(func(t *testing.T, which uint16, a, b, c float64, seed uint64, scale float64) {
		if !finite(a) || !finite(b) || !finite(c) || !finite(scale) {
			return
		}
		rng := rand.New(rand.NewPCG(seed, 9))
		vals := []float64{a, b, c}
		fails := &failures{t: t, seen: map[string]int{}}
		k := int(which) % (len(ls) + len(es))
		scaled := func(x []float64) []float64 {
			for i := range x {
				x[i] *= scale
			}
			return x
		}
		if k < len(ls) {
			spec := ls[k]
			p := map[string]float64{}
			var names []string
			for i, prm := range spec.Params {
				p[prm.Name] = prm.Default
				if i < len(vals) {
					p[prm.Name] = vals[i]
				}
				names = append(names, prm.Name)
			}
			text := specText(spec.Name, p, names)
			l, _, err := loss.Parse(text)
			if err != nil {
				return
			}
			if spec.Needs&loss.NeedsSequences != 0 {
				checkCTC(rng, fails, text, l)
				return
			}
			x := scaled(logitSets(rng, 3, 4)["normal"])
			for _, in := range inputsFor(rng, spec, x, 3, 4) {
				checkLoss(fails, text, in.what, l, in.in)
			}
			return
		}
		spec := es[k-len(ls)]
		p := map[string]float64{}
		var names []string
		for i, prm := range spec.Params {
			p[prm.Name] = prm.Default
			if i < len(vals) {
				p[prm.Name] = vals[i]
			}
			names = append(names, prm.Name)
		}
		text := specText(spec.Name, p, names)
		l, _, err := embedding.Parse(text)
		if err != nil {
			return
		}
		z := scaled(logitSets(rng, 6, 5)["normal"])
		for _, in := range embeddingInputs(rng, spec, z, 6, 5, 4) {
			checkEmbedding(fails, text, in.what, l, in.in)
		}
	})
}
