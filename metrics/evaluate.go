package metrics

import (
	"fmt"
	"math"
	"slices"

	"github.com/xentlab/xent/internal/rowstat"
)

// An Option changes what Evaluate and the other row-wise functions compute
// and how.
type Option func(*config)

type config struct {
	ks            []int
	entropy       bool
	margins       bool
	classwiseBins int
	threads       int
}

// TopK sets the k of the accuracy@k values reported (each k ≥ 1; default
// 1 only). Duplicates are removed and the values sorted.
func TopK(ks ...int) Option {
	return func(c *config) { c.ks = append([]int(nil), ks...) }
}

// WithEntropy adds the statistics of the per-row predictive entropy
// −Σ p log p (nats) to the report. It costs one more scalar pass over each
// row (about 1 ns an element).
func WithEntropy() Option { return func(c *config) { c.entropy = true } }

// WithMargins adds the statistics of the logit gap (top-1 minus top-2
// logit, ≥ 0) and of the label margin z_y − max_{j≠y} z_j (negative for a
// misclassified example) to the report (B24). Rows need at least 2
// classes.
func WithMargins() Option { return func(c *config) { c.margins = true } }

// ClasswiseBins makes the evaluator also accumulate class-wise calibration
// (Classwise) with n equal-width bins; it costs one scalar pass over every
// probability.
func ClasswiseBins(n int) Option { return func(c *config) { c.classwiseBins = n } }

// Threads sets the number of goroutines (n ≤ 0: GOMAXPROCS, the default).
// Results do not depend on it.
func Threads(n int) Option { return func(c *config) { c.threads = n } }

func configure(fn string, opts []Option) (config, error) {
	c := config{ks: []int{1}}
	for _, o := range opts {
		o(&c)
	}
	if len(c.ks) == 0 {
		c.ks = []int{1}
	}
	for _, k := range c.ks {
		if k < 1 {
			return c, fmt.Errorf("metrics.%s: top-k with k = %d, want ≥ 1: %w", fn, k, ErrValue)
		}
	}
	slices.Sort(c.ks)
	c.ks = slices.Compact(c.ks)
	if c.classwiseBins < 0 {
		return c, fmt.Errorf("metrics.%s: %d class-wise bins, want ≥ 1: %w", fn, c.classwiseBins, ErrValue)
	}
	return c, nil
}

// Report is the result of an evaluation over N examples.
//
//   - Accuracy[i] is the fraction of examples whose label is among the
//     TopK[i] highest logits. Ties rank the lower class index first (the
//     label counts as top-1 only if it is the first maximal logit), so
//     accuracy@k is never more than one would get from a stable sort.
//   - NLL is the mean of −log p_y = log Σ_j exp(z_j − max z) − (z_y − max z)
//     (a stable log-softmax in float64; +Inf if some p_y underflowed to 0
//     with a −Inf logit).
//   - Brier is the mean of Σ_j (p_j − 1[j=y])², computed as
//     Σ_j p_j² − 2p_y + 1 (absolute error ≤ 1e-6 per example for float32
//     logits).
//   - Entropy (with WithEntropy), Gap and Margin (with WithMargins) are
//     the statistics of the per-example entropy −Σ p log p, logit gap
//     top-1 − top-2 and label margin z_y − max_{j≠y} z_j; their N is 0
//     when not asked for. For probability input Gap and Margin are in
//     probability units.
//   - Calibration holds every example's top-label confidence and
//     correctness, for ECE and reliability diagrams.
//   - Classwise is the class-wise calibration accumulator (nil unless
//     ClasswiseBins was given).
type Report struct {
	N           int
	TopK        []int
	Accuracy    []float64
	NLL         float64
	Brier       float64
	Entropy     Summary
	Gap         Summary
	Margin      Summary
	Calibration *Calibration
	Classwise   *Classwise
}

// AccuracyAt returns the accuracy@k if k was asked for.
func (r *Report) AccuracyAt(k int) (float64, bool) {
	i := slices.Index(r.TopK, k)
	if i < 0 {
		return 0, false
	}
	return r.Accuracy[i], true
}

// Evaluator accumulates a Report over batches of logits (or
// probabilities) of a fixed number of classes. Batches are folded in the
// order they are added; a batch with bad input is rejected whole.
type Evaluator[T Float] struct {
	cols  int
	cfg   config
	n     int
	hits  []int64
	nll   ksum
	brier ksum
	ent   moments
	gap   moments
	marg  moments
	cal   Calibration
	cw    *Classwise
	out   rowOut
}

// NewEvaluator returns an evaluator for rows of cols classes.
func NewEvaluator[T Float](cols int, opts ...Option) (*Evaluator[T], error) {
	cfg, err := configure("NewEvaluator", opts)
	if err != nil {
		return nil, err
	}
	if cols <= 0 {
		return nil, fmt.Errorf("metrics.NewEvaluator: cols = %d, want ≥ 1: %w", cols, ErrShape)
	}
	if cfg.margins && cols < 2 {
		return nil, fmt.Errorf("metrics.NewEvaluator: margins need at least 2 classes, have %d: %w", cols, ErrShape)
	}
	e := &Evaluator[T]{cols: cols, cfg: cfg, hits: make([]int64, len(cfg.ks))}
	if cfg.classwiseBins > 0 {
		e.cw, err = NewClasswise(cols, cfg.classwiseBins)
		if err != nil {
			return nil, err
		}
	}
	return e, nil
}

// prepare sizes the per-row scratch for a batch of rows.
func (e *Evaluator[T]) prepare(rows int) *rowOut {
	grow := func(s []float64) []float64 { return slices.Grow(s[:0], rows)[:rows] }
	o := &e.out
	o.conf, o.nll, o.brier = grow(o.conf), grow(o.nll), grow(o.brier)
	o.rank = slices.Grow(o.rank[:0], rows)[:rows]
	o.rankCap = e.cfg.ks[len(e.cfg.ks)-1]
	if e.cfg.entropy {
		o.entropy = grow(o.entropy)
	}
	if e.cfg.margins {
		o.gap, o.margin = grow(o.gap), grow(o.margin)
	}
	return o
}

// Add evaluates a batch of logits (rows × cols, row-major) with one label
// per row.
func (e *Evaluator[T]) Add(logits []T, labels []int32) error {
	rows, err := checkShape("Evaluator.Add", len(logits), e.cols, labels, true)
	if err != nil {
		return err
	}
	o := e.prepare(rows)
	if err := logitPass("Evaluator.Add", logits, e.cols, labels, o, e.cfg.threads); err != nil {
		return err
	}
	if e.cw != nil {
		if err := addClasswiseLogits(e.cw, logits, labels, e.cfg.threads); err != nil {
			return err
		}
	}
	e.fold(rows)
	return nil
}

// AddProbs evaluates a batch of probability rows (each entry in [0, 1],
// each row summing to 1 within 1e-3) with one label per row. Ranks, gaps
// and margins are taken on the probabilities.
func (e *Evaluator[T]) AddProbs(probs []T, labels []int32) error {
	rows, err := checkShape("Evaluator.AddProbs", len(probs), e.cols, labels, true)
	if err != nil {
		return err
	}
	o := e.prepare(rows)
	if err := probPass("Evaluator.AddProbs", probs, e.cols, labels, o, e.cfg.threads); err != nil {
		return err
	}
	if e.cw != nil {
		if err := addClasswiseProbs(e.cw, probs, labels, e.cfg.threads); err != nil {
			return err
		}
	}
	e.fold(rows)
	return nil
}

// fold adds the per-row results of the last batch in row order.
func (e *Evaluator[T]) fold(rows int) {
	o := &e.out
	for r := 0; r < rows; r++ {
		rank := o.rank[r]
		for i, k := range e.cfg.ks {
			if rank < k {
				e.hits[i]++
			}
		}
		e.nll.add(o.nll[r])
		e.brier.add(o.brier[r])
		if o.entropy != nil {
			e.ent.add(o.entropy[r])
		}
		if o.gap != nil {
			e.gap.add(o.gap[r])
			e.marg.add(o.margin[r])
		}
		e.cal.conf = append(e.cal.conf, o.conf[r])
		e.cal.correct = append(e.cal.correct, rank == 0)
	}
	e.n += rows
}

// Report returns the evaluation of everything added so far. It fails if
// nothing was added.
func (e *Evaluator[T]) Report() (Report, error) {
	if e.n == 0 {
		return Report{}, fmt.Errorf("metrics.Evaluator.Report: no examples added: %w", ErrEmpty)
	}
	n := float64(e.n)
	r := Report{
		N:        e.n,
		TopK:     slices.Clone(e.cfg.ks),
		Accuracy: make([]float64, len(e.hits)),
		NLL:      e.nll.value() / n,
		Brier:    e.brier.value() / n,
		Entropy:  e.ent.summary(),
		Gap:      e.gap.summary(),
		Margin:   e.marg.summary(),
		Calibration: &Calibration{
			conf:    slices.Clone(e.cal.conf),
			correct: slices.Clone(e.cal.correct),
		},
	}
	for i, h := range e.hits {
		r.Accuracy[i] = float64(h) / n
	}
	if e.cw != nil {
		r.Classwise = e.cw.clone()
	}
	return r, nil
}

// Evaluate computes a Report for one matrix of logits (len(logits)/cols
// rows) and its labels.
func Evaluate[T Float](logits []T, cols int, labels []int32, opts ...Option) (Report, error) {
	e, err := NewEvaluator[T](cols, opts...)
	if err != nil {
		return Report{}, err
	}
	if err := e.Add(logits, labels); err != nil {
		return Report{}, err
	}
	return e.Report()
}

// Accuracy returns the top-k accuracy of a logit matrix: the fraction of
// rows whose label is among the k highest logits (ties rank the lower
// index first).
func Accuracy[T Float](logits []T, cols int, labels []int32, k int, opts ...Option) (float64, error) {
	cfg, err := configure("Accuracy", append(opts, TopK(k)))
	if err != nil {
		return 0, err
	}
	rows, err := checkShape("Accuracy", len(logits), cols, labels, true)
	if err != nil {
		return 0, err
	}
	if rows == 0 {
		return 0, fmt.Errorf("metrics.Accuracy: no rows: %w", ErrEmpty)
	}
	out := rowOut{rank: make([]int, rows), rankCap: k}
	if err := logitPass("Accuracy", logits, cols, labels, &out, cfg.threads); err != nil {
		return 0, err
	}
	hits := 0
	for _, r := range out.rank {
		if r < k {
			hits++
		}
	}
	return float64(hits) / float64(rows), nil
}

// probPass is logitPass for probability rows.
func probPass[E Float](fn string, p []E, cols int, labels []int32, out *rowOut, threads int) error {
	k := rowstat.For[E]()
	return rowPass(fn, p, cols, threads, false, func(row []E, r int, _ []E) *rowErr {
		return probRow(k, row, r, labels, out)
	})
}

// probSumTol is how far a probability row may sum from 1.
const probSumTol = 1e-3

func probRow[E Float](k *rowstat.Kernels[E], row []E, r int, labels []int32, out *rowOut) *rowErr {
	var sum, sq, ent float64
	for j, v := range row {
		f := float64(v)
		if !(f >= 0 && f <= 1) {
			return &rowErr{r, fmt.Sprintf("probability[%d] = %v outside [0, 1]", j, f)}
		}
		sum += f
		sq += f * f
		if f > 0 {
			ent -= f * math.Log(f)
		}
	}
	if math.Abs(sum-1) > probSumTol {
		return &rowErr{r, fmt.Sprintf("probabilities sum to %v, not 1", sum)}
	}
	y := int(labels[r])
	if y < 0 || y >= len(row) {
		return &rowErr{r, fmt.Sprintf("label %d outside [0, %d)", labels[r], len(row))}
	}
	m, _ := k.MaxNaN(row)
	py := float64(row[y])
	if out.conf != nil {
		out.conf[r] = float64(m)
	}
	if out.nll != nil {
		out.nll[r] = -math.Log(py)
	}
	if out.brier != nil {
		out.brier[r] = max(sq-2*py+1, 0)
	}
	if out.entropy != nil {
		out.entropy[r] = max(ent, 0)
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

// Validate checks a logit matrix the way every function of this package
// does: cols ≥ 1 dividing len(logits), no NaN or +Inf logit, at least one
// finite logit per row and, when labels is not nil, one label per row in
// [0, cols). It reads each logit once.
func Validate[T Float](logits []T, cols int, labels []int32, opts ...Option) error {
	cfg, err := configure("Validate", opts)
	if err != nil {
		return err
	}
	if _, err := checkShape("Validate", len(logits), cols, labels, labels != nil); err != nil {
		return err
	}
	return logitPass("Validate", logits, cols, labels, &rowOut{}, cfg.threads)
}
