package linear

import (
	"fmt"
	"math"
	"sync"

	"github.com/xentlab/xent/internal/gemm"
	"github.com/xentlab/xent/internal/vek"
	"github.com/xentlab/xent/loss"
)

// Eval computes the head's loss (reduced as the Loss options say) and the
// outputs requested in out. Inputs are validated first: shapes, targets in
// [0, V) (or the ignore index), and finite hidden states, weights and
// bias; an error names the problem and its position.
//
// Accuracy: the logits are float32 GEMM results (each within about
// 2k·2⁻²⁴·Σ|h||w| of the exact dot product, k = D); given the logits, the
// loss and the gradient with respect to the logits have the accuracy of
// loss.CrossEntropy, and the gradients of H and W are float32 GEMMs of
// those (same bound with k = V, respectively the token count).
func (h Head) Eval(in Input, out Output) (Stats, error) {
	c, err := h.config()
	if err != nil {
		return Stats{}, err
	}
	if err := c.check(in, out, in.V); err != nil {
		return Stats{}, err
	}
	return c.run(in, out, c.scale(in))
}

// run is the blocked forward/backward; sc scales the summed loss and the
// gradients (1/den for the mean).
func (c config) run(in Input, out Output, sc float64) (Stats, error) {
	n, d, v := in.N, in.D, in.V
	var st Stats
	if n == 0 {
		clearOutputs(out)
		return st, nil
	}
	nb := c.blockRows(n, v)
	scr := getScratch(min(nb, n) * v)
	defer scratchPool.Put(scr)
	buf, ws := scr.logits, &scr.ws
	labels := make([]int64, min(nb, n))
	st.ExtraBytes = int64(4*len(buf) + 8*len(labels))
	wantGrad := out.GradHidden != nil || out.GradWeight != nil || out.GradBias != nil
	if out.GradWeight != nil {
		clear(out.GradWeight)
	}
	var dbAcc []float64
	var dbBlock []float32
	if out.GradBias != nil {
		dbAcc = make([]float64, v)
		dbBlock = make([]float32, v)
		st.ExtraBytes += int64(12 * v)
	}
	colTiles := (v + c.tileCols - 1) / c.tileCols
	for b0 := 0; b0 < n; b0 += nb {
		rows := min(nb, n-b0)
		z := buf[:rows*v]
		hb := in.Hidden[b0*d : (b0+rows)*d]
		var beta float32
		if in.Bias != nil {
			for r := 0; r < rows; r++ {
				copy(z[r*v:(r+1)*v], in.Bias)
			}
			beta = 1
		}
		ws.Gemm(false, true, rows, v, d, 1, hb, d, in.Weight, d, beta, z, v, c.threads)

		for r := 0; r < rows; r++ {
			y, ok := c.target(in, b0+r)
			if ok {
				labels[r] = y
			} else {
				labels[r] = c.opts.IgnoreIndex
			}
			if out.TargetRank != nil {
				out.TargetRank[b0+r] = -1
				if ok {
					out.TargetRank[b0+r] = rankOf(z[r*v:(r+1)*v], int(y))
				}
			}
		}
		ceIn := loss.Input[float32]{Logits: z, Cols: v, Labels64: labels[:rows]}
		if in.RowWeights != nil {
			ceIn.RowWeights = in.RowWeights[b0 : b0+rows]
		}
		var ceOut loss.Output[float32]
		if out.Rows != nil {
			ceOut.Rows = out.Rows[b0 : b0+rows]
		}
		if out.LSE != nil {
			ceOut.LSE = out.LSE[b0 : b0+rows]
		}
		if wantGrad {
			ceOut.Grad = z
		}
		l, err := c.ce.Eval32(ceIn, ceOut)
		if err != nil {
			return st, fmt.Errorf("linear: in the token block starting at row %d: %w", b0, err)
		}
		st.Loss += l
		if !wantGrad {
			continue
		}
		st.Tiles += colTiles * ((rows + c.tileRows - 1) / c.tileRows)
		st.SkippedTiles += c.backward(ws, in, out, z, b0, rows, sc, dbBlock)
		if dbAcc != nil {
			for j, g := range dbBlock {
				dbAcc[j] += float64(g)
			}
		}
	}
	st.Loss *= sc
	st.ExtraBytes += ws.Bytes()
	if out.GradBias != nil {
		for j, g := range dbAcc {
			out.GradBias[j] = float32(sc * g)
		}
	}
	return st, nil
}

// backward turns one block's logits gradient g [rows, V] (sum-reduced)
// into ∂H for the block, adds its part of ∂W, and leaves its column sums
// in db (if not nil); its products pack into ws. It returns the number of
// tiles skipped.
func (c config) backward(ws *gemm.Workspace, in Input, out Output, g []float32, b0, rows int, sc float64, db []float32) int {
	d, v := in.D, in.V
	alpha := float32(sc)
	hb := in.Hidden[b0*d : (b0+rows)*d]
	var dh []float32
	if out.GradHidden != nil {
		dh = out.GradHidden[b0*d : (b0+rows)*d]
	}
	if db != nil {
		clear(db)
		for r := 0; r < rows; r++ {
			vek.Axpy32(db, g[r*v:(r+1)*v], 1)
		}
	}
	if c.h.FilterEps == 0 {
		if dh != nil {
			ws.Gemm(false, false, rows, d, v, alpha, g, v, in.Weight, d, 0, dh, d, c.threads)
		}
		if out.GradWeight != nil {
			ws.Gemm(true, false, v, d, rows, alpha, g, v, hb, d, 1, out.GradWeight, d, c.threads)
		}
		return 0
	}
	if dh != nil {
		clear(dh)
	}
	eps := float32(c.h.FilterEps)
	skipped := 0
	for r0 := 0; r0 < rows; r0 += c.tileRows {
		tr := min(c.tileRows, rows-r0)
		gr := g[r0*v:]
		hr := hb[r0*d:]
		// Runs of consecutive kept tiles go to the GEMM as one product.
		run0 := -1
		flush := func(end int) {
			if run0 < 0 {
				return
			}
			cols := end - run0
			if dh != nil {
				ws.Gemm(false, false, tr, d, cols, alpha, gr[run0:], v, in.Weight[run0*d:], d, 1, dh[r0*d:], d, c.threads)
			}
			if out.GradWeight != nil {
				ws.Gemm(true, false, cols, d, tr, alpha, gr[run0:], v, hr, d, 1, out.GradWeight[run0*d:], d, c.threads)
			}
			run0 = -1
		}
		for t0 := 0; t0 < v; t0 += c.tileCols {
			cols := min(c.tileCols, v-t0)
			if tileBelow(gr[t0:], v, tr, cols, eps) {
				skipped++
				flush(t0)
				continue
			}
			if run0 < 0 {
				run0 = t0
			}
		}
		flush(v)
	}
	return skipped
}

// A scratch holds what one call of the head works in: the logits block
// and the matrix multiplications' packing buffers.
type scratch struct {
	logits []float32
	ws     gemm.Workspace
}

// scratchPool keeps scratch between calls: a training loop calls the head
// once per step with the same shapes.
var scratchPool sync.Pool // of *scratch

// getScratch returns a pooled scratch whose logits block holds n float32s
// (contents undefined).
func getScratch(n int) *scratch {
	sc, ok := scratchPool.Get().(*scratch)
	if !ok {
		sc = new(scratch)
	}
	if cap(sc.logits) < n {
		sc.logits = make([]float32, n)
	}
	sc.logits = sc.logits[:n]
	return sc
}

// rankOf counts the entries of z strictly larger than z[y], saturated at
// 2³¹−1 (Output.TargetRank is int32; a vocabulary may be larger).
func rankOf(z []float32, y int) int32 {
	zy := z[y]
	var n int
	for _, v := range z {
		if v > zy {
			n++
		}
	}
	return int32(min(n, math.MaxInt32))
}

// tileBelow reports whether every |g[r·ld + j]|, r < rows, j < cols, is
// below eps.
func tileBelow(g []float32, ld, rows, cols int, eps float32) bool {
	for r := 0; r < rows; r++ {
		for _, x := range g[r*ld : r*ld+cols] {
			if x >= eps || x <= -eps {
				return false
			}
		}
	}
	return true
}

func clearOutputs(out Output) {
	clear(out.GradHidden)
	clear(out.GradWeight)
	clear(out.GradBias)
}
