package lab

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/internal/gemm"
)

// Span is a half-open range [Lo, Hi) of a model's flat parameter vector.
type Span struct{ Lo, Hi int }

// Model is a classifier with its parameters in one flat float32 vector:
// softmax regression (Hidden = 0), logits = x·W + b, or a multilayer
// perceptron with one ReLU hidden layer, logits = relu(x·W1 + b1)·W2 + b2.
//
// Params holds, in order, W1 [In×Hidden] row-major, b1 [Hidden], W2
// [Hidden×Out], b2 [Out] (for softmax regression W [In×Out], b [Out]).
// Matrices are stored input-major, so the forward pass is x·W with no
// transposition. Every product runs on package internal/gemm, whose
// results are the same bits for any thread count; the other reductions
// (bias gradients) add rows in a fixed order, so a forward and backward
// pass is deterministic whatever Threads is.
type Model struct {
	In, Hidden, Out int
	Params          []float32
	// Threads is the number of goroutines given to the matrix products
	// (≤ 0: GOMAXPROCS). It never changes a result.
	Threads int
}

// NewLinear returns a softmax-regression model with in features and out
// classes, its weights and biases zero (the loss is convex in them, so
// no symmetry needs breaking).
func NewLinear(in, out int) (*Model, error) {
	if in < 1 || out < 2 {
		return nil, fmt.Errorf("lab: linear model %d→%d: need at least 1 input and 2 classes", in, out)
	}
	return &Model{In: in, Out: out, Params: make([]float32, in*out+out)}, nil
}

// NewMLP returns a one-hidden-layer ReLU network in→hidden→out with
// weights drawn from seed: He-uniform U(±√(6/in)) for the hidden layer,
// Glorot-uniform U(±√(6/(hidden+out))) for the output layer, zero biases.
func NewMLP(in, hidden, out int, seed uint64) (*Model, error) {
	if in < 1 || hidden < 1 || out < 2 {
		return nil, fmt.Errorf("lab: MLP %d→%d→%d: need at least 1 input, 1 hidden unit and 2 classes", in, hidden, out)
	}
	m := &Model{In: in, Hidden: hidden, Out: out}
	m.Params = make([]float32, in*hidden+hidden+hidden*out+out)
	r := newRNG(seed)
	w1, _, w2, _ := m.layers()
	b := math.Sqrt(6 / float64(in))
	for i := range w1 {
		w1[i] = float32((2*r.float64() - 1) * b)
	}
	b = math.Sqrt(6 / float64(hidden+out))
	for i := range w2 {
		w2[i] = float32((2*r.float64() - 1) * b)
	}
	return m, nil
}

// Clone returns a deep copy of m.
func (m *Model) Clone() *Model {
	c := *m
	c.Params = append([]float32(nil), m.Params...)
	return &c
}

// Kind returns "linear" or "mlp".
func (m *Model) Kind() string {
	if m.Hidden == 0 {
		return "linear"
	}
	return "mlp"
}

// layers cuts Params into W1, b1, W2, b2 (W2 and b2 are nil for softmax
// regression, whose W and b are returned as W1 and b1).
func (m *Model) layers() (w1, b1, w2, b2 []float32) {
	p := m.Params
	if m.Hidden == 0 {
		n := m.In * m.Out
		return p[:n], p[n : n+m.Out], nil, nil
	}
	n1 := m.In * m.Hidden
	n2 := m.Hidden * m.Out
	w1 = p[:n1]
	b1 = p[n1 : n1+m.Hidden]
	w2 = p[n1+m.Hidden : n1+m.Hidden+n2]
	b2 = p[n1+m.Hidden+n2:]
	return
}

// Decayed returns the spans of Params that weight decay applies to: the
// weight matrices, not the biases.
func (m *Model) Decayed() []Span {
	if m.Hidden == 0 {
		return []Span{{0, m.In * m.Out}}
	}
	n1 := m.In * m.Hidden
	return []Span{{0, n1}, {n1 + m.Hidden, n1 + m.Hidden + m.Hidden*m.Out}}
}

// Tensors returns the spans of Params holding each weight matrix and bias
// vector (the tensors ⊥Grad treats one by one).
func (m *Model) Tensors() []Span {
	if m.Hidden == 0 {
		return []Span{{0, m.In * m.Out}, {m.In * m.Out, m.In*m.Out + m.Out}}
	}
	n1 := m.In * m.Hidden
	n2 := n1 + m.Hidden
	n3 := n2 + m.Hidden*m.Out
	return []Span{{0, n1}, {n1, n2}, {n2, n3}, {n3, n3 + m.Out}}
}

// check validates the shape of a batch.
func (m *Model) check(x []float32, rows int) error {
	if rows < 0 || len(x) != rows*m.In {
		return fmt.Errorf("lab: batch of %d values is not %d rows of %d features", len(x), rows, m.In)
	}
	if len(m.Params) != m.size() {
		return fmt.Errorf("lab: model has %d parameters, want %d", len(m.Params), m.size())
	}
	return nil
}

func (m *Model) size() int {
	if m.Hidden == 0 {
		return m.In*m.Out + m.Out
	}
	return m.In*m.Hidden + m.Hidden + m.Hidden*m.Out + m.Out
}

// Workspace holds a batch's activations between Forward and Backward. The
// zero value is ready to use; it grows to the largest batch seen.
type Workspace struct {
	x      []float32 // the batch's inputs (not owned)
	rows   int
	act    []float32 // hidden activations relu(x·W1 + b1) [rows×Hidden]
	logits []float32 // [rows×Out]
	dact   []float32 // ∂/∂act [rows×Hidden]
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// Forward computes the logits [rows×Out] of the batch x [rows×In] and
// keeps what Backward needs in ws. The returned slice belongs to ws and
// is overwritten by the next Forward; x must not change before Backward.
func (m *Model) Forward(ws *Workspace, x []float32, rows int) ([]float32, error) {
	if err := m.check(x, rows); err != nil {
		return nil, err
	}
	ws.x, ws.rows = x, rows
	ws.logits = grow(ws.logits, rows*m.Out)
	w1, b1, w2, b2 := m.layers()
	if m.Hidden == 0 {
		affine(m.Threads, rows, m.In, m.Out, x, w1, b1, ws.logits)
		return ws.logits, nil
	}
	ws.act = grow(ws.act, rows*m.Hidden)
	affine(m.Threads, rows, m.In, m.Hidden, x, w1, b1, ws.act)
	for i, v := range ws.act {
		if v < 0 {
			ws.act[i] = 0
		}
	}
	affine(m.Threads, rows, m.Hidden, m.Out, ws.act, w2, b2, ws.logits)
	return ws.logits, nil
}

// affine computes y = x·w + b for x [rows×in], w [in×out].
func affine(threads, rows, in, out int, x, w, b, y []float32) {
	if rows == 0 {
		return
	}
	for i := 0; i < rows; i++ {
		copy(y[i*out:(i+1)*out], b)
	}
	gemm.Gemm(false, false, rows, out, in, 1, x, in, w, out, 1, y, out, threads)
}

// Backward computes the gradient of the loss with respect to Params,
// given dlogits = ∂loss/∂logits for the batch of the last Forward, and
// writes it into grad (len(Params); overwritten, not accumulated).
func (m *Model) Backward(ws *Workspace, dlogits, grad []float32) error {
	if len(dlogits) != ws.rows*m.Out || len(grad) != len(m.Params) || ws.x == nil {
		return fmt.Errorf("lab: Backward: %d logit gradients for %d rows of %d, %d parameter gradients for %d (Forward first)",
			len(dlogits), ws.rows, m.Out, len(grad), len(m.Params))
	}
	rows := ws.rows
	g1, gb1, g2, gb2 := (&Model{In: m.In, Hidden: m.Hidden, Out: m.Out, Params: grad}).layers()
	if m.Hidden == 0 {
		weightGrad(m.Threads, rows, m.In, m.Out, ws.x, dlogits, g1, gb1)
		return nil
	}
	_, _, w2, _ := m.layers()
	weightGrad(m.Threads, rows, m.Hidden, m.Out, ws.act, dlogits, g2, gb2)
	// ∂/∂act = dlogits·W2ᵀ, then through the ReLU (act > 0 where z > 0).
	ws.dact = grow(ws.dact, rows*m.Hidden)
	gemm.Gemm(false, true, rows, m.Hidden, m.Out, 1, dlogits, m.Out, w2, m.Out, 0, ws.dact, m.Hidden, m.Threads)
	for i, a := range ws.act[:rows*m.Hidden] {
		if !(a > 0) {
			ws.dact[i] = 0
		}
	}
	weightGrad(m.Threads, rows, m.In, m.Hidden, ws.x, ws.dact, g1, gb1)
	return nil
}

// weightGrad computes gw = xᵀ·d [in×out] and gb = Σ_rows d for x
// [rows×in], d [rows×out]. The bias sum runs over rows in order.
func weightGrad(threads, rows, in, out int, x, d, gw, gb []float32) {
	gemm.Gemm(true, false, in, out, rows, 1, x, in, d, out, 0, gw, out, threads)
	clear(gb)
	for i := 0; i < rows; i++ {
		for j, v := range d[i*out : (i+1)*out] {
			gb[j] += v
		}
	}
}

// evalBlock is the number of rows Logits runs through the model at once.
const evalBlock = 1024

// Logits computes the logits [rows×Out] of x [rows×In] into dst (grown
// if too short) and returns it, in blocks of rows that do not depend on
// the thread count.
func (m *Model) Logits(x []float32, rows int, dst []float32) ([]float32, error) {
	if err := m.check(x, rows); err != nil {
		return nil, err
	}
	dst = grow(dst, rows*m.Out)
	var ws Workspace
	for lo := 0; lo < rows; lo += evalBlock {
		hi := min(rows, lo+evalBlock)
		out, err := m.Forward(&ws, x[lo*m.In:hi*m.In], hi-lo)
		if err != nil {
			return nil, err
		}
		copy(dst[lo*m.Out:hi*m.Out], out)
	}
	return dst, nil
}
