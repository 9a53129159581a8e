package lab

import (
	"fmt"
	"math"
	"time"

	"github.com/xentlab/xent/internal/gemm"
	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/linear"
	"github.com/xentlab/xent/loss"
)

// LM is a small next-token language model over a vocabulary of Vocab
// tokens, after Bengio et al.'s neural probabilistic language model: the
// embeddings of the previous Context tokens, concatenated, feed one ReLU
// hidden layer, which feeds the classifier head over the vocabulary.
//
//	x = [E[t−k], …, E[t−1]]   (k·Embed values)
//	h = relu(x·W1 + b1)        (Hidden values)
//	z = h·Wᵀ + b               (Vocab logits), loss = cross-entropy(z, t)
//
// Params holds, in order, E [Vocab×Embed], W1 [Context·Embed × Hidden],
// b1 [Hidden], W [Vocab×Hidden] and b [Vocab], row-major; W is stored
// class-major ([V, D]), as package linear takes it. Every product runs on
// internal/gemm and the head on package linear (or package loss for the
// materialized head), whose results are the same bits for any thread
// count; the embedding gradient is added row by row in batch order, so a
// step is deterministic whatever Threads is.
type LM struct {
	Vocab, Context, Embed, Hidden int
	Params                        []float32
	// Threads is the number of goroutines given to the products and the
	// head (≤ 0: GOMAXPROCS). It never changes a result.
	Threads int
}

// NewLM returns a model with weights drawn from seed: embeddings uniform
// in ±√3 (unit variance), He-uniform U(±√(6/(k·Embed))) for W1,
// Glorot-uniform U(±√(6/(Hidden+Vocab))) for the head, zero biases.
func NewLM(vocab, context, embed, hidden int, seed uint64) (*LM, error) {
	if vocab < 2 || context < 1 || embed < 1 || hidden < 1 {
		return nil, fmt.Errorf("lab: language model with vocabulary %d, context %d, embedding %d, hidden %d: want a vocabulary ≥ 2 and the others ≥ 1",
			vocab, context, embed, hidden)
	}
	m := &LM{Vocab: vocab, Context: context, Embed: embed, Hidden: hidden}
	m.Params = make([]float32, m.size())
	e, w1, _, w, _ := m.parts(m.Params)
	r := newRNG(seed)
	fill := func(p []float32, bound float64) {
		for i := range p {
			p[i] = float32((2*r.float64() - 1) * bound)
		}
	}
	fill(e, math.Sqrt(3))
	fill(w1, math.Sqrt(6/float64(context*embed)))
	fill(w, math.Sqrt(6/float64(hidden+vocab)))
	return m, nil
}

// clone returns a deep copy of m.
func (m *LM) clone() *LM {
	c := *m
	c.Params = append([]float32(nil), m.Params...)
	return &c
}

func (m *LM) size() int {
	in := m.Context * m.Embed
	return m.Vocab*m.Embed + in*m.Hidden + m.Hidden + m.Vocab*m.Hidden + m.Vocab
}

// parts cuts a parameter-shaped vector into E, W1, b1, W, b.
func (m *LM) parts(p []float32) (e, w1, b1, w, b []float32) {
	n := m.Vocab * m.Embed
	e, p = p[:n], p[n:]
	n = m.Context * m.Embed * m.Hidden
	w1, p = p[:n], p[n:]
	b1, p = p[:m.Hidden], p[m.Hidden:]
	n = m.Vocab * m.Hidden
	w, b = p[:n], p[n:n+m.Vocab]
	return
}

// Decayed returns the spans of Params that weight decay would apply to:
// the embeddings and the weight matrices, not the biases.
func (m *LM) Decayed() []Span {
	ne := m.Vocab * m.Embed
	n1 := m.Context * m.Embed * m.Hidden
	w := ne + n1 + m.Hidden
	return []Span{{0, ne + n1}, {w, w + m.Vocab*m.Hidden}}
}

// LMHead says how the classifier head computes the loss and its
// gradient.
type LMHead struct {
	// Name labels the head in reports.
	Name string `json:"name"`
	// Materialized computes the whole [batch, Vocab] logits matrix with one
	// GEMM, the cross-entropy and its gradient on it with package loss (in
	// place), and the gradients of the hidden states and the head's
	// weights with two more GEMMs. Otherwise the fused head of package
	// linear runs, block by block.
	Materialized bool `json:"materialized"`
	// FilterEps is the fused head's gradient-filtering threshold
	// (linear.Head.FilterEps; 0: exact).
	FilterEps float64 `json:"filter_eps"`
}

// LMTileRows and LMTileCols are the tile of the fused head's gradient
// filtering in LM.Grad: tokens × vocabulary entries (linear.Head's
// TileRows and TileCols).
const (
	LMTileRows = 32
	LMTileCols = 512
)

// LMStepStats describes one training step of an LM.
type LMStepStats struct {
	// Loss is the batch's mean cross-entropy (nats).
	Loss float64
	// HeadSeconds is the wall time of the head (forward and backward to
	// the hidden states and the head's parameters).
	HeadSeconds float64
	// Tiles and SkippedTiles are the fused head's gradient tiles and
	// those gradient filtering skipped (0 for the materialized head).
	Tiles, SkippedTiles int
	// ScratchBytes is the memory the head used besides its inputs and
	// outputs: linear.Stats.ExtraBytes for the fused head, the logits
	// matrix (its gradient written in place) and the bias-gradient
	// accumulator for the materialized one.
	ScratchBytes int64
}

// LMWorkspace holds a batch's activations and the materialized head's
// logits. The zero value is ready to use; it grows to the largest batch
// seen.
type LMWorkspace struct {
	x, h, dh, dx []float32
	logits       []float32
	dbAcc        []float64
	ce           *loss.CrossEntropy
	ceThreads    int
}

// check validates a batch of contexts [rows×Context] and targets [rows].
func (m *LM) check(ctx, targets []int32) (int, error) {
	if len(m.Params) != m.size() {
		return 0, fmt.Errorf("lab: language model has %d parameters, want %d", len(m.Params), m.size())
	}
	rows := len(targets)
	if len(ctx) != rows*m.Context {
		return 0, fmt.Errorf("lab: %d context tokens for %d targets of context %d", len(ctx), rows, m.Context)
	}
	for i, t := range ctx {
		if t < 0 || int(t) >= m.Vocab {
			return 0, fmt.Errorf("lab: context token %d of row %d is %d, outside the vocabulary [0, %d)", i%m.Context, i/m.Context, t, m.Vocab)
		}
	}
	for i, t := range targets {
		if t < 0 || int(t) >= m.Vocab {
			return 0, fmt.Errorf("lab: target of row %d is %d, outside the vocabulary [0, %d)", i, t, m.Vocab)
		}
	}
	return rows, nil
}

// hidden computes x (the gathered embeddings) and h = relu(x·W1 + b1)
// for rows rows into ws.
func (m *LM) hidden(ws *LMWorkspace, ctx []int32, rows int) {
	in := m.Context * m.Embed
	e, w1, b1, _, _ := m.parts(m.Params)
	ws.x = grow(ws.x, rows*in)
	ws.h = grow(ws.h, rows*m.Hidden)
	for i, t := range ctx[:rows*m.Context] {
		copy(ws.x[i*m.Embed:(i+1)*m.Embed], e[int(t)*m.Embed:(int(t)+1)*m.Embed])
	}
	affine(m.Threads, rows, in, m.Hidden, ws.x, w1, b1, ws.h)
	for i, v := range ws.h {
		if !(v > 0) {
			ws.h[i] = 0
		}
	}
}

// Grad computes the mean cross-entropy of the batch (ctx holds each
// row's Context previous tokens, oldest first; targets the next token)
// and its gradient with respect to Params into grad (overwritten), with
// the head given.
func (m *LM) Grad(ws *LMWorkspace, ctx, targets []int32, head LMHead, grad []float32) (LMStepStats, error) {
	var st LMStepStats
	rows, err := m.check(ctx, targets)
	if err != nil {
		return st, err
	}
	if len(grad) != len(m.Params) {
		return st, fmt.Errorf("lab: %d gradient values for %d parameters", len(grad), len(m.Params))
	}
	if rows == 0 {
		return st, fmt.Errorf("lab: empty batch")
	}
	in := m.Context * m.Embed
	_, w1, _, w, b := m.parts(m.Params)
	ge, gw1, gb1, gw, gb := m.parts(grad)
	m.hidden(ws, ctx, rows)
	ws.dh = grow(ws.dh, rows*m.Hidden)

	t0 := time.Now()
	if head.Materialized {
		err = m.materialized(ws, rows, targets, w, b, gw, gb, &st)
	} else {
		h := linear.Head{FilterEps: head.FilterEps, TileRows: LMTileRows, TileCols: LMTileCols, Threads: m.Threads}
		var hs linear.Stats
		hs, err = h.Eval(linear.Input{Hidden: ws.h, N: rows, D: m.Hidden, Weight: w, V: m.Vocab, Bias: b, Targets: targets},
			linear.Output{GradHidden: ws.dh, GradWeight: gw, GradBias: gb})
		st.Loss, st.Tiles, st.SkippedTiles, st.ScratchBytes = hs.Loss, hs.Tiles, hs.SkippedTiles, hs.ExtraBytes
	}
	st.HeadSeconds = time.Since(t0).Seconds()
	if err != nil {
		return st, err
	}

	// Through the ReLU, then the hidden layer and the embeddings.
	for i, v := range ws.h {
		if !(v > 0) {
			ws.dh[i] = 0
		}
	}
	weightGrad(m.Threads, rows, in, m.Hidden, ws.x, ws.dh, gw1, gb1)
	ws.dx = grow(ws.dx, rows*in)
	gemm.Gemm(false, true, rows, in, m.Hidden, 1, ws.dh, m.Hidden, w1, m.Hidden, 0, ws.dx, in, m.Threads)
	clear(ge)
	for i, t := range ctx[:rows*m.Context] {
		g := ge[int(t)*m.Embed : (int(t)+1)*m.Embed]
		for j, v := range ws.dx[i*m.Embed : (i+1)*m.Embed] {
			g[j] += v
		}
	}
	return st, nil
}

// materialized is the head as a framework without fusion computes it:
// the logits Z = H·Wᵀ + b [rows×V] in one buffer, the cross-entropy and
// its gradient G (in place) from package loss, then ∂H = G·W and ∂W =
// Gᵀ·H by GEMM and ∂b by column sums.
func (m *LM) materialized(ws *LMWorkspace, rows int, targets []int32, w, b, gw, gb []float32, st *LMStepStats) error {
	v, d := m.Vocab, m.Hidden
	if ws.ce == nil || ws.ceThreads != m.Threads {
		ce, err := loss.NewCrossEntropy(loss.WithThreads(m.Threads))
		if err != nil {
			return err
		}
		ws.ce, ws.ceThreads = ce, m.Threads
	}
	ws.logits = grow(ws.logits, rows*v)
	z := ws.logits
	for r := 0; r < rows; r++ {
		copy(z[r*v:(r+1)*v], b)
	}
	gemm.Gemm(false, true, rows, v, d, 1, ws.h, d, w, d, 1, z, v, m.Threads)
	l, err := ws.ce.Eval32(loss.Input[float32]{Logits: z, Cols: v, Labels: targets}, loss.Output[float32]{Grad: z})
	if err != nil {
		return fmt.Errorf("lab: materialized head: %w", err)
	}
	st.Loss = l
	gemm.Gemm(false, false, rows, d, v, 1, z, v, w, d, 0, ws.dh, d, m.Threads)
	gemm.Gemm(true, false, v, d, rows, 1, z, v, ws.h, d, 0, gw, d, m.Threads)
	if cap(ws.dbAcc) < v {
		ws.dbAcc = make([]float64, v)
	}
	acc := ws.dbAcc[:v]
	// Column sums over the rows in order, columns split over threads.
	par.For(v, 4096, m.Threads, func(_, lo, hi int) {
		a := acc[lo:hi]
		clear(a)
		for r := 0; r < rows; r++ {
			for j, g := range z[r*v+lo : r*v+hi] {
				a[j] += float64(g)
			}
		}
		for j, s := range a {
			gb[lo+j] = float32(s)
		}
	})
	st.ScratchBytes = int64(4*len(z) + 8*len(acc))
	return nil
}

// lmEvalRows is the number of rows Loss runs through the model at once
// (it does not depend on the thread count).
const lmEvalRows = 4096

// Loss returns the mean cross-entropy (nats) of the model on the rows
// given (as for Grad), forward only, with the fused head, in blocks of
// rows whose boundaries do not depend on the thread count.
func (m *LM) Loss(ctx, targets []int32) (float64, error) {
	rows, err := m.check(ctx, targets)
	if err != nil {
		return 0, err
	}
	if rows == 0 {
		return 0, fmt.Errorf("lab: no row to score")
	}
	_, _, _, w, b := m.parts(m.Params)
	h := linear.Head{Loss: []loss.CrossEntropyOption{loss.WithReduction(loss.Sum)}, Threads: m.Threads}
	var ws LMWorkspace
	var sum float64
	for lo := 0; lo < rows; lo += lmEvalRows {
		hi := min(rows, lo+lmEvalRows)
		m.hidden(&ws, ctx[lo*m.Context:hi*m.Context], hi-lo)
		st, err := h.Eval(linear.Input{Hidden: ws.h, N: hi - lo, D: m.Hidden, Weight: w, V: m.Vocab, Bias: b, Targets: targets[lo:hi]}, linear.Output{})
		if err != nil {
			return 0, err
		}
		sum += st.Loss
	}
	return sum / float64(rows), nil
}
