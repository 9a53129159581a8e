package linear

import (
	"fmt"
	"math"
	"sync"

	"github.com/xentlab/xent/internal/gemm"
	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
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
	if err := c.check(in, out, in.V, false); err != nil {
		return Stats{}, err
	}
	return c.run(in, out, c.scale(in), nil)
}

// HiddenStream supplies the hidden states of EvalStream a block of rows at
// a time, and takes their gradient the same way.
type HiddenStream struct {
	// Read fills dst, a whole number of rows of D values, with the hidden
	// states from row `row` on. The calls come in row order, each block
	// starting where the last one ended.
	Read func(dst []float32, row int) error
	// Grad, if not nil, receives ∂loss/∂H for the rows from `row` on, in
	// the same order; g is reused once Grad returns.
	Grad func(g []float32, row int) error
}

// EvalStream is Eval with the hidden states read, and their gradient
// handed out, one block of rows at a time, so that neither H nor ∂H is
// ever whole in memory: in.Hidden and out.GradHidden must be nil, and
// s.Read supplies the rows. Everything else (targets, weights, the other
// outputs) is as for Eval, and the results are the bits of Eval on the
// same values: the blocks and the order of every sum are the same.
//
// The hidden states are checked block by block as they arrive, so an
// error from a non-finite value or from s.Read can come after earlier
// blocks were handed to s.Grad; the outputs are then undefined. Eval too
// checks the hidden states after everything else, so both report the same
// first error, except that a problem EvalStream meets in an earlier block
// (a logit that overflows) comes before a non-finite hidden state of a
// later one.
func (h Head) EvalStream(in Input, s HiddenStream, out Output) (Stats, error) {
	c, err := h.config()
	if err != nil {
		return Stats{}, err
	}
	switch {
	case s.Read == nil:
		return Stats{}, shapeErr("HiddenStream.Read is nil")
	case in.Hidden != nil:
		return Stats{}, shapeErr("Input.Hidden is set; EvalStream reads the hidden states through HiddenStream.Read")
	case out.GradHidden != nil:
		return Stats{}, shapeErr("Output.GradHidden is set; EvalStream hands ∂H to HiddenStream.Grad")
	}
	if err := c.check(in, out, in.V, true); err != nil {
		return Stats{}, err
	}
	return c.run(in, out, c.scale(in), &s)
}

// run is the blocked forward/backward; sc scales the summed loss and the
// gradients (1/den for the mean). With s not nil, the hidden states come
// from s.Read and ∂H goes to s.Grad, a block at a time.
func (c config) run(in Input, out Output, sc float64, s *HiddenStream) (Stats, error) {
	n, d, v := in.N, in.D, in.V
	var st Stats
	if n == 0 {
		clearOutputs(out)
		return st, nil
	}
	nb := c.blockRows(n, v, d)
	scr := getScratch(min(nb, n) * v)
	defer scratchPool.Put(scr)
	buf, ws := scr.logits, &scr.ws
	labels := make([]int64, min(nb, n))
	st.ExtraBytes = int64(4*len(buf) + 8*len(labels))
	wantDH := out.GradHidden != nil || s != nil && s.Grad != nil
	wantGrad := wantDH || out.GradWeight != nil || out.GradBias != nil
	var hBuf, dhBuf []float32
	if s != nil {
		hBuf = make([]float32, min(nb, n)*d)
		if s.Grad != nil {
			dhBuf = make([]float32, min(nb, n)*d)
		}
		st.ExtraBytes += int64(4 * (len(hBuf) + len(dhBuf)))
	}
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
	if c.h.FilterEps > 0 {
		c.fs = getFilterScratch()
		defer filterPool.Put(c.fs)
	}
	for b0 := 0; b0 < n; b0 += nb {
		rows := min(nb, n-b0)
		z := buf[:rows*v]
		blk := block{b0: b0, rows: rows}
		if s == nil {
			blk.h = in.Hidden[b0*d : (b0+rows)*d]
			if wantDH {
				blk.dh = out.GradHidden[b0*d : (b0+rows)*d]
			}
		} else {
			blk.h = hBuf[:rows*d]
			if err := s.Read(blk.h, b0); err != nil {
				return st, fmt.Errorf("linear: reading the hidden states from row %d: %w", b0, err)
			}
			if i, j, bad := firstNonFinite(blk.h, d, c.threads); bad {
				return st, valueErr("Hidden[%d, %d] = %v", b0+i, j, blk.h[i*d+j])
			}
			if wantDH {
				blk.dh = dhBuf[:rows*d]
			}
		}
		hb := blk.h
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
		st.SkippedTiles += c.backward(ws, in, out, z, blk, sc, dbBlock)
		if s != nil && s.Grad != nil {
			if err := s.Grad(blk.dh, b0); err != nil {
				return st, fmt.Errorf("linear: handing out ∂H from row %d: %w", b0, err)
			}
		}
		if dbAcc != nil {
			for j, g := range dbBlock {
				dbAcc[j] += float64(g)
			}
		}
	}
	st.Loss *= sc
	st.ExtraBytes += ws.Bytes()
	if c.fs != nil {
		st.ExtraBytes += c.fs.bytes()
	}
	if out.GradBias != nil {
		for j, g := range dbAcc {
			out.GradBias[j] = float32(sc * g)
		}
	}
	return st, nil
}

// A block is one token block of the head: its first row, its row count,
// its hidden states and where its ∂H goes (nil: not wanted).
type block struct {
	b0, rows int
	h, dh    []float32
}

// backward turns one block's logits gradient g [rows, V] (sum-reduced)
// into ∂H for the block, adds its part of ∂W, and leaves its column sums
// in db (if not nil); its products pack into ws. It returns the number of
// tiles skipped.
func (c config) backward(ws *gemm.Workspace, in Input, out Output, g []float32, blk block, sc float64, db []float32) int {
	d, v := in.D, in.V
	alpha := float32(sc)
	rows, hb, dh := blk.rows, blk.h, blk.dh
	if db != nil {
		clear(db)
		for r := 0; r < rows; r++ {
			rowstat.K32.Axpy(db, g[r*v:(r+1)*v], 1)
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
	return c.backwardFiltered(ws, in, out, g, blk, alpha)
}

// backwardFiltered is the backward of gradient filtering: tiles of
// tileRows tokens × tileCols classes whose every |g| is below FilterEps
// are skipped. The kept tiles of each column of tiles are gathered into
// dense panels, so that each column costs two full-size products instead
// of one small product per kept tile: with G_t the gathered rows of the
// column's kept tiles and H_t the matching hidden states,
// ∂H (those rows) += G_t·W_t, added row by row in ascending column order,
// and ∂W_t += G_tᵀ·H_t. With two threads or more, one half runs the ∂H
// products and the other the ∂W products, each in column order, so that
// every output has one writer and the same operations for any thread
// count. It returns the number of tiles skipped.
func (c config) backwardFiltered(ws *gemm.Workspace, in Input, out Output, g []float32, blk block, alpha float32) int {
	v, rows := in.V, blk.rows
	eps := float32(c.h.FilterEps)
	tr, tc := c.tileRows, c.tileCols
	rowTiles := (rows + tr - 1) / tr
	colTiles := (v + tc - 1) / tc
	fs := c.fs
	// Which tiles are kept: keep[t·rowTiles + r].
	keep := fs.keep[:0]
	for range colTiles * rowTiles {
		keep = append(keep, false)
	}
	fs.keep = keep
	par.For(colTiles, 1, c.threads, func(t, _, _ int) {
		t0 := t * tc
		cols := min(tc, v-t0)
		for r := range rowTiles {
			r0 := r * tr
			keep[t*rowTiles+r] = !tileBelow(g[r0*v+t0:], v, min(tr, rows-r0), cols, eps)
		}
	})
	skipped := 0
	for _, k := range keep {
		if !k {
			skipped++
		}
	}
	f := filtered{c: c, in: in, g: g, blk: blk, alpha: alpha, keep: keep, rowTiles: rowTiles}
	doH, doW := blk.dh != nil, out.GradWeight != nil
	if doH {
		clear(blk.dh)
	}
	thH, thW := c.threads, c.threads
	if doH && doW && c.threads > 1 {
		thH = c.threads / 2
		thW = c.threads - thH
		par.Workers(2, func(w int) {
			if w == 1 {
				f.run(ws, &fs.h1, out, true, thH)
			} else {
				f.run(&fs.ws, &fs.w1, out, false, thW)
			}
		})
		return skipped
	}
	if doH {
		f.run(ws, &fs.h1, out, true, thH)
	}
	if doW {
		f.run(ws, &fs.w1, out, false, thW)
	}
	return skipped
}

// filtered is one block's filtered backward.
type filtered struct {
	c        config
	in       Input
	g        []float32
	blk      block
	alpha    float32
	keep     []bool
	rowTiles int
}

// run computes the ∂H products (dH) or the ∂W products of every column of
// tiles in order, on threads goroutines, gathering into p.
func (f *filtered) run(ws *gemm.Workspace, p *panels, out Output, dH bool, threads int) {
	c, in, g := f.c, f.in, f.g
	d, v := in.D, in.V
	tr, tc := c.tileRows, c.tileCols
	hb, rows := f.blk.h, f.blk.rows
	for t0 := 0; t0 < v; t0 += tc {
		cols := min(tc, v-t0)
		kept := f.keep[(t0/tc)*f.rowTiles : (t0/tc+1)*f.rowTiles]
		n := 0
		for r, k := range kept {
			if k {
				n += min(tr, rows-r*tr)
			}
		}
		if n == 0 {
			continue
		}
		// Gather G_t (n×cols) and, for ∂W, H_t (n×d).
		gt := grow(&p.g, n*cols)
		var ht []float32
		if !dH {
			ht = grow(&p.h, n*d)
		}
		i := 0
		for r, k := range kept {
			if !k {
				continue
			}
			for x := r * tr; x < min((r+1)*tr, rows); x++ {
				copy(gt[i*cols:(i+1)*cols], g[x*v+t0:x*v+t0+cols])
				if ht != nil {
					copy(ht[i*d:(i+1)*d], hb[x*d:(x+1)*d])
				}
				i++
			}
		}
		if !dH {
			ws.Gemm(true, false, cols, d, n, f.alpha, gt, cols, ht, d, 1, out.GradWeight[t0*d:], d, threads)
			continue
		}
		tmp := grow(&p.h, n*d)
		ws.Gemm(false, false, n, d, cols, f.alpha, gt, cols, in.Weight[t0*d:], d, 0, tmp, d, threads)
		dh := f.blk.dh
		i = 0
		for r, k := range kept {
			if !k {
				continue
			}
			for x := r * tr; x < min((r+1)*tr, rows); x++ {
				rowstat.K32.Axpy(dh[x*d:(x+1)*d], tmp[i*d:(i+1)*d], 1)
				i++
			}
		}
	}
}

// panels holds one role's gathered panels.
type panels struct{ g, h []float32 }

// A filterScratch holds what gradient filtering works in: which tiles
// are kept, the gathered panels of the ∂H and the ∂W products, and a
// second GEMM workspace for the ∂W products when they run beside the ∂H
// ones.
type filterScratch struct {
	keep   []bool
	h1, w1 panels
	ws     gemm.Workspace
}

// bytes returns the size of the buffers fs holds.
func (fs *filterScratch) bytes() int64 {
	n := cap(fs.h1.g) + cap(fs.h1.h) + cap(fs.w1.g) + cap(fs.w1.h)
	return int64(cap(fs.keep)+4*n) + fs.ws.Bytes()
}

var filterPool sync.Pool // of *filterScratch

func getFilterScratch() *filterScratch {
	fs, ok := filterPool.Get().(*filterScratch)
	if !ok {
		fs = new(filterScratch)
	}
	return fs
}

// grow returns (*buf)[:n], reallocating *buf when it is too small.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
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
