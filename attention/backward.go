package attention

import (
	"fmt"
	"math"
	"sync"

	"github.com/xentlab/xent/internal/gemm"
	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/vek"
)

// Blocking of the float32 backward pass: key blocks of bwdKeys, query
// strips of bwdRows rows of one head, both multiples of the AVX-512
// GEMM tile's 12 rows and 32 columns where they are a GEMM's m or n. Both
// fix the order of the sums of dQ, dK and dV, hence the bits; the thread
// count does not.
const (
	bwdKeys = 192
	bwdRows = 96
)

// bwdWork is the scratch of one backward task, pooled.
type bwdWork struct {
	kT, kN, vT                 []float32 // K block packed for Q·Kᵀ and dS·K, V block for dO·Vᵀ
	qA, doA, qB, doB           []float32 // the strip's Q and dO packed as A and as B
	s, dp, th, z, pA, dsA, dsT []float32
	tmp                        []float32
	rows                       []bwdRow
}

// bwdRow is what the backward pass knows of one query row.
type bwdRow struct {
	lo, hi  int
	factor  float32 // τ_i or κ_i
	biasOff int
	lse     float32
	d       float32 // Σ_j A_ij·dA_ij = dOut_i·out_i
}

var bwdPool sync.Pool // of *bwdWork

// backward32 is Backward for float32: one task per (batch element,
// key/value head); inside it, key blocks in order, and for each the
// strips of every query head of the group in order (FlashAttention-2's
// loop with the key blocks outside), so every sum has a fixed order.
func backward32(p *plan, in Input[float32], out Output[float32], dOut []float32, g *Grad[float32]) error {
	for _, t := range []struct {
		name string
		x    []float32
		shp  [4]int
	}{
		{"q", in.Q, [4]int{p.B, p.H, p.S, p.D}},
		{"k", in.K, [4]int{p.B, p.Hkv, p.T, p.D}},
		{"v", in.V, [4]int{p.B, p.Hkv, p.T, p.Dv}},
		{"out", out.Out, [4]int{p.B, p.H, p.S, p.Dv}},
		{"dOut", dOut, [4]int{p.B, p.H, p.S, p.Dv}},
	} {
		if !finite32(t.x) {
			return locateAny(t.name, t.x, t.shp[:])
		}
	}
	for n, l := range out.LSE {
		if math.IsNaN(float64(l)) || math.IsInf(float64(l), 1) {
			return fmt.Errorf("attention: lse[%d] = %v: want finite or −Inf (the output of Forward): %w", n, l, ErrValue)
		}
	}
	clear(g.DQ)
	clear(g.DK)
	clear(g.DV)
	groups := p.B * p.Hkv
	dtau := make([]float64, p.B*p.H*p.S)
	threads := min(par.Threads(p.threads), groups)
	free := takeWork[bwdWork](&bwdPool, threads)
	par.For(groups, 1, threads, func(t, _, _ int) {
		w := <-free
		p.runBwd(w, t/p.Hkv, t%p.Hkv, in, out, dOut, g, dtau)
		free <- w
	})
	returnWork(&bwdPool, free)
	if p.selective {
		expBeta := math.Exp(p.beta)
		dtaudb := -expBeta * math.Exp(-expBeta)
		for row, v := range dtau {
			if v != 0 {
				b, i := row/(p.H*p.S), row%p.S
				g.DBeta += v * dtaudb * math.Log(float64(max(p.visible(b, i), 1)))
			}
		}
	}
	return nil
}

// locateAny returns the error naming the first non-finite element of x
// (NaN or ±Inf), of the given shape.
func locateAny(name string, x []float32, shape []int) error {
	for n, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			idx := make([]int, len(shape))
			for d := len(shape) - 1; d >= 0; d-- {
				idx[d] = n % shape[d]
				n /= shape[d]
			}
			return fmt.Errorf("attention: %s%s = %v: want finite: %w", name, fmtIndex(idx), v, ErrValue)
		}
	}
	return fmt.Errorf("attention: %s holds a non-finite value: %w", name, ErrValue)
}

// runBwd runs the backward task of key/value head gk of batch element b.
func (p *plan) runBwd(w *bwdWork, b, gk int, in Input[float32], out Output[float32], dOut []float32, g *Grad[float32], dtau []float64) {
	D, Dv, S := p.D, p.Dv, p.S
	nrows := p.G * S
	if cap(w.rows) < nrows {
		w.rows = make([]bwdRow, nrows)
	}
	w.rows = w.rows[:nrows]
	for r := range nrows {
		h, i := gk*p.G+r/S, r%S
		row := (b*p.H+h)*S + i
		lo, hi := p.interval(i)
		br := bwdRow{lo: lo, hi: hi, factor: float32(p.rowFactor(b, i)), biasOff: p.biasRow(b, h, i)}
		if p.norm != Sigmoid {
			br.lse = out.LSE[row]
			br.d = float32(dot(dOut[row*Dv:][:Dv], out.Out[row*Dv:][:Dv]))
			if math.IsInf(float64(br.lse), -1) {
				br.lo, br.hi = 0, 0 // sees nothing: no gradient
			}
		}
		w.rows[r] = br
	}
	w.kT = sized(&w.kT, gemm.PackBSize(D, bwdKeys))
	w.kN = sized(&w.kN, gemm.PackBSize(bwdKeys, D))
	w.vT = sized(&w.vT, gemm.PackBSize(Dv, bwdKeys))
	// Q and dO of every strip of the group, packed once for all key
	// blocks: as A (scores, dP) and as B (dK, dV). O(G·S·d), never O(T).
	nStrips := p.G * ((S + bwdRows - 1) / bwdRows)
	szQA, szDA, szQB, szDB := gemm.PackASize(bwdRows, D), gemm.PackASize(bwdRows, Dv), gemm.PackBSize(bwdRows, D), gemm.PackBSize(bwdRows, Dv)
	w.qA = sized(&w.qA, nStrips*szQA)
	w.doA = sized(&w.doA, nStrips*szDA)
	w.qB = sized(&w.qB, nStrips*szQB)
	w.doB = sized(&w.doB, nStrips*szDB)
	for h := range p.G {
		for i0 := 0; i0 < S; i0 += bwdRows {
			x := h*((S+bwdRows-1)/bwdRows) + i0/bwdRows
			m := min(S, i0+bwdRows) - i0
			row0 := (b*p.H+gk*p.G+h)*S + i0
			qs, dos := in.Q[row0*D:][:m*D], dOut[row0*Dv:][:m*Dv]
			gemm.PackA(false, m, D, qs, D, w.qA[x*szQA:])
			gemm.PackA(false, m, Dv, dos, Dv, w.doA[x*szDA:])
			gemm.PackB(false, m, D, qs, D, w.qB[x*szQB:])
			gemm.PackB(false, m, Dv, dos, Dv, w.doB[x*szDB:])
		}
	}
	w.s = sized(&w.s, bwdRows*bwdKeys)
	w.dp = sized(&w.dp, bwdRows*bwdKeys)
	w.pA = sized(&w.pA, gemm.PackASize(bwdKeys, bwdRows))
	w.dsA = sized(&w.dsA, gemm.PackASize(bwdRows, bwdKeys))
	w.dsT = sized(&w.dsT, gemm.PackASize(bwdKeys, bwdRows))
	w.tmp = sized(&w.tmp, bwdKeys)
	if p.softcap > 0 {
		w.th = sized(&w.th, bwdRows*bwdKeys)
	}
	if p.selective || p.norm == Softplus {
		w.z = sized(&w.z, bwdRows*bwdKeys)
	}
	scale := float32(p.scale)
	kvRow := (b*p.Hkv + gk) * p.T
	for j0 := 0; j0 < p.T; j0 += bwdKeys {
		j1 := min(p.T, j0+bwdKeys)
		n := j1 - j0
		if p.allPadded(b, j0, j1) {
			continue
		}
		packed := false
		pad := p.blockPadding(b, j0, j1)
		for h := range p.G {
			for i0 := 0; i0 < S; i0 += bwdRows {
				i1 := min(S, i0+bwdRows)
				r0 := h*S + i0
				lo, hi := math.MaxInt, math.MinInt
				for r := r0; r < r0+i1-i0; r++ {
					if br := &w.rows[r]; br.lo < br.hi {
						lo, hi = min(lo, br.lo), max(hi, br.hi)
					}
				}
				if !(lo < j1 && hi > j0) {
					continue
				}
				if !packed {
					gemm.PackB(true, D, n, in.K[kvRow*D+j0*D:], D, w.kT)
					gemm.PackB(false, n, D, in.K[kvRow*D+j0*D:], D, w.kN)
					gemm.PackB(true, Dv, n, in.V[kvRow*Dv+j0*Dv:], Dv, w.vT)
					packed = true
				}
				m := i1 - i0
				row0 := (b*p.H+gk*p.G+h)*S + i0
				x := h*((S+bwdRows-1)/bwdRows) + i0/bwdRows
				qA, doA, qB, doB := w.qA[x*szQA:], w.doA[x*szDA:], w.qB[x*szQB:], w.doB[x*szDB:]
				// Scores and dP only for the key panels the strip sees (the
				// rest is cleared by gradRow).
				_, nr := gemm.Tile()
				c0, c1 := max(lo-j0, 0)/nr*nr, min(hi-j0, n)
				gemm.MulPacked(m, c1-c0, D, scale, qA, w.kT[c0*D:], 0, w.s[c0:], bwdKeys, 1)
				gemm.MulPacked(m, c1-c0, Dv, 1, doA, w.vT[c0*Dv:], 0, w.dp[c0:], bwdKeys, 1)
				for r := range m {
					br := &w.rows[r0+r]
					ri := rowInfo{b: b, h: gk*p.G + h, i: i0 + r, biasOff: br.biasOff, factor: br.factor}
					p.gradRow(w, br, &ri, r, j0, n, pad, in.Bias, &dtau[row0+r])
				}
				// dV_j += Pᵀ·dO, dQ += scale·dS·K_j, dK_j += scale·dSᵀ·Q.
				gemm.PackA(true, n, m, w.s, bwdKeys, w.pA)
				gemm.MulPacked(n, Dv, m, 1, w.pA, doB, 1, g.DV[(kvRow+j0)*Dv:], Dv, 1)
				gemm.PackA(false, m, n, w.dp, bwdKeys, w.dsA)
				gemm.MulPacked(m, D, n, scale, w.dsA, w.kN, 1, g.DQ[row0*D:], D, 1)
				gemm.PackA(true, n, m, w.dp, bwdKeys, w.dsT)
				gemm.MulPacked(n, D, m, scale, w.dsT, qB, 1, g.DK[(kvRow+j0)*D:], D, 1)
			}
		}
	}
}

// gradRow recomputes row r of the strip's weights from its scores (w.s,
// scaled by the GEMM) and turns its dP row (w.dp) into dS, both in place:
// afterwards w.s holds A (0 where hidden) and w.dp holds ∂L/∂s before the
// scale.
func (p *plan) gradRow(w *bwdWork, br *bwdRow, ri *rowInfo, r, j0, n int, pad []bool, bias []float32, dtau *float64) {
	row := w.s[r*bwdKeys:][:n]
	dp := w.dp[r*bwdKeys:][:n]
	a, e := max(br.lo-j0, 0), min(br.hi-j0, n)
	if a >= e {
		clear(row)
		clear(dp)
		return
	}
	seg, dseg := row[a:e], dp[a:e]
	var th, z []float32
	if p.softcap > 0 {
		th = w.th[r*bwdKeys:][a:e]
	}
	p.transform(seg, w.tmp, ri, j0+a, pad, a, bias, th)
	if p.selective || p.norm == Softplus {
		z = w.z[r*bwdKeys:][a:e]
		copy(z, seg)
	}
	switch p.norm {
	case Sigmoid:
		sigmoidRow(seg, float32(p.sigBias))
		dsSigmoid(dseg, seg)
	case Softplus:
		logSoftplusRow(seg, ri.factor)
		vek.ExpStoreSum32(seg, seg, br.lse, 1) // P = exp(l − LSE); the sum is not needed
		dsSoftplus(dseg, seg, z, br.d, ri.factor)
	default:
		tau := ri.factor
		vek.ExpStoreSum32(seg, seg, br.lse/tau, tau) // P = exp(τ·z − LSE)
		if p.selective {
			*dtau += dsDot(seg, dseg, z, br.d)
		}
		dsSoftmax(dseg, seg, br.d, tau)
	}
	if th != nil {
		dsSoftcap(dseg, th)
	}
	clear(row[:a])
	clear(row[e:])
	clear(dp[:a])
	clear(dp[e:])
}
