// Package embedding holds xent's losses over embeddings: contrastive
// losses with in-batch negatives (InfoNCE, NT-Xent, CACR, NGAME's
// hardness-weighted triplet), the DEXML losses for extreme multi-label
// retrieval, cosine-softmax heads with fixed or adaptive scale and margin
// (normalised softmax, CosFace, ArcFace, MadaCos, equiangular basis
// vectors), Sparse-CBM's Gumbel-softmax loss and the Fourier head.
//
// # The pattern
//
// Every loss implements Loss, like package loss does over logits: it
// reads an Input — embeddings [N, Dim] row-major, and, as the loss needs
// them, paired positives [N, Dim], integer labels [N], class (proxy)
// vectors [C, Dim] or a multi-label relevance matrix [N, C] — and returns
// the loss, the mean over the batch's anchors. When the Output buffers are
// set it writes the gradients with respect to the embeddings, the
// positives and the class vectors (overwritten, not accumulated). float32
// and float64 go through Eval32 and Eval64; arithmetic is float64 inside
// (the losses are O(N²·Dim) or O(N·C·Dim), dominated by dot products
// computed once), so float32 inputs get float64-accurate results rounded
// once.
//
// Losses that compare directions L2-normalise their inputs; a row whose
// norm is 0 (or not finite) is an error naming the row, never a silent
// epsilon. Shapes, labels out of range and non-finite values are errors
// that wrap ErrShape or ErrValue; no loss panics on bad input.
//
// Losses are registered by name (Register, Parse, Specs) so that
// "xent eval --loss NAME[:key=value,...] --embeddings E.npy" can reach
// every one of them.
package embedding

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/xentlab/xent/internal/rowstat"
	"github.com/xentlab/xent/internal/xerr"
)

// Float is the element type of embeddings: float32 or float64, or a type
// defined on them.
type Float = rowstat.Float

// Input is one batch of an embedding loss's inputs. Which fields a loss
// reads is stated in its documentation; the others must be nil.
type Input[T Float] struct {
	// Embeddings is the [N, Dim] matrix of anchors (queries), row-major.
	Embeddings []T
	Dim        int
	// Positives is the [N, Dim] matrix of paired positives: row i is the
	// positive of anchor i (a second view, the document of a query).
	Positives []T
	// Negatives is the [N, Dim] matrix of paired negatives: row i is the
	// negative of anchor i (triplet losses).
	Negatives []T
	// Labels holds one integer per anchor: a class index for class-vector
	// losses, a group id (equal ids are positives of each other) for the
	// contrastive ones.
	Labels []int64
	// Classes is the [C, Dim] matrix of class (proxy, label) vectors.
	Classes []T
	// Relevance is the [N, C] multi-label relevance matrix (1 for a
	// positive class, 0 otherwise), for the DEXML losses.
	Relevance []T
}

// Output receives the gradients of the loss. Nil fields are not computed;
// set ones must have the shape of the matching input.
type Output[T Float] struct {
	Grad          []T // ∂L/∂Embeddings
	GradPositives []T // ∂L/∂Positives
	GradNegatives []T // ∂L/∂Negatives
	GradClasses   []T // ∂L/∂Classes
}

// Loss is implemented by every loss of the package.
type Loss interface {
	// Name is the loss's registry name.
	Name() string
	// Eval32 evaluates the loss on float32 inputs.
	Eval32(in Input[float32], out Output[float32]) (float64, error)
	// Eval64 evaluates the loss on float64 inputs.
	Eval64(in Input[float64], out Output[float64]) (float64, error)
}

// Eval evaluates l on inputs of either precision.
func Eval[T Float](l Loss, in Input[T], out Output[T]) (float64, error) {
	var z T
	if unsafe.Sizeof(z) == 4 {
		return l.Eval32(convIn[T, float32](in), convOut[T, float32](out))
	}
	return l.Eval64(convIn[T, float64](in), convOut[T, float64](out))
}

// ErrShape is wrapped by every error about the shape of the arguments.
// It is the same value in every package of the module, so errors.Is
// matches it whichever package the error came from.
var ErrShape = xerr.ErrShape

// ErrValue is wrapped by every error about a value (a label out of range,
// a non-finite number, a zero vector that must be normalised).
// It is the same value in every package of the module, so errors.Is
// matches it whichever package the error came from.
var ErrValue = xerr.ErrValue

func shapeErr(name, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", name, fmt.Sprintf(format, args...), ErrShape)
}

func valueErr(name, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", name, fmt.Sprintf(format, args...), ErrValue)
}

type exact = rowstat.Exact

func convIn[T Float, E exact](in Input[T]) Input[E] {
	return Input[E]{Embeddings: rowstat.AsExact[T, E](in.Embeddings), Dim: in.Dim, Positives: rowstat.AsExact[T, E](in.Positives),
		Negatives: rowstat.AsExact[T, E](in.Negatives), Labels: in.Labels, Classes: rowstat.AsExact[T, E](in.Classes), Relevance: rowstat.AsExact[T, E](in.Relevance)}
}

func convOut[T Float, E exact](out Output[T]) Output[E] {
	return Output[E]{Grad: rowstat.AsExact[T, E](out.Grad), GradPositives: rowstat.AsExact[T, E](out.GradPositives),
		GradNegatives: rowstat.AsExact[T, E](out.GradNegatives), GradClasses: rowstat.AsExact[T, E](out.GradClasses)}
}

// needs says which inputs a loss reads.
type needs uint8

const (
	needPositives needs = 1 << iota
	needLabels
	needClasses
	optPositives // read when present
	optLabels
	optClasses
	optRelevance
	needNegatives
)

// batch is an Input in float64 with its shape, and the gradient buffers
// the loss must fill (nil when not requested).
type batch struct {
	name                 string
	z, pos, cls, rel     []float64
	neg                  []float64
	labels               []int64
	n, d, c              int
	gz, gpos, gcls, gneg []float64
}

// impl is what a loss provides: its name, what it reads, and its float64
// evaluation filling b.gz, b.gpos, b.gcls where they are non-nil.
type impl interface {
	lossName() string
	reads() needs
	eval(b *batch) (float64, error)
}

func toF64[T exact](x []T) []float64 {
	if x == nil {
		return nil
	}
	if f, ok := any(x).([]float64); ok {
		return f
	}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// run validates in and out against what l reads, evaluates, and writes
// the gradients back in the caller's precision.
func run[E exact](l impl, in Input[E], out Output[E]) (float64, error) {
	b, err := prepare(l, in, out)
	if err != nil {
		return 0, err
	}
	v, err := l.eval(b)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, valueErr(l.lossName(), "the loss is not finite (%v)", v)
	}
	// A finite loss can still have a gradient beyond the range of E (a
	// tiny temperature, a huge scale): refuse it rather than store ±Inf.
	for _, gr := range []struct {
		what string
		g    []float64
		out  bool
	}{{"Embeddings", b.gz, out.Grad != nil}, {"Positives", b.gpos, out.GradPositives != nil},
		{"Negatives", b.gneg, out.GradNegatives != nil}, {"Classes", b.gcls, out.GradClasses != nil}} {
		if !gr.out {
			continue
		}
		for i, x := range gr.g {
			if f := float64(E(x)); f != f || math.IsInf(f, 0) {
				return 0, valueErr(l.lossName(), "the gradient overflows at %s[%d, %d] (%v)", gr.what, i/in.Dim, i%in.Dim, x)
			}
		}
	}
	store(out.Grad, b.gz)
	store(out.GradPositives, b.gpos)
	store(out.GradNegatives, b.gneg)
	store(out.GradClasses, b.gcls)
	return v, nil
}

func store[E exact](dst []E, src []float64) {
	if dst == nil {
		return
	}
	if d, ok := any(dst).([]float64); ok && len(d) > 0 && len(src) > 0 && &d[0] == &src[0] {
		return
	}
	for i, v := range src {
		dst[i] = E(v)
	}
}

func prepare[E exact](l impl, in Input[E], out Output[E]) (*batch, error) {
	name, nd := l.lossName(), l.reads()
	if in.Dim <= 0 {
		return nil, shapeErr(name, "Dim = %d, want ≥ 1", in.Dim)
	}
	if len(in.Embeddings) == 0 || len(in.Embeddings)%in.Dim != 0 {
		return nil, shapeErr(name, "len(Embeddings) = %d, want a positive multiple of Dim = %d", len(in.Embeddings), in.Dim)
	}
	n, d := len(in.Embeddings)/in.Dim, in.Dim
	b := &batch{name: name, n: n, d: d, labels: in.Labels}
	check := func(what string, present bool, need, opt needs) error {
		switch {
		case !present && nd&need != 0:
			return shapeErr(name, "needs %s", what)
		case present && nd&(need|opt) == 0:
			return shapeErr(name, "does not read %s", what)
		}
		return nil
	}
	if err := check("Positives", in.Positives != nil, needPositives, optPositives); err != nil {
		return nil, err
	}
	if err := check("Negatives", in.Negatives != nil, needNegatives, 0); err != nil {
		return nil, err
	}
	if err := check("Labels", in.Labels != nil, needLabels, optLabels); err != nil {
		return nil, err
	}
	if err := check("Classes", in.Classes != nil, needClasses, optClasses); err != nil {
		return nil, err
	}
	if err := check("Relevance", in.Relevance != nil, 0, optRelevance); err != nil {
		return nil, err
	}
	if in.Positives != nil && len(in.Positives) != n*d {
		return nil, shapeErr(name, "len(Positives) = %d, want %d (the shape of Embeddings)", len(in.Positives), n*d)
	}
	if in.Negatives != nil && len(in.Negatives) != n*d {
		return nil, shapeErr(name, "len(Negatives) = %d, want %d (the shape of Embeddings)", len(in.Negatives), n*d)
	}
	if in.Labels != nil && len(in.Labels) != n {
		return nil, shapeErr(name, "len(Labels) = %d, want %d (one per row)", len(in.Labels), n)
	}
	if in.Classes != nil {
		if len(in.Classes) == 0 || len(in.Classes)%d != 0 {
			return nil, shapeErr(name, "len(Classes) = %d, want a positive multiple of Dim = %d", len(in.Classes), d)
		}
		b.c = len(in.Classes) / d
	}
	if in.Relevance != nil {
		if in.Classes == nil {
			return nil, shapeErr(name, "Relevance needs Classes")
		}
		if len(in.Relevance) != n*b.c {
			return nil, shapeErr(name, "len(Relevance) = %d, want %d ([N, C])", len(in.Relevance), n*b.c)
		}
	}
	for _, g := range []struct {
		what string
		buf  []E
		want int
		ok   bool
	}{
		{"Grad", out.Grad, n * d, true},
		{"GradPositives", out.GradPositives, len(in.Positives), in.Positives != nil},
		{"GradNegatives", out.GradNegatives, len(in.Negatives), in.Negatives != nil},
		{"GradClasses", out.GradClasses, len(in.Classes), in.Classes != nil},
	} {
		if g.buf == nil {
			continue
		}
		if !g.ok {
			return nil, shapeErr(name, "%s set for an input the loss does not have", g.what)
		}
		if len(g.buf) != g.want {
			return nil, shapeErr(name, "len(%s) = %d, want %d", g.what, len(g.buf), g.want)
		}
	}
	b.z, b.pos, b.cls, b.rel = toF64(in.Embeddings), toF64(in.Positives), toF64(in.Classes), toF64(in.Relevance)
	b.neg = toF64(in.Negatives)
	for _, in := range []struct {
		what string
		x    []float64
		cols int
	}{{"Embeddings", b.z, d}, {"Positives", b.pos, d}, {"Negatives", b.neg, d}, {"Classes", b.cls, d}, {"Relevance", b.rel, max(b.c, 1)}} {
		for i, v := range in.x {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, valueErr(name, "%s has %v at row %d, column %d", in.what, v, i/in.cols, i%in.cols)
			}
		}
	}
	if out.Grad != nil {
		b.gz = make([]float64, n*d)
	}
	if out.GradPositives != nil {
		b.gpos = make([]float64, len(b.pos))
	}
	if out.GradClasses != nil {
		b.gcls = make([]float64, len(b.cls))
	}
	if out.GradNegatives != nil {
		b.gneg = make([]float64, len(b.neg))
	}
	return b, nil
}

// checkClassLabels validates labels as class indices in [0, c).
func checkClassLabels(name string, labels []int64, c int) error {
	for i, y := range labels {
		if y < 0 || y >= int64(c) {
			return valueErr(name, "label %d at row %d outside [0, %d)", y, i, c)
		}
	}
	return nil
}

// unit returns the rows of x (rows × d) divided by their norms, and the
// norms. A zero row is an error naming it.
func unit(name, what string, x []float64, d int) ([]float64, []float64, error) {
	rows := len(x) / d
	u := make([]float64, len(x))
	norms := make([]float64, rows)
	for r := 0; r < rows; r++ {
		row := x[r*d : (r+1)*d]
		nr := norm(row)
		if !(nr > 0) || math.IsInf(nr, 0) {
			return nil, nil, valueErr(name, "%s row %d has norm %v; it cannot be normalised", what, r, nr)
		}
		norms[r] = nr
		for j, v := range row {
			u[r*d+j] = v / nr
		}
	}
	return u, norms, nil
}

// norm is the Euclidean norm, scaled against overflow.
func norm(x []float64) float64 {
	var scale, ssq float64 = 0, 1
	for _, v := range x {
		if v == 0 {
			continue
		}
		a := math.Abs(v)
		if scale < a {
			ssq = 1 + ssq*(scale/a)*(scale/a)
			scale = a
		} else {
			ssq += (a / scale) * (a / scale)
		}
	}
	return scale * math.Sqrt(ssq)
}

// backUnit turns a gradient with respect to the unit rows u into one with
// respect to the raw rows x = u·‖x‖ and adds it to gx:
// ∂L/∂x = (g − u(u·g))/‖x‖.
func backUnit(gx, gu, u, norms []float64, d int) {
	if gx == nil {
		return
	}
	for r := range norms {
		row, g := u[r*d:(r+1)*d], gu[r*d:(r+1)*d]
		dot := dotp(row, g)
		for j := range row {
			gx[r*d+j] += (g[j] - row[j]*dot) / norms[r]
		}
	}
}

func dotp(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// gram returns the [n, m] matrix of dot products of the rows of a (n × d)
// and b (m × d).
func gram(a, b []float64, d int) []float64 {
	n, m := len(a)/d, len(b)/d
	s := make([]float64, n*m)
	for i := 0; i < n; i++ {
		ai := a[i*d : (i+1)*d]
		for j := 0; j < m; j++ {
			s[i*m+j] = dotp(ai, b[j*d:(j+1)*d])
		}
	}
	return s
}

// backGram adds to ga and gb the gradients through s = a·bᵀ given gs
// (either may be nil).
func backGram(ga, gb, gs, a, b []float64, d int) {
	n, m := len(a)/d, len(b)/d
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			g := gs[i*m+j]
			if g == 0 {
				continue
			}
			if ga != nil {
				axpy(ga[i*d:(i+1)*d], b[j*d:(j+1)*d], g)
			}
			if gb != nil {
				axpy(gb[j*d:(j+1)*d], a[i*d:(i+1)*d], g)
			}
		}
	}
}

func axpy(dst, x []float64, a float64) {
	for i, v := range x {
		dst[i] += a * v
	}
}

// logSoftmaxRow writes the softmax of v into p and returns log Σ exp(v)
// (max-shifted; −Inf entries are masks).
func logSoftmaxRow(p, v []float64) float64 {
	m := math.Inf(-1)
	for _, a := range v {
		m = max(m, a)
	}
	var s float64
	for i, a := range v {
		e := math.Exp(a - m)
		p[i] = e
		s += e
	}
	for i := range p {
		p[i] /= s
	}
	return m + math.Log(s)
}

// zeros returns a zeroed buffer of n values when want, nil otherwise.
func zeros(want bool, n int) []float64 {
	if !want {
		return nil
	}
	return make([]float64, n)
}

func param(name, what string, v float64, ok bool) error {
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		return valueErr(name, "%s = %v out of range", what, v)
	}
	return nil
}
