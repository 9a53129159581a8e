package metrics

import (
	"cmp"
	"fmt"
	"github.com/xentlab/xent/internal/rowstat"
	"math"
	"math/big"
	"slices"

	"github.com/xentlab/xent/exact"
	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/wire"
)

// AccConfig says what an Accumulator computes. Accumulators merge only
// when their configurations are equal.
type AccConfig struct {
	// Cols is the number of classes (≥ 1).
	Cols int
	// TopK lists the k of accuracy@k (default 1 only); duplicates are
	// removed and the values sorted.
	TopK []int
	// Bins is the number of equal-width confidence bins kept for the
	// top-label calibration errors and reliability diagram (0: 15).
	Bins int
	// EqualMass keeps every example's confidence and correctness (8 bytes
	// an example), which equal-mass (adaptive) bins need: their edges are
	// quantiles of all the confidences. Without it memory does not grow
	// with the number of examples.
	EqualMass bool
	// Entropy and Margins add the statistics of the predictive entropy
	// and of the logit gap and label margin (see Report).
	Entropy, Margins bool
	// Confusion keeps the Cols × Cols confusion counts (label, first
	// maximal logit); at most 4096 classes.
	Confusion bool
}

// maxConfusionCols bounds the classes of a confusion matrix (128 MiB).
const maxConfusionCols = 4096

// DefaultBins is the number of calibration bins of an AccConfig with Bins 0.
const DefaultBins = 15

func (c AccConfig) normalize(fn string) (AccConfig, error) {
	c.TopK = slices.Clone(c.TopK)
	if len(c.TopK) == 0 {
		c.TopK = []int{1}
	}
	slices.Sort(c.TopK)
	c.TopK = slices.Compact(c.TopK)
	if c.Bins == 0 {
		c.Bins = DefaultBins
	}
	switch {
	case c.Cols < 1:
		return c, fmt.Errorf("metrics.%s: cols = %d, want ≥ 1: %w", fn, c.Cols, ErrShape)
	case c.TopK[0] < 1:
		return c, fmt.Errorf("metrics.%s: top-k with k = %d, want ≥ 1: %w", fn, c.TopK[0], ErrValue)
	case len(c.TopK) > 64:
		return c, fmt.Errorf("metrics.%s: %d values of k, want at most 64: %w", fn, len(c.TopK), ErrValue)
	case c.Bins < 1 || c.Bins > 1<<20:
		return c, fmt.Errorf("metrics.%s: %d calibration bins, want 1 to 2²⁰: %w", fn, c.Bins, ErrValue)
	case c.Margins && c.Cols < 2:
		return c, fmt.Errorf("metrics.%s: margins need at least 2 classes, have %d: %w", fn, c.Cols, ErrShape)
	case c.Confusion && c.Cols > maxConfusionCols:
		return c, fmt.Errorf("metrics.%s: a confusion matrix of %d classes, at most %d: %w", fn, c.Cols, maxConfusionCols, ErrShape)
	}
	return c, nil
}

func (c AccConfig) equal(d AccConfig) bool {
	return c.Cols == d.Cols && slices.Equal(c.TopK, d.TopK) && c.Bins == d.Bins && c.EqualMass == d.EqualMass &&
		c.Entropy == d.Entropy && c.Margins == d.Margins && c.Confusion == d.Confusion
}

// Accumulator is an evaluation state that merges exactly: batches of
// logits and labels go in with Add32 or Add64, states of disjoint parts of
// a data set combine with Merge, and MarshalBinary and UnmarshalBinary
// carry a state between processes and machines. Every sum is exact (an
// exact.Sum) and every other field a count, a minimum or a maximum, so
// the state — its Report and its binary form alike — is the same bits for
// any split of the examples into batches, shards and threads, merged in
// any order: it depends only on the multiset of the examples' per-row
// values.
//
// The per-row values are those of Evaluator (see Report): the label's
// rank, −log p_y, Σ_j (p_j − 1[j=y])², the top-label confidence, and on
// request the entropy, gap and margin, computed on the vector kernels of
// the package. Means are the exact sums divided by N, correctly rounded;
// standard deviations come from the exact Σx and Σx² (relative error a
// few ulp unless the deviation is below about 10⁻¹⁵ of the mean). So
// results can differ from Evaluator's, which adds in row order, in the
// last bits. Across machines the per-row values are the same bits on the
// same architecture and kernel tier.
//
// Memory does not depend on the number of examples unless EqualMass is
// set (8 bytes an example).
type Accumulator struct {
	cfg     AccConfig
	threads int
	n       int64
	hits    []int64
	nll     exact.Sum
	brier   exact.Sum
	ent     xmoments
	gap     xmoments
	marg    xmoments
	binN    []int64
	binConf []exact.Sum
	binHits []int64
	edges   []float64
	pairs   []float64 // EqualMass: the confidence, negated when the prediction is wrong
	conf    []int64   // Confusion: [label*Cols+predicted]

	out  rowOut
	pred []int32
}

// NewAccumulator returns an empty accumulator.
func NewAccumulator(cfg AccConfig) (*Accumulator, error) {
	cfg, err := cfg.normalize("NewAccumulator")
	if err != nil {
		return nil, err
	}
	return newAccumulator(cfg), nil
}

func newAccumulator(cfg AccConfig) *Accumulator {
	a := &Accumulator{
		cfg:     cfg,
		hits:    make([]int64, len(cfg.TopK)),
		binN:    make([]int64, cfg.Bins),
		binConf: make([]exact.Sum, cfg.Bins),
		binHits: make([]int64, cfg.Bins),
		edges:   equalWidthEdges(cfg.Bins),
	}
	if cfg.Confusion {
		a.conf = make([]int64, cfg.Cols*cfg.Cols)
	}
	return a
}

// Config returns the accumulator's configuration, normalized (TopK
// sorted, Bins set).
func (a *Accumulator) Config() AccConfig {
	c := a.cfg
	c.TopK = slices.Clone(c.TopK)
	return c
}

// SetThreads sets the goroutines Add uses (n ≤ 0: GOMAXPROCS, the
// default). Results do not depend on it.
func (a *Accumulator) SetThreads(n int) { a.threads = n }

// N returns the number of examples added.
func (a *Accumulator) N() int64 { return a.n }

// RowError is the error of Add for a bad row: a NaN or +Inf logit, a row
// with no finite logit, or a label out of range. Row is the row's index
// in the batch. It wraps ErrValue.
type RowError struct {
	Row int
	Msg string
}

func (e *RowError) Error() string { return fmt.Sprintf("row %d: %s", e.Row, e.Msg) }

// Unwrap returns ErrValue.
func (e *RowError) Unwrap() error { return ErrValue }

// Add32 adds a batch of float32 logits (rows × Cols, row-major) with one
// label per row. A batch with a bad row is rejected whole, with a
// *RowError naming its lowest bad row.
func (a *Accumulator) Add32(logits []float32, labels []int32) error {
	return accAdd(a, logits, labels)
}

// Add64 is Add32 for float64 logits.
func (a *Accumulator) Add64(logits []float64, labels []int32) error {
	return accAdd(a, logits, labels)
}

func accAdd[E Float](a *Accumulator, logits []E, labels []int32) error {
	cols := a.cfg.Cols
	rows, err := checkShape("Accumulator.Add", len(logits), cols, labels, true)
	if err != nil {
		return err
	}
	if rows == 0 {
		return nil
	}
	grow := func(s []float64) []float64 { return slices.Grow(s[:0], rows)[:rows] }
	o := &a.out
	o.conf, o.nll, o.brier = grow(o.conf), grow(o.nll), grow(o.brier)
	o.rank = slices.Grow(o.rank[:0], rows)[:rows]
	o.rankCap = a.cfg.TopK[len(a.cfg.TopK)-1]
	o.maxLog, o.lse = nil, nil
	if a.cfg.Entropy {
		o.entropy = grow(o.entropy)
	}
	if a.cfg.Margins {
		o.gap, o.margin = grow(o.gap), grow(o.margin)
	}
	if a.cfg.Confusion {
		a.pred = slices.Grow(a.pred[:0], rows)[:rows]
	}
	k := rowstat.For[E]()
	grain := rowGrain(cols)
	errs := make([]*rowErr, par.Blocks(rows, grain))
	par.For(rows, grain, par.Threads(a.threads), func(b, lo, hi int) {
		var buf []E
		if o.entropy != nil {
			buf = make([]E, cols)
		}
		for r := lo; r < hi; r++ {
			row := logits[r*cols : (r+1)*cols]
			if e := logitRow(k, row, r, labels, o, buf); e != nil {
				errs[b] = e
				return
			}
			if a.pred != nil {
				a.pred[r] = int32(argmaxAt(k, row, maxOf(k, row)))
			}
		}
	})
	for _, e := range errs {
		if e != nil {
			return &RowError{Row: e.row, Msg: e.msg}
		}
	}
	for r := 0; r < rows; r++ {
		rank := int(o.rank[r])
		for i, kk := range a.cfg.TopK {
			if rank < kk {
				a.hits[i]++
			}
		}
		a.nll.Add(o.nll[r])
		a.brier.Add(o.brier[r])
		c := o.conf[r]
		b := binOf(a.edges, c)
		a.binN[b]++
		a.binConf[b].Add(c)
		if rank == 0 {
			a.binHits[b]++
		}
		if a.cfg.EqualMass {
			if rank == 0 {
				a.pairs = append(a.pairs, c)
			} else {
				a.pairs = append(a.pairs, -c)
			}
		}
		if o.entropy != nil {
			a.ent.add(o.entropy[r])
		}
		if o.gap != nil {
			a.gap.add(o.gap[r])
			a.marg.add(o.margin[r])
		}
		if a.conf != nil {
			a.conf[int(labels[r])*cols+int(a.pred[r])]++
		}
	}
	a.n += int64(rows)
	return nil
}

// Merge adds the examples of o (not changed) to a. Their configurations
// must be equal (an error wrapping ErrShape otherwise).
func (a *Accumulator) Merge(o *Accumulator) error {
	if !a.cfg.equal(o.cfg) {
		return fmt.Errorf("metrics.Accumulator.Merge: configurations differ (%s vs %s): %w", a.cfg, o.cfg, ErrShape)
	}
	a.n += o.n
	for i := range a.hits {
		a.hits[i] += o.hits[i]
	}
	a.nll.Merge(&o.nll)
	a.brier.Merge(&o.brier)
	a.ent.merge(&o.ent)
	a.gap.merge(&o.gap)
	a.marg.merge(&o.marg)
	for b := range a.binN {
		a.binN[b] += o.binN[b]
		a.binConf[b].Merge(&o.binConf[b])
		a.binHits[b] += o.binHits[b]
	}
	a.pairs = append(a.pairs, o.pairs...)
	for i := range a.conf {
		a.conf[i] += o.conf[i]
	}
	return nil
}

// String describes the configuration in one line.
func (c AccConfig) String() string {
	return fmt.Sprintf("cols %d, top-k %v, %d bins, equal-mass %v, entropy %v, margins %v, confusion %v",
		c.Cols, c.TopK, c.Bins, c.EqualMass, c.Entropy, c.Margins, c.Confusion)
}

// quo returns s/n correctly rounded (±Inf or NaN when s holds them).
func quo(s *exact.Sum, n int64) float64 {
	if n == 0 {
		return 0
	}
	f, ok := s.Float(new(big.Float))
	if !ok {
		return s.Value()
	}
	q := new(big.Float).SetPrec(53).Quo(f, new(big.Float).SetInt64(n))
	v, _ := q.Float64()
	return v
}

// Report returns the evaluation of everything added so far, as Evaluator
// reports it (Classwise is nil; Calibration holds the examples, sorted,
// only with EqualMass). It fails if nothing was added.
func (a *Accumulator) Report() (Report, error) {
	if a.n == 0 {
		return Report{}, fmt.Errorf("metrics.Accumulator.Report: no examples added: %w", ErrEmpty)
	}
	r := Report{
		N:        int(a.n),
		TopK:     slices.Clone(a.cfg.TopK),
		Accuracy: make([]float64, len(a.hits)),
		NLL:      quo(&a.nll, a.n),
		Brier:    quo(&a.brier, a.n),
		Entropy:  a.ent.summary(),
		Gap:      a.gap.summary(),
		Margin:   a.marg.summary(),
	}
	for i, h := range a.hits {
		r.Accuracy[i] = float64(h) / float64(a.n)
	}
	if a.cfg.EqualMass {
		p := slices.Clone(a.pairs)
		slices.SortFunc(p, pairOrder)
		c := &Calibration{conf: make([]float64, len(p)), correct: make([]bool, len(p))}
		for i, v := range p {
			c.conf[i], c.correct[i] = math.Abs(v), v > 0
		}
		r.Calibration = c
	}
	return r, nil
}

// pairOrder sorts the signed confidences by confidence, wrong before right.
func pairOrder(x, y float64) int {
	if c := cmp.Compare(math.Abs(x), math.Abs(y)); c != 0 {
		return c
	}
	return cmp.Compare(x, y)
}

// Bins returns the equal-width reliability bins: for bin b, its interval,
// the number of examples whose confidence falls in it, their mean
// confidence (exact sum over the count, correctly rounded) and their
// accuracy. BinErrors turns them into ECE and MCE.
func (a *Accumulator) Bins() []Bin {
	out := make([]Bin, a.cfg.Bins)
	for b := range out {
		out[b] = Bin{Lo: a.edges[b], Hi: a.edges[b+1], Count: int(a.binN[b])}
		if a.binN[b] > 0 {
			out[b].Conf = quo(&a.binConf[b], a.binN[b])
			out[b].Acc = float64(a.binHits[b]) / float64(a.binN[b])
		}
	}
	return out
}

// Confusion returns the confusion counts, [label*Cols + predicted] with the
// prediction the first maximal logit, or nil without AccConfig.Confusion.
func (a *Accumulator) Confusion() []int64 { return slices.Clone(a.conf) }

// xmoments is the exact counterpart of moments: counts, exact Σx and Σx²
// of the finite values, and the extremes of all.
type xmoments struct {
	n, posInf, negInf int64
	sum, sq           exact.Sum
	min, max          float64
}

func (m *xmoments) count() int64 { return m.n + m.posInf + m.negInf }

func (m *xmoments) add(x float64) {
	if m.count() == 0 {
		m.min, m.max = x, x
	}
	m.min, m.max = math.Min(m.min, x), math.Max(m.max, x)
	switch {
	case math.IsInf(x, 1):
		m.posInf++
	case math.IsInf(x, -1):
		m.negInf++
	default:
		m.n++
		m.sum.Add(x)
		m.sq.AddProduct(x, x)
	}
}

func (m *xmoments) merge(o *xmoments) {
	if o.count() == 0 {
		return
	}
	if m.count() == 0 {
		m.min, m.max = o.min, o.max
	} else {
		m.min, m.max = math.Min(m.min, o.min), math.Max(m.max, o.max)
	}
	m.n += o.n
	m.posInf += o.posInf
	m.negInf += o.negInf
	m.sum.Merge(&o.sum)
	m.sq.Merge(&o.sq)
}

// summary computes the mean S/n and the deviation √((Q − S²/n)/n) from
// the exact S = Σx and Q = Σx², in big.Float arithmetic wide enough that
// only the division and the final roundings err.
func (m *xmoments) summary() Summary {
	s := Summary{N: int(m.count()), PosInf: int(m.posInf), NegInf: int(m.negInf)}
	if s.N == 0 {
		return s
	}
	s.Min, s.Max = m.min, m.max
	if m.n == 0 {
		return s
	}
	s.Mean = quo(&m.sum, m.n)
	S, okS := m.sum.Float(new(big.Float))
	Q, okQ := m.sq.Float(new(big.Float))
	if !okS || !okQ {
		s.Std = math.Inf(1) // Σx² overflowed: values beyond 1e154
		return s
	}
	const prec = 4600 // S² is exact at twice S's ~2200 bits
	n := new(big.Float).SetInt64(m.n)
	t := new(big.Float).SetPrec(prec).Mul(S, S)
	t.Quo(t, n)
	t.Sub(new(big.Float).SetPrec(prec).Set(Q), t)
	t.Quo(t, n)
	v, _ := t.Float64()
	s.Std = math.Sqrt(max(v, 0))
	return s
}

// The binary form: magic "XMAC", version 1.
const (
	accMagic   = "XMAC"
	accVersion = 1
)

// MarshalBinary returns the accumulator's binary form: versioned, with a
// CRC-32C checksum, and canonical — accumulators holding the same
// examples encode to the same bytes, whatever the order they came in.
func (a *Accumulator) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	c := a.cfg
	w.Int(c.Cols)
	w.Int(len(c.TopK))
	for _, k := range c.TopK {
		w.Int(k)
	}
	w.Int(c.Bins)
	w.Bool(c.EqualMass)
	w.Bool(c.Entropy)
	w.Bool(c.Margins)
	w.Bool(c.Confusion)
	w.Uvarint(uint64(a.n))
	for _, h := range a.hits {
		w.Uvarint(uint64(h))
	}
	w.Sum(&a.nll)
	w.Sum(&a.brier)
	for _, m := range []*xmoments{&a.ent, &a.gap, &a.marg} {
		w.Uvarint(uint64(m.n))
		w.Uvarint(uint64(m.posInf))
		w.Uvarint(uint64(m.negInf))
		w.Sum(&m.sum)
		w.Sum(&m.sq)
		w.Float64(m.min)
		w.Float64(m.max)
	}
	for b := range a.binN {
		w.Uvarint(uint64(a.binN[b]))
		w.Uvarint(uint64(a.binHits[b]))
		w.Sum(&a.binConf[b])
	}
	if c.EqualMass {
		p := slices.Clone(a.pairs)
		slices.SortFunc(p, pairOrder)
		for _, v := range p {
			w.Float64(v)
		}
	}
	for _, v := range a.conf {
		w.Uvarint(uint64(v))
	}
	return wire.Seal(accMagic, accVersion, w.B), nil
}

// UnmarshalBinary sets a from a binary form made by MarshalBinary. Data
// that is damaged (checksum), of another version, or inconsistent (counts
// that do not add up, a confidence outside (0, 1]) is an error wrapping
// ErrValue, and a is then unchanged.
func (a *Accumulator) UnmarshalBinary(data []byte) error {
	fail := func(err error) error {
		return fmt.Errorf("metrics.Accumulator.UnmarshalBinary: %w (%w)", err, ErrValue)
	}
	v, payload, err := wire.Open(accMagic, data)
	if err != nil {
		return fail(err)
	}
	if v != accVersion {
		return fail(fmt.Errorf("format version %d, this build reads version %d", v, accVersion))
	}
	r := wire.Reader{B: payload}
	var c AccConfig
	c.Cols = r.Int(math.MaxInt32, "cols")
	c.TopK = make([]int, r.Int(64, "number of k"))
	for i := range c.TopK {
		c.TopK[i] = r.Int(math.MaxInt32, "k")
	}
	c.Bins = r.Int(1<<20, "bins")
	c.EqualMass, c.Entropy, c.Margins, c.Confusion = r.Bool(), r.Bool(), r.Bool(), r.Bool()
	if err := r.Err(); err != nil {
		return fail(err)
	}
	norm, err := c.normalize("Accumulator.UnmarshalBinary")
	if err != nil || !slices.Equal(norm.TopK, c.TopK) || c.Bins == 0 {
		return fail(fmt.Errorf("bad configuration %s", c))
	}
	if c.Bins*5 > len(r.B) || c.Confusion && c.Cols*c.Cols > len(r.B) {
		return fail(fmt.Errorf("%d bins (confusion %v, %d classes) in %d bytes", c.Bins, c.Confusion, c.Cols, len(r.B)))
	}
	b := newAccumulator(norm)
	n := r.Uvarint()
	if n > math.MaxInt64/2 {
		r.Fail("%d examples", n)
	}
	b.n = int64(n)
	count := func(what string) int64 {
		v := r.Uvarint()
		if r.Err() == nil && v > n {
			r.Fail("%s %d exceeds the %d examples", what, v, n)
		}
		return int64(v)
	}
	for i := range b.hits {
		b.hits[i] = count("hits")
		if i > 0 && b.hits[i] < b.hits[i-1] {
			r.Fail("accuracy@k decreasing in k")
		}
	}
	r.Sum(&b.nll)
	r.Sum(&b.brier)
	for i, m := range []*xmoments{&b.ent, &b.gap, &b.marg} {
		m.n, m.posInf, m.negInf = count("finite values"), count("+Inf values"), count("-Inf values")
		r.Sum(&m.sum)
		r.Sum(&m.sq)
		m.min, m.max = r.Float64(), r.Float64()
		on := i == 0 && c.Entropy || i > 0 && c.Margins
		switch {
		case r.Err() != nil:
		case on && m.count() != b.n || !on && m.count() != 0:
			r.Fail("statistics of %d values for %d examples", m.count(), b.n)
		case m.count() > 0 && !(m.min <= m.max):
			r.Fail("minimum %v above maximum %v", m.min, m.max)
		}
	}
	var total, right int64
	for i := range b.binN {
		b.binN[i], b.binHits[i] = count("bin count"), count("bin hits")
		r.Sum(&b.binConf[i])
		if b.binHits[i] > b.binN[i] {
			r.Fail("bin %d: %d hits of %d examples", i, b.binHits[i], b.binN[i])
		}
		total += b.binN[i]
		right += b.binHits[i]
	}
	if r.Err() == nil && total != b.n {
		r.Fail("bins hold %d examples, want %d", total, b.n)
	}
	if r.Err() == nil && b.cfg.TopK[0] == 1 && right != b.hits[0] {
		r.Fail("%d correct examples in the bins, %d hits at k = 1", right, b.hits[0])
	}
	if c.EqualMass && r.Err() == nil {
		if n > uint64(len(r.B))/8 {
			r.Fail("%d confidences announced, %d bytes left", n, len(r.B))
		} else {
			b.pairs = make([]float64, n)
			var pos int64
			for i := range b.pairs {
				p := r.Float64()
				if !(math.Abs(p) > 0 && math.Abs(p) <= 1) {
					r.Fail("confidence %v outside (0, 1]", p)
					break
				}
				if p > 0 {
					pos++
				}
				b.pairs[i] = p
			}
			if r.Err() == nil && pos != right {
				r.Fail("%d correct examples kept, %d in the bins", pos, right)
			}
		}
	}
	if c.Confusion && r.Err() == nil {
		var sum int64
		for i := range b.conf {
			b.conf[i] = count("confusion count")
			sum += b.conf[i]
			if sum > b.n {
				r.Fail("confusion counts exceed the %d examples", b.n)
				break
			}
		}
		if r.Err() == nil && sum != b.n {
			r.Fail("confusion counts add to %d, want %d", sum, b.n)
		}
	}
	if err := r.Done(); err != nil {
		return fail(err)
	}
	b.threads = a.threads
	*a = *b
	return nil
}
