package metrics

import (
	"fmt"
	"math"
	"slices"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
)

// Classwise accumulates class-wise (marginal) calibration: for every class
// k and equal-width bin b of the predicted probability p_k, the number of
// examples, the sum of p_k and the number whose label is k. It streams:
// memory is O(classes × bins) whatever the number of examples.
type Classwise struct {
	classes, bins int
	count         []int64   // [k*bins+b]
	sumP          []float64 // Σ p_k in the bin
	hits          []int64   // examples with label k in the bin
	n             int
}

// NewClasswise returns an empty accumulator for the given number of classes
// and equal-width bins (both ≥ 1).
func NewClasswise(classes, bins int) (*Classwise, error) {
	if classes < 1 || bins < 1 {
		return nil, fmt.Errorf("metrics.NewClasswise: %d classes and %d bins, want both ≥ 1: %w", classes, bins, ErrValue)
	}
	return &Classwise{
		classes: classes, bins: bins,
		count: make([]int64, classes*bins),
		sumP:  make([]float64, classes*bins),
		hits:  make([]int64, classes*bins),
	}, nil
}

func (c *Classwise) clone() *Classwise {
	d := *c
	d.count, d.sumP, d.hits = slices.Clone(c.count), slices.Clone(c.sumP), slices.Clone(c.hits)
	return &d
}

// Len is the number of examples recorded.
func (c *Classwise) Len() int { return c.n }

// ECE returns the class-wise expected calibration error (Kull et al. 2019;
// "static calibration error" of Nixon et al. 2019):
//
//	CW-ECE = (1/K) Σ_k Σ_b (n_kb/N)·|a_kb − c_kb|
//
// with n_kb the examples whose p_k falls in equal-width bin b, c_kb their
// mean p_k and a_kb the fraction of them whose label is k. Per-bin sums
// are float64; the error is a few ulp per bin.
func (c *Classwise) ECE() (float64, error) {
	if c.n == 0 {
		return 0, fmt.Errorf("metrics.Classwise.ECE: no examples recorded: %w", ErrEmpty)
	}
	var total ksum
	for i, n := range c.count {
		if n == 0 {
			continue
		}
		fn := float64(n)
		total.add(math.Abs(float64(c.hits[i])/fn-c.sumP[i]/fn) * fn)
	}
	return total.value() / float64(c.n) / float64(c.classes), nil
}

// ClassBins returns the reliability bins of class k: in bin b, the examples
// whose p_k falls in ((b)/n, (b+1)/n], their mean p_k (Conf) and the
// fraction whose label is k (Acc).
func (c *Classwise) ClassBins(k int) ([]Bin, error) {
	if k < 0 || k >= c.classes {
		return nil, fmt.Errorf("metrics.Classwise.ClassBins: class %d outside [0, %d): %w", k, c.classes, ErrValue)
	}
	edges := equalWidthEdges(c.bins)
	out := make([]Bin, c.bins)
	for b := range out {
		i := k*c.bins + b
		out[b] = Bin{Lo: edges[b], Hi: edges[b+1], Count: int(c.count[i])}
		if c.count[i] > 0 {
			out[b].Conf = c.sumP[i] / float64(c.count[i])
			out[b].Acc = float64(c.hits[i]) / float64(c.count[i])
		}
	}
	return out, nil
}

// cwBlocks is the fixed number of row blocks class-wise partial sums are
// kept for; it bounds memory to cwBlocks × classes × bins and, being
// independent of the thread count, keeps the sums deterministic.
const cwBlocks = 16

// cwPart is one block's partial class-wise sums.
type cwPart struct {
	count, hits []int64
	sumP        []float64
}

// accumulate runs a filler on fixed blocks of rows: newFill returns, once
// per block, a function that writes the probabilities of row r into p and
// returns its label. Each block bins into its own partial sums, which are
// added into c in block order, and only if every row was good.
func (c *Classwise) accumulate(fn string, rows, threads int, newFill func() func(r int, p []float64) (int, *rowErr)) error {
	grain := max(1, (rows+cwBlocks-1)/cwBlocks)
	nb := par.Blocks(rows, grain)
	parts := make([]cwPart, nb)
	errs := make([]*rowErr, nb)
	edges := equalWidthEdges(c.bins)
	par.For(rows, grain, par.Threads(threads), func(b, lo, hi int) {
		pt := cwPart{make([]int64, len(c.count)), make([]int64, len(c.count)), make([]float64, len(c.count))}
		p := make([]float64, c.classes)
		fill := newFill()
		for r := lo; r < hi; r++ {
			y, e := fill(r, p)
			if e != nil {
				errs[b] = e
				return
			}
			for k, v := range p {
				i := k*c.bins + equalWidthBin(edges, v)
				pt.count[i]++
				pt.sumP[i] += v
				if k == y {
					pt.hits[i]++
				}
			}
		}
		parts[b] = pt
	})
	for _, e := range errs {
		if e != nil {
			return fmt.Errorf("metrics.%s: row %d: %s: %w", fn, e.row, e.msg, ErrValue)
		}
	}
	for _, pt := range parts {
		for i := range c.count {
			c.count[i] += pt.count[i]
			c.hits[i] += pt.hits[i]
			c.sumP[i] += pt.sumP[i]
		}
	}
	c.n += rows
	return nil
}

// equalWidthBin is binOf for the equal-width edges e_i = i/n, v in [0, 1],
// without a search.
func equalWidthBin(edges []float64, v float64) int {
	n := len(edges) - 1
	if v <= edges[1] {
		return 0
	}
	b := min(max(int(math.Ceil(v*float64(n)))-1, 0), n-1)
	if v <= edges[b] {
		b--
	} else if v > edges[b+1] {
		b++
	}
	return b
}

// AddClasswiseLogits adds a batch of logit rows (cols = the number of classes) with
// their labels; p = softmax(z) is computed with the vector kernels
// (relative error ≤ 1e-6 for float32).
func AddClasswiseLogits[T Float](c *Classwise, logits []T, labels []int32, opts ...Option) error {
	cfg, err := configure("AddClasswiseLogits", opts)
	if err != nil {
		return err
	}
	if _, err := checkShape("AddClasswiseLogits", len(logits), c.classes, labels, true); err != nil {
		return err
	}
	return addClasswiseLogits(c, logits, labels, cfg.threads)
}

// AddClasswiseProbs adds a batch of probability rows with their labels.
func AddClasswiseProbs[T Float](c *Classwise, probs []T, labels []int32, opts ...Option) error {
	cfg, err := configure("AddClasswiseProbs", opts)
	if err != nil {
		return err
	}
	if _, err := checkShape("AddClasswiseProbs", len(probs), c.classes, labels, true); err != nil {
		return err
	}
	return addClasswiseProbs(c, probs, labels, cfg.threads)
}

func addClasswiseLogits[E Float](c *Classwise, x []E, labels []int32, threads int) error {
	k := rowstat.For[E]()
	cols := c.classes
	return c.accumulate("AddClasswiseLogits", len(x)/cols, threads, func() func(int, []float64) (int, *rowErr) {
		e := make([]E, cols)
		return func(r int, p []float64) (int, *rowErr) {
			row := x[r*cols : (r+1)*cols]
			m, nan := k.MaxNaN(row)
			if nan || math.IsInf(float64(m), 0) {
				return 0, &rowErr{r, "logits contain NaN or ±Inf, or no finite logit"}
			}
			y := int(labels[r])
			if y < 0 || y >= cols {
				return 0, &rowErr{r, fmt.Sprintf("label %d outside [0, %d)", y, cols)}
			}
			inv := 1 / k.ExpStoreSum(e, row, m, 1)
			for j, v := range e {
				p[j] = float64(v) * inv
			}
			return y, nil
		}
	})
}

func addClasswiseProbs[E Float](c *Classwise, x []E, labels []int32, threads int) error {
	cols := c.classes
	return c.accumulate("AddClasswiseProbs", len(x)/cols, threads, func() func(int, []float64) (int, *rowErr) {
		return func(r int, p []float64) (int, *rowErr) {
			var sum float64
			for j, v := range x[r*cols : (r+1)*cols] {
				f := float64(v)
				if !(f >= 0 && f <= 1) {
					return 0, &rowErr{r, fmt.Sprintf("probability[%d] = %v outside [0, 1]", j, f)}
				}
				p[j] = f
				sum += f
			}
			if math.Abs(sum-1) > probSumTol {
				return 0, &rowErr{r, fmt.Sprintf("probabilities sum to %v, not 1", sum)}
			}
			y := int(labels[r])
			if y < 0 || y >= cols {
				return 0, &rowErr{r, fmt.Sprintf("label %d outside [0, %d)", y, cols)}
			}
			return y, nil
		}
	})
}
