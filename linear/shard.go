package linear

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/internal/gemm"
	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
)

// ShardState is one row's partial reduction over a slice of the
// vocabulary: the running maximum of its (soft-capped) logits, the sum of
// exp(z − Max), the same sum without the term of one maximum (Tail, kept
// to full precision so that a confident row's loss survives the merge),
// the target's logit when the target lies in the slice, and Σ_c w_c·z_c
// for label smoothing.
type ShardState struct {
	Max, Sum, Tail float64
	Target         float64
	HasTarget      bool
	SumZ           float64
}

// merge returns the state of the union of two disjoint slices.
func (a ShardState) merge(b ShardState) ShardState {
	if a.Max < b.Max {
		a, b = b, a
	}
	e := 1.0
	if b.Max != a.Max {
		e = math.Exp(b.Max - a.Max)
	}
	out := ShardState{Max: a.Max, Sum: a.Sum + b.Sum*e, Tail: a.Tail + b.Sum*e, SumZ: a.SumZ + b.SumZ}
	if a.Max == b.Max {
		// b's maximum ties a's: it joins the tail (exp(0) = 1 exactly).
		out.Tail = a.Tail + b.Sum
	}
	switch {
	case a.HasTarget:
		out.Target, out.HasTarget = a.Target, true
	case b.HasTarget:
		out.Target, out.HasTarget = b.Target, true
	}
	return out
}

// LSE returns the row's log-sum-exp, Max + log1p(Tail).
func (s ShardState) LSE() float64 { return s.Max + math.Log1p(s.Tail) }

// MergeShards merges the per-row states of disjoint vocabulary slices
// (the states of the same rows, one slice per argument) into the states
// of their union. Merging in a fixed order gives the same bits every
// time; any order gives the same result up to rounding.
func MergeShards(parts ...[]ShardState) ([]ShardState, error) {
	if len(parts) == 0 {
		return nil, shapeErr("no shard states to merge")
	}
	n := len(parts[0])
	for k, p := range parts {
		if len(p) != n {
			return nil, shapeErr("shard %d has %d rows, shard 0 has %d", k, len(p), n)
		}
	}
	out := append([]ShardState(nil), parts[0]...)
	for _, p := range parts[1:] {
		for i := range out {
			out[i] = out[i].merge(p[i])
		}
	}
	return out, nil
}

// ShardForward computes the states of the rows over one vocabulary slice:
// in.Weight holds the slice's in.V rows of the classifier (in.Bias its
// bias), starting at class v0 of a vocabulary of vocab classes; targets
// are class indices of the whole vocabulary.
func (h Head) ShardForward(in Input, v0, vocab int) ([]ShardState, error) {
	c, err := h.shardConfig(in, Output{}, v0, vocab)
	if err != nil {
		return nil, err
	}
	states := make([]ShardState, in.N)
	err = c.shardBlocks(in, func(b0, rows int, z, deriv []float32) error {
		for r := 0; r < rows; r++ {
			i := b0 + r
			row := z[r*in.V : (r+1)*in.V]
			m, _ := rowstat.K32.MaxNaN(row)
			s, t, _ := rowstat.K32.Tail(row, m, 1)
			st := ShardState{Max: float64(m), Sum: s, Tail: t}
			if y, ok := c.target(in, i); ok && int(y) >= v0 && int(y) < v0+in.V {
				st.Target, st.HasTarget = float64(row[int(y)-v0]), true
			}
			if c.opts.LabelSmoothing > 0 {
				if c.opts.ClassWeights == nil {
					st.SumZ = rowstat.K32.Sum(row)
				} else {
					for j, v := range row {
						st.SumZ += c.opts.ClassWeights[v0+j] * float64(v)
					}
				}
			}
			states[i] = st
		}
		return nil
	})
	return states, err
}

// ShardLoss returns the reduced loss from the merged states of the whole
// vocabulary and, if rows is not nil, each row's loss. Only in.N, the
// targets and the row weights of in are read.
func (h Head) ShardLoss(in Input, vocab int, merged []ShardState, rows []float32) (float64, error) {
	c, err := h.config()
	if err != nil {
		return 0, err
	}
	if len(merged) != in.N || rows != nil && len(rows) != in.N {
		return 0, shapeErr("%d states and %d row outputs for N = %d", len(merged), len(rows), in.N)
	}
	sc := c.scale(in)
	var total float64
	for i := 0; i < in.N; i++ {
		l, err := c.rowLoss(in, vocab, i, merged[i])
		if err != nil {
			return 0, err
		}
		if rows != nil {
			rows[i] = float32(l)
		}
		total += l
	}
	return total * sc, nil
}

// rowLoss is one row's r·[CE + Z·lse²] from its merged state.
func (c config) rowLoss(in Input, vocab, i int, s ShardState) (float64, error) {
	y, ok := c.target(in, i)
	if !ok {
		return 0, nil
	}
	if !s.HasTarget {
		return 0, valueErr("row %d: no shard held its target %d", i, y)
	}
	eps, C := c.opts.LabelSmoothing, float64(vocab)
	logS := math.Log1p(s.Tail)
	lse := s.Max + logS
	ce := (1 - eps) * c.classWeight(y) * ((s.Max - s.Target) + logS)
	if eps > 0 {
		ce += eps / C * (c.weightSum(vocab)*lse - s.SumZ)
	}
	return c.rowWeight(in, i) * (ce + c.opts.ZLoss*lse*lse), nil
}

// ShardBackward computes one vocabulary slice's share of the gradients
// from the merged states: it ADDS G_s·W_s to out.GradHidden (so the
// slices' contributions sum to ∂H — zero it before the first slice) and
// overwrites out.GradWeight and out.GradBias, which have the slice's
// shape ([in.V, D] and [in.V]). Rows, LSE and TargetRank are not filled
// (ShardLoss gives the rows' losses; ShardState.LSE their log-sum-exp).
func (h Head) ShardBackward(in Input, v0, vocab int, merged []ShardState, out Output) error {
	c, err := h.shardConfig(in, out, v0, vocab)
	if err != nil {
		return err
	}
	if len(merged) != in.N {
		return shapeErr("%d merged states for N = %d", len(merged), in.N)
	}
	sc := c.scale(in)
	d, v := in.D, in.V
	if out.GradWeight != nil {
		clear(out.GradWeight)
	}
	var db []float64
	if out.GradBias != nil {
		db = make([]float64, v)
	}
	err = c.shardBlocks(in, func(b0, rows int, z, deriv []float32) error {
		par.For(rows, 1, c.threads, func(_, lo, hi int) {
			for r := lo; r < hi; r++ {
				c.shardRowGrad(in, v0, vocab, b0+r, merged[b0+r], z[r*v:(r+1)*v], deriv, r, sc)
			}
		})
		g := z[:rows*v]
		if out.GradHidden != nil {
			gemm.Gemm(false, false, rows, d, v, 1, g, v, in.Weight, d, 1, out.GradHidden[b0*d:], d, c.threads)
		}
		if out.GradWeight != nil {
			gemm.Gemm(true, false, v, d, rows, 1, g, v, in.Hidden[b0*d:], d, 1, out.GradWeight, d, c.threads)
		}
		for r := 0; r < rows && db != nil; r++ {
			for j, x := range g[r*v : (r+1)*v] {
				db[j] += float64(x)
			}
		}
		return nil
	})
	for j := range db {
		out.GradBias[j] = float32(db[j])
	}
	return err
}

// shardRowGrad overwrites the logits row z (of row i, block row r) with
// its gradient, scaled by sc.
func (c config) shardRowGrad(in Input, v0, vocab, i int, s ShardState, z, deriv []float32, r int, sc float64) {
	y, ok := c.target(in, i)
	if !ok {
		clear(z)
		return
	}
	eps, C := c.opts.LabelSmoothing, float64(vocab)
	lse := s.LSE()
	wy := c.classWeight(y)
	rw := c.rowWeight(in, i)
	A := (1-eps)*wy + eps/C*c.weightSum(vocab)
	coefA := sc * rw * (A + 2*c.opts.ZLoss*lse)
	m, _ := rowstat.K32.MaxNaN(z)
	kk := coefA * math.Exp(float64(m)-lse) // p = kk·exp(z − m) / coefA
	bb := sc * rw * eps / C
	var zy float32
	inSlice := int(y) >= v0 && int(y) < v0+len(z)
	if inSlice {
		zy = z[int(y)-v0]
	}
	if c.opts.ClassWeights != nil {
		rowstat.K32.ExpAffine(z, z, m, 1, float32(kk), 0)
		for j := range z {
			z[j] -= float32(bb * c.opts.ClassWeights[v0+j])
		}
	} else {
		rowstat.K32.ExpAffine(z, z, m, 1, float32(kk), float32(bb))
	}
	if inSlice {
		ay := sc * rw * ((1-eps)*wy + eps/C*wy)
		if float64(zy) == s.Max {
			z[int(y)-v0] = float32(-coefA*s.Tail/s.Sum + (coefA - ay))
		} else {
			z[int(y)-v0] = float32(kk*math.Exp(float64(zy)-float64(m)) - ay)
		}
	}
	if deriv != nil {
		d := deriv[r*len(z) : (r+1)*len(z)]
		for j := range z {
			z[j] *= d[j]
		}
	}
}

// shardConfig validates a slice's inputs.
func (h Head) shardConfig(in Input, out Output, v0, vocab int) (config, error) {
	c, err := h.config()
	if err != nil {
		return c, err
	}
	if v0 < 0 || in.V < 1 || v0+in.V > vocab {
		return c, shapeErr("slice [%d, %d) outside a vocabulary of %d", v0, v0+in.V, vocab)
	}
	return c, c.check(in, out, vocab, false)
}

// shardBlocks computes the slice's logits block by block (soft-capped, with
// the soft-cap derivative when enabled) and hands each block to f.
func (c config) shardBlocks(in Input, f func(b0, rows int, z, deriv []float32) error) error {
	n, d, v := in.N, in.D, in.V
	nb := c.blockRows(n, v, d)
	buf := make([]float32, min(nb, max(n, 1))*v)
	var deriv []float32
	if c.opts.SoftCap > 0 {
		deriv = make([]float32, len(buf))
	}
	for b0 := 0; b0 < n; b0 += nb {
		rows := min(nb, n-b0)
		z := buf[:rows*v]
		var beta float32
		if in.Bias != nil {
			for r := 0; r < rows; r++ {
				copy(z[r*v:(r+1)*v], in.Bias)
			}
			beta = 1
		}
		gemm.Gemm(false, true, rows, v, d, 1, in.Hidden[b0*d:], d, in.Weight, d, beta, z, v, c.threads)
		if deriv != nil {
			capc := c.opts.SoftCap
			for k, x := range z {
				u := float64(x) / capc
				z[k] = float32(capc * math.Tanh(u))
				ch := math.Cosh(u)
				deriv[k] = float32(1 / (ch * ch))
			}
		}
		if err := f(b0, rows, z, deriv); err != nil {
			return fmt.Errorf("linear: in the token block starting at row %d: %w", b0, err)
		}
	}
	return nil
}

func (c config) classWeight(y int64) float64 {
	if c.opts.ClassWeights == nil {
		return 1
	}
	return c.opts.ClassWeights[y]
}

func (c config) weightSum(vocab int) float64 {
	if c.opts.ClassWeights == nil {
		return float64(vocab)
	}
	var s float64
	for _, w := range c.opts.ClassWeights {
		s += w
	}
	return s
}

func (c config) rowWeight(in Input, i int) float64 {
	if in.RowWeights == nil {
		return 1
	}
	return float64(in.RowWeights[i])
}
