package metrics

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
)

// Float is the element type of logit, probability and score matrices:
// float32 or float64.
type Float = rowstat.Exact

// blockElems is about how many matrix elements one parallel block of rows
// holds; block boundaries depend only on the shape, never on the thread
// count, so every reduction over blocks is deterministic.
const blockElems = rowstat.BlockElems

func rowGrain(cols int) int { return max(1, blockElems/cols) }

// checkShape validates a row-major matrix of cols columns and, if labels is
// not nil, one label per row.
func checkShape(fn string, n, cols int, labels []int32, needLabels bool) (rows int, err error) {
	if cols <= 0 {
		return 0, fmt.Errorf("metrics.%s: cols = %d, want ≥ 1: %w", fn, cols, ErrShape)
	}
	if n%cols != 0 {
		return 0, fmt.Errorf("metrics.%s: matrix length %d is not a multiple of cols = %d: %w", fn, n, cols, ErrShape)
	}
	rows = n / cols
	if needLabels && len(labels) != rows {
		return 0, fmt.Errorf("metrics.%s: %d labels for %d rows: %w", fn, len(labels), rows, ErrShape)
	}
	return rows, nil
}

// rowOut holds the per-row results of one pass over a logit matrix; a nil
// slice is a result that is not wanted. Every slice has one entry per row.
type rowOut struct {
	conf    []float64 // top-1 probability
	rank    []int     // rank of the label, capped at rankCap
	rankCap int
	nll     []float64 // −log p_y
	brier   []float64 // Σ_j (p_j − 1[j=y])²
	entropy []float64 // −Σ p log p
	gap     []float64 // top-1 minus top-2 logit
	margin  []float64 // z_y − max_{j≠y} z_j
	maxLog  []float64 // max_j z_j
	lse     []float64 // log Σ exp(s·z_j) with s = 1/temperature
	invTemp float64   // for lse
}

// rowErr is the first bad row a block met.
type rowErr struct {
	row int
	msg string
}

// rowPass calls do for every row of the matrix x (cols columns), in
// parallel over fixed row blocks, and returns the error of the lowest bad
// row. With scratch, do gets a buffer of cols elements owned by its block.
func rowPass[E Float](fn string, x []E, cols, threads int, scratch bool, do func(row []E, r int, scratch []E) *rowErr) error {
	rows := len(x) / cols
	grain := rowGrain(cols)
	errs := make([]*rowErr, par.Blocks(rows, grain))
	par.For(rows, grain, par.Threads(threads), func(b, lo, hi int) {
		var buf []E
		if scratch {
			buf = make([]E, cols)
		}
		for r := lo; r < hi; r++ {
			if e := do(x[r*cols:(r+1)*cols], r, buf); e != nil {
				errs[b] = e
				return
			}
		}
	})
	for _, e := range errs {
		if e != nil {
			return fmt.Errorf("metrics.%s: row %d: %s: %w", fn, e.row, e.msg, ErrValue)
		}
	}
	return nil
}

// logitPass fills out for every row of the logit matrix x (cols columns).
// It fails on the first (lowest) row with a NaN or +Inf logit, with no
// finite logit, or with a label outside [0, cols).
func logitPass[E Float](fn string, x []E, cols int, labels []int32, out *rowOut, threads int) error {
	k := rowstat.For[E]()
	return rowPass(fn, x, cols, threads, out.entropy != nil, func(row []E, r int, scratch []E) *rowErr {
		return logitRow(k, row, r, labels, out, scratch)
	})
}

func logitRow[E Float](k *rowstat.Kernels[E], row []E, r int, labels []int32, out *rowOut, scratch []E) *rowErr {
	cols := len(row)
	m, nan := k.MaxNaN(row)
	switch {
	case nan:
		return &rowErr{r, "logits contain NaN"}
	case math.IsInf(float64(m), 1):
		return &rowErr{r, "logits contain +Inf"}
	case math.IsInf(float64(m), -1):
		return &rowErr{r, "no finite logit (every entry is −Inf)"}
	}
	y := -1
	if labels != nil {
		y = int(labels[r])
		if y < 0 || y >= cols {
			return &rowErr{r, fmt.Sprintf("label %d outside [0, %d)", labels[r], cols)}
		}
	}
	if out.maxLog != nil {
		out.maxLog[r] = float64(m)
	}
	if out.lse != nil {
		s := out.invTemp
		out.lse[r] = float64(m)*s + math.Log(k.ExpSumFlat(row, m, E(s)))
	}
	var sum float64 // Σ exp(z_j − m) ≥ 1
	if out.conf != nil || out.nll != nil || out.brier != nil || out.entropy != nil {
		if scratch != nil {
			sum = k.ExpStoreSum(scratch, row, m, 1)
		} else {
			sum = k.ExpSumFlat(row, m, 1)
		}
	}
	if out.conf != nil {
		out.conf[r] = 1 / sum
	}
	var dy float64 // z_y − m ≤ 0, exact for float32 input
	if y >= 0 {
		dy = float64(row[y]) - float64(m)
	}
	if out.nll != nil {
		out.nll[r] = math.Log(sum) - dy
	}
	var sq float64 // Σ exp(2(z_j − m))
	if out.entropy != nil {
		// H = log sum − Σ e_j (z_j − m)/sum with e_j = exp(z_j − m), the
		// values scratch holds; Σ e_j² comes with it for the Brier score.
		var t float64
		fm := float64(m)
		for j, e := range scratch {
			if e != 0 {
				f := float64(e)
				t += f * (float64(row[j]) - fm)
				sq += f * f
			}
		}
		out.entropy[r] = max(math.Log(sum)-t/sum, 0)
	} else if out.brier != nil {
		sq = k.ExpSumFlat(row, m, 2)
	}
	if out.brier != nil {
		// Σ p_j² − 2p_y + 1 with Σ p_j² = Σ exp(2(z_j − m))/sum².
		py := math.Exp(dy) / sum
		out.brier[r] = max(sq/(sum*sum)-2*py+1, 0)
	}
	if out.rank != nil {
		out.rank[r] = labelRank(k, row, y, m, out.rankCap)
	}
	if out.gap != nil || out.margin != nil {
		if e := margins(k, row, r, y, m, out); e != nil {
			return e
		}
	}
	return nil
}

// margins stores the gap (top-1 minus top-2 entry) and the label margin
// (z_y − max_{j≠y} z_j) of row r, whose max is m.
func margins[E Float](k *rowstat.Kernels[E], row []E, r, y int, m E, out *rowOut) *rowErr {
	if len(row) < 2 {
		return &rowErr{r, "margins need at least 2 classes"}
	}
	a := argmaxAt(k, row, m)
	m2 := max(maxOf(k, row[:a]), maxOf(k, row[a+1:]))
	if out.gap != nil {
		out.gap[r] = float64(m) - float64(m2)
	}
	if out.margin != nil {
		if y == a {
			out.margin[r] = float64(m) - float64(m2)
		} else {
			out.margin[r] = float64(row[y]) - float64(m)
		}
	}
	return nil
}

// maxOf is the max of x (−Inf when empty); x holds no NaN.
func maxOf[E Float](k *rowstat.Kernels[E], x []E) E {
	m, _ := k.MaxNaN(x)
	return m
}

// argmaxAt returns the first index holding m, the max of row. It looks at
// chunks with the vector max first so that only one chunk is scanned
// element by element.
func argmaxAt[E Float](k *rowstat.Kernels[E], row []E, m E) int {
	const chunk = 128
	for c := 0; c < len(row); c += chunk {
		part := row[c:min(len(row), c+chunk)]
		if maxOf(k, part) == m {
			for j, v := range part {
				if v == m {
					return c + j
				}
			}
		}
	}
	return -1 // unreachable for a row whose max is m
}

// labelRank returns the 0-based rank of label y in row — the number of
// entries ranked above it, where z_j ranks above z_y if z_j > z_y, or
// z_j = z_y and j < y (ties go to the lower index, as for an argmax that
// returns the first maximum) — capped at limit ≥ 1. m is the max of row,
// which holds no NaN.
func labelRank[E Float](k *rowstat.Kernels[E], row []E, y int, m E, limit int) int {
	t := row[y]
	if t == m {
		// Nothing is above the max; only equal entries before y count.
		if maxOf(k, row[:y]) < m {
			return 0
		}
		return min(countEqual(row[:y], t), limit)
	}
	if limit == 1 {
		return 1 // m itself is above t
	}
	// Entries ≥ t before y, then entries > t after it; v ≥ t is v > t⁻
	// with t⁻ the float just below t (t is finite or −Inf here).
	var n int
	if math.IsInf(float64(t), -1) {
		n = y
	} else {
		n = countAbove(row[:y], below(t), limit)
	}
	if n < limit {
		n += countAbove(row[y+1:], t, limit-n)
	}
	return min(n, limit)
}

// below returns the largest float of t's type smaller than t (t finite).
func below[E Float](t E) E {
	switch v := any(t).(type) {
	case float32:
		return any(math.Nextafter32(v, float32(math.Inf(-1)))).(E)
	default:
		return any(math.Nextafter(any(t).(float64), math.Inf(-1))).(E)
	}
}

// countAbove counts the entries v > t, in chunks, stopping once limit is
// reached.
func countAbove[E Float](x []E, t E, limit int) int {
	const chunk = 512
	n := 0
	for len(x) > 0 && n < limit {
		part := x[:min(len(x), chunk)]
		x = x[len(part):]
		n += countGreater(part, t)
	}
	return n
}

// countEqual counts the entries equal to t (an int: rows may be longer
// than 2³¹).
func countEqual[E Float](x []E, t E) int {
	var n int
	for _, v := range x {
		if v == t {
			n++
		}
	}
	return n
}
