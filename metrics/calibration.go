package metrics

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Calibration accumulates top-label calibration data: for every example the
// confidence c (the predicted class's probability) and whether the
// prediction was correct. It keeps the pairs (9 bytes an example), so any
// binning can be asked for afterwards. The zero value is an empty
// accumulator ready to use.
type Calibration struct {
	conf    []float64
	correct []bool
}

// Add records one example. conf must be in [0, 1].
func (c *Calibration) Add(conf float64, correct bool) error {
	if !(conf >= 0 && conf <= 1) {
		return fmt.Errorf("metrics.Calibration.Add: confidence %v outside [0, 1]: %w", conf, ErrValue)
	}
	c.conf = append(c.conf, conf)
	c.correct = append(c.correct, correct)
	return nil
}

// AddBatch records len(conf) examples; nothing is recorded if any
// confidence is outside [0, 1] or the lengths differ.
func (c *Calibration) AddBatch(conf []float64, correct []bool) error {
	if len(conf) != len(correct) {
		return fmt.Errorf("metrics.Calibration.AddBatch: %d confidences, %d correctness flags: %w", len(conf), len(correct), ErrShape)
	}
	for i, v := range conf {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("metrics.Calibration.AddBatch: confidence[%d] = %v outside [0, 1]: %w", i, v, ErrValue)
		}
	}
	c.conf = append(c.conf, conf...)
	c.correct = append(c.correct, correct...)
	return nil
}

// Merge appends the examples of o.
func (c *Calibration) Merge(o *Calibration) {
	c.conf = append(c.conf, o.conf...)
	c.correct = append(c.correct, o.correct...)
}

// Len is the number of examples recorded.
func (c *Calibration) Len() int { return len(c.conf) }

// Accuracy is the fraction of correct predictions (0 when empty).
func (c *Calibration) Accuracy() float64 {
	if len(c.correct) == 0 {
		return 0
	}
	n := 0
	for _, ok := range c.correct {
		if ok {
			n++
		}
	}
	return float64(n) / float64(len(c.correct))
}

// Binning selects how confidences are grouped into bins.
type Binning int

const (
	// EqualWidth cuts [0, 1] into n intervals of width 1/n:
	// [0, 1/n], (1/n, 2/n], …, ((n−1)/n, 1] — upper edges included, as in
	// Guo et al. (2017)'s ECE, with 0 in the first bin. The edge i/n is
	// the float64 nearest to it, and a confidence is compared with the
	// edges themselves, so values on an edge land in the lower bin.
	EqualWidth Binning = iota
	// EqualMass (adaptive binning) sorts the confidences, cuts them into n
	// runs of ⌊N/n⌋ or ⌈N/n⌉ (the longer runs first), and puts each bin
	// edge midway between the last value of one run and the first of the
	// next; examples are then assigned by value to (lo, hi] intervals, so
	// equal confidences always share a bin, and runs whose edge would
	// coincide are merged (fewer than n bins when many values tie). This
	// is the binning of Kumar et al. (2019), with the runs of
	// numpy.array_split.
	EqualMass
)

// String names the binning: "equal-width" or "equal-mass".
func (b Binning) String() string {
	switch b {
	case EqualWidth:
		return "equal-width"
	case EqualMass:
		return "equal-mass"
	}
	return fmt.Sprintf("Binning(%d)", int(b))
}

// A Bin is one bin of a reliability diagram: the interval (Lo, Hi] of
// confidences (the first bin includes Lo), the number of examples in it,
// their mean confidence and their accuracy (fraction correct). Conf and
// Acc are 0 for an empty bin.
type Bin struct {
	Lo, Hi    float64
	Count     int
	Conf, Acc float64
}

// Bins groups the recorded examples into n bins (n ≥ 1) by scheme: the
// data of a reliability diagram. Equal-width bins are all returned, empty
// ones included; an equal-mass bin left empty because tied values went to
// the bin below is merged into its neighbour, so none is empty.
func (c *Calibration) Bins(n int, scheme Binning) ([]Bin, error) {
	if n < 1 {
		return nil, fmt.Errorf("metrics.Calibration.Bins: %d bins, want ≥ 1: %w", n, ErrValue)
	}
	if len(c.conf) == 0 {
		return nil, fmt.Errorf("metrics.Calibration.Bins: no examples recorded: %w", ErrEmpty)
	}
	var edges []float64
	switch scheme {
	case EqualWidth:
		edges = equalWidthEdges(n)
	case EqualMass:
		edges = equalMassEdges(c.conf, n)
	default:
		return nil, fmt.Errorf("metrics.Calibration.Bins: unknown binning %d: %w", int(scheme), ErrValue)
	}
	bins := make([]Bin, len(edges)-1)
	conf := make([]ksum, len(bins))
	for i := range bins {
		bins[i].Lo, bins[i].Hi = edges[i], edges[i+1]
	}
	hits := make([]int, len(bins))
	for i, v := range c.conf {
		b := binOf(edges, v)
		bins[b].Count++
		conf[b].add(v)
		if c.correct[i] {
			hits[b]++
		}
	}
	for i := range bins {
		if bins[i].Count > 0 {
			bins[i].Conf = conf[i].value() / float64(bins[i].Count)
			bins[i].Acc = float64(hits[i]) / float64(bins[i].Count)
		}
	}
	if scheme == EqualMass {
		bins = dropEmpty(bins)
	}
	return bins, nil
}

// dropEmpty merges every empty bin's interval into the next non-empty bin
// (the last ones into the previous), so the bins still cover [0, 1].
func dropEmpty(bins []Bin) []Bin {
	lo, hi := bins[0].Lo, bins[len(bins)-1].Hi
	out := bins[:0]
	for _, b := range bins {
		if b.Count == 0 {
			continue
		}
		b.Lo = lo
		lo = b.Hi
		out = append(out, b)
	}
	out[len(out)-1].Hi = hi
	return out
}

// equalWidthEdges returns 0, 1/n, …, 1.
func equalWidthEdges(n int) []float64 {
	e := make([]float64, n+1)
	for i := range e {
		e[i] = float64(i) / float64(n)
	}
	return e
}

// equalMassEdges returns the edges described at EqualMass.
func equalMassEdges(conf []float64, n int) []float64 {
	s := slices.Clone(conf)
	slices.Sort(s)
	n = min(n, len(s))
	edges := []float64{0}
	q, r := len(s)/n, len(s)%n
	end := 0
	for i := 0; i < n-1; i++ {
		end += q
		if i < r {
			end++
		}
		e := (s[end-1] + s[end]) / 2
		if e > edges[len(edges)-1] && e < 1 {
			edges = append(edges, e)
		}
	}
	return append(edges, 1)
}

// binOf returns the bin of v for edges e_0 < e_1 < … < e_n: the i with
// e_i < v ≤ e_{i+1}, or 0 for v ≤ e_1.
func binOf(edges []float64, v float64) int {
	i := sort.SearchFloat64s(edges[1:], v) // first edge ≥ v
	return min(i, len(edges)-2)
}

// Errors are the calibration errors of one binning, with B the bins, N the
// number of examples, n_b the count, c_b the mean confidence and a_b the
// accuracy of bin b:
//
//	ECE = Σ_b (n_b/N)·|a_b − c_b|
//	MCE = max_b over non-empty bins of |a_b − c_b|
//	L2  = √(Σ_b (n_b/N)·(a_b − c_b)²)                      (plug-in ℓ2 error)
//	DebiasedL2Sq = Σ_b (n_b/N)·[(a_b − c_b)² − a_b(1 − a_b)/(n_b − 1)]
//	DebiasedL2   = √max(DebiasedL2Sq, 0)
//
// DebiasedL2Sq is the debiased estimator of the squared ℓ2 calibration
// error of Kumar, Liang & Ma (2019), "Verified Uncertainty Calibration",
// NeurIPS (their unbiased_square_ce; Bröcker 2012, Ferro & Fricker 2012):
// a_b(1 − a_b)/(n_b − 1) is the unbiased estimate of the variance of a_b,
// which inflates the plug-in (a_b − c_b)² in expectation; bins with fewer
// than 2 examples contribute 0. It can be negative when the model is
// nearly calibrated; DebiasedL2 clips it at 0 before the square root, as
// their unbiased_l2_ce does. Sums are in float64 over per-bin means, so
// the relative error is a few ulp per bin.
type Errors struct {
	ECE, MCE, L2             float64
	DebiasedL2Sq, DebiasedL2 float64
	Bins                     int // number of bins used
}

// BinErrors computes the calibration errors of a binning (see Errors).
// It returns the zero Errors for bins holding no example.
func BinErrors(bins []Bin) Errors {
	total := 0
	for _, b := range bins {
		total += b.Count
	}
	e := Errors{Bins: len(bins)}
	if total == 0 {
		return e
	}
	var ece, l2, deb ksum
	for _, b := range bins {
		if b.Count == 0 {
			continue
		}
		w := float64(b.Count) / float64(total)
		d := b.Acc - b.Conf
		ece.add(w * math.Abs(d))
		l2.add(w * d * d)
		if b.Count >= 2 {
			deb.add(w * (d*d - b.Acc*(1-b.Acc)/float64(b.Count-1)))
		}
		e.MCE = max(e.MCE, math.Abs(d))
	}
	e.ECE = ece.value()
	e.L2 = math.Sqrt(max(l2.value(), 0))
	e.DebiasedL2Sq = deb.value()
	e.DebiasedL2 = math.Sqrt(max(e.DebiasedL2Sq, 0))
	return e
}

// Errors bins the recorded examples (see Bins) and returns their
// calibration errors.
func (c *Calibration) Errors(n int, scheme Binning) (Errors, error) {
	bins, err := c.Bins(n, scheme)
	if err != nil {
		return Errors{}, err
	}
	return BinErrors(bins), nil
}

// ECE is the expected calibration error with n equal-width bins (Guo et
// al. 2017): Σ_b (n_b/N)|a_b − c_b|. Use Errors for the other estimators
// and EqualMass bins.
func (c *Calibration) ECE(n int) (float64, error) {
	e, err := c.Errors(n, EqualWidth)
	return e.ECE, err
}

// TopLabel computes the top-label confidence (the largest softmax
// probability, 1/Σ_j exp(z_j − max z)) and correctness (the first maximal
// logit is the label) of every row of a logit matrix and returns them as
// a Calibration. Confidence has relative error ≤ 1e-6 for float32 logits.
func TopLabel[T Float](logits []T, cols int, labels []int32, opts ...Option) (*Calibration, error) {
	cfg, err := configure("TopLabel", opts)
	if err != nil {
		return nil, err
	}
	rows, err := checkShape("TopLabel", len(logits), cols, labels, true)
	if err != nil {
		return nil, err
	}
	out := rowOut{conf: make([]float64, rows), rank: make([]int, rows), rankCap: 1}
	if err := logitPass("TopLabel", logits, cols, labels, &out, cfg.threads); err != nil {
		return nil, err
	}
	c := &Calibration{conf: out.conf, correct: make([]bool, rows)}
	for i, r := range out.rank {
		c.correct[i] = r == 0
	}
	return c, nil
}
