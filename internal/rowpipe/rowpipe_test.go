package rowpipe

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/vek"
)

// normRows is a Handler that turns each row into exp(x − c)/Σ exp(x − c)
// with its first element then set to −1 (the Set fix-up); rows without a
// shift are cleared in Finish. The exponentials go to a scratch row or,
// with inDst, to the output row.
type normRows struct {
	dst   []float32
	cols  int
	inDst bool
	sums  []float64
	fast  bool
}

func (h *normRows) Plan(r Row) Plan {
	c, ok := vek.Shift32(r.Max)
	h.fast = ok && !r.NaN
	p := Plan{Fast: h.fast, C: c, Store: true}
	if h.inDst {
		p.E = h.dst[r.R*h.cols : (r.R+1)*h.cols]
	}
	return p
}

func (h *normRows) Finish(r Row, sum float64) Out {
	h.sums[r.R] = sum
	out := h.dst[r.R*h.cols : (r.R+1)*h.cols]
	if !h.fast {
		clear(out)
		return Out{}
	}
	return Out{Dst: out, Src: r.E, A: float32(1 / sum), Mode: vek.StepScale, Set: true, SetAt: 0, SetVal: -1}
}

// TestRunMatchesRows checks Run against the same kernels applied one row
// at a time (the bits must be equal): sums, outputs, the fix-up of Set,
// with the exponentials in a scratch row and in the output row, with and
// without non-temporal stores, for row lengths around the chunk size.
// The rows' maxima change regime from row to row, so that the plan Run
// guesses from the previous rows is wrong in every way it can be: a
// row shifted by its maximum (or without a shift, or with a NaN, or all
// −Inf) after rows with the shift 0 and the other way round, two rows
// shifted by different maxima in turn.
func TestRunMatchesRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, shape := range [][2]int{{1, 1}, {7, 5}, {9, 100}, {4, Chunk + 3}, {3, 2*Chunk + 1}, {45, 33}, {21, Chunk + 5}} {
		rows, cols := shape[0], shape[1]
		x := make([]float32, rows*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 4)
		}
		if rows > 2 {
			x[2*cols] = 200      // a maximum shifted by itself (≥ 138)
			x[cols+cols/2] = 100 // no shift (85 < m < 138): cleared
		}
		if rows > 10 {
			// Per row: an offset (NaN: one NaN element; −Inf: the whole
			// row −Inf).
			nanRow, infRow := float32(math.NaN()), float32(math.Inf(-1))
			offsets := []float32{0, 0, 200, 0, 0, -100, nanRow, 0, 0, 250, 300, 0, 0, 100, infRow, 0, 0, -1e4, 90, 0}
			for r := 0; r < rows; r++ {
				row := x[r*cols : (r+1)*cols]
				switch off := offsets[r%len(offsets)]; {
				case off != off:
					row[cols/3] = off
				case math.IsInf(float64(off), -1):
					for i := range row {
						row[i] = off
					}
				default:
					for i := range row {
						row[i] += off
					}
				}
			}
		}
		want := make([]float32, len(x))
		wantSums := make([]float64, rows)
		for r := range rows {
			row, out := x[r*cols:(r+1)*cols], want[r*cols:(r+1)*cols]
			m, nan := vek.MaxNaN32(row)
			c, ok := vek.Shift32(m)
			if !ok || nan {
				continue // cleared
			}
			e := make([]float32, cols)
			var s float64
			for c0 := 0; c0 < cols; c0 += Chunk {
				c1 := min(cols, c0+Chunk)
				s += vek.ExpShiftStore32(e[c0:c1], row[c0:c1], c)
			}
			wantSums[r] = s
			vek.Scale32(out, e, float32(1/s))
			out[0] = -1
		}
		for _, inDst := range []bool{false, true} {
			for _, nt := range []bool{false, true} {
				ctx := fmt.Sprintf("%dx%d inDst=%v nt=%v", rows, cols, inDst, nt)
				h := &normRows{dst: make([]float32, len(x)), cols: cols, inDst: inDst, sums: make([]float64, rows)}
				Run(x, cols, 0, rows, h, nt)
				for r := range rows {
					if math.Float64bits(h.sums[r]) != math.Float64bits(wantSums[r]) {
						t.Fatalf("%s: row %d sum %v, want %v", ctx, r, h.sums[r], wantSums[r])
					}
				}
				for i := range want {
					if math.Float32bits(h.dst[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: element %d (row %d) = %v, want %v", ctx, i, i/cols, h.dst[i], want[i])
					}
				}
			}
		}
	}
}

// TestUseNT: non-temporal stores only for large outputs written by two
// threads or more, and only on the tiers whose step does not prefetch its
// plain stores (unless forced).
func TestUseNT(t *testing.T) {
	defer func(v bool) { ForceNT = v }(ForceNT)
	for _, force := range []bool{false, true} {
		ForceNT = force
		want := force || !vek.StepPrefetchesStores()
		if UseNT(NTBytes, 1) || UseNT(NTBytes-1, 2) || UseNT(NTBytes, 2) != want {
			t.Fatalf("UseNT does not follow its documented rule (forced %v, tier %s)", force, vek.Accelerated())
		}
	}
}
