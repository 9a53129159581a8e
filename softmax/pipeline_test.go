package softmax

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/xentlab/xent/internal/rowpipe"
)

// pipelineRows returns a matrix whose rows take every path of the
// pipeline: shifted rows (maxima in [−16, 85], ≥ 138, ≤ −69), rows for
// the exact kernels (maxima in (85, 138) and (−69, −16)), one-hot rows,
// masked, NaN and +Inf rows, in an order that puts each kind before and
// after each other kind, and rows shifted by their maximum after two rows
// with the shift 0.
func pipelineRows(rng *rand.Rand, rows, cols int) []float32 {
	x := make([]float32, rows*cols)
	offsets := []float64{0, 30, 100, 150, 1e4, -30, -50, -100, -1e4, 84, 0, 200, 5, 10, -100}
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		off := offsets[r%len(offsets)]
		for i := range row {
			row[i] = float32(rng.NormFloat64()*3 + off)
		}
		switch r % 13 {
		case 3: // one-hot
			for i := range row {
				row[i] = float32(math.Inf(-1))
			}
			row[rng.IntN(cols)] = float32(off)
		case 5:
			for i := range row {
				row[i] = float32(math.Inf(-1))
			}
		case 7:
			row[rng.IntN(cols)] = float32(math.NaN())
		case 11:
			row[rng.IntN(cols)] = float32(math.Inf(1))
		case 12: // masks beside the values
			for i := 0; i < cols; i += 3 {
				row[i] = float32(math.Inf(-1))
			}
		}
	}
	return x
}

// TestPipelineMatchesOneRow checks that the row pipeline gives, row for
// row, the bits of the one-row path, with and without non-temporal
// stores, in place and not, for several thread counts and row lengths
// around the chunk size (130 long rows: blocks of several rows, so that
// the rows' maxima are guessed from the previous row's).
func TestPipelineMatchesOneRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	defer func(v int, f bool) { rowpipe.NTBytes, rowpipe.ForceNT = v, f }(rowpipe.NTBytes, rowpipe.ForceNT)
	// NTBytes = 0 with ForceNT makes every call with two threads or more
	// use the non-temporal stores, on every tier.
	for _, shape := range [][2]int{{40, 1}, {40, 17}, {30, 64}, {27, 1000}, {5, chunkCols + 17}, {3, 2*chunkCols + 100}, {130, chunkCols + 17}} {
		rows, cols := shape[0], shape[1]
		x := pipelineRows(rng, rows, cols)
		for o := opSoftmax; o <= opLogSumExp; o++ {
			n := len(x)
			if o == opLogSumExp {
				n = rows
			}
			want := make([]float32, n)
			for r := 0; r < rows; r++ {
				row := x[r*cols : (r+1)*cols]
				m, nan := k32.MaxNaN(row)
				oneRow(k32, o, want, row, r, cols, m, nan, 1)
			}
			for _, nt := range []int{1 << 62, 0} {
				rowpipe.NTBytes, rowpipe.ForceNT = nt, nt == 0
				for _, th := range []int{1, 2, 3} {
					for _, inPlace := range []bool{false, true} {
						if inPlace && o == opLogSumExp {
							continue
						}
						ctx := fmt.Sprintf("%s %dx%d nt=%v threads=%d in-place=%v", opNames[o], rows, cols, nt == 0, th, inPlace)
						got := make([]float32, n)
						src := x
						if inPlace {
							src = append([]float32(nil), x...)
							got = src
						}
						pipeline32(o, got, src, cols, th)
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
								t.Fatalf("%s: element %d (row %d) = %v, one-row path %v", ctx, i, i/max(1, n/rows), got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestOneHot checks that a row with a single finite entry, or whose other
// entries underflow, gets exactly p = 1, log p = 0 and its maximum as its
// log-sum-exp on every path.
func TestOneHot(t *testing.T) {
	inf := float32(math.Inf(-1))
	for _, v := range []float32{-100, -20, -16, 0, 1.5, 3, 7.25, 41, 85, 86, 100, 137, 138, 500, 1e4} {
		for _, other := range []float32{inf, v - 200} {
			x := []float32{other, v, other, other}
			p, lp, ls := make([]float32, 4), make([]float32, 4), make([]float32, 1)
			if err := Softmax(p, x, 4); err != nil {
				t.Fatal(err)
			}
			if err := LogSoftmax(lp, x, 4); err != nil {
				t.Fatal(err)
			}
			if err := LogSumExp(ls, x, 4); err != nil {
				t.Fatal(err)
			}
			if p[1] != 1 || p[0] != 0 || lp[1] != 0 || ls[0] != v {
				t.Errorf("row %v: p = %v, log p = %v, lse = %v", x, p, lp, ls)
			}
		}
	}
}
