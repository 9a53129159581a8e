// Package evalacc evaluates a loss and the classification metrics over a
// data set of any size, a block of rows at a time, into a Partial: an
// evaluation state that merges exactly. Shards of a data set evaluated
// apart — in several processes, on several machines, by an Apache Beam
// pipeline — and merged in any order give the same bits as one pass over
// the whole, whatever the block size and the thread count.
//
// # What is exact
//
// A loss is evaluated row by row with the package loss (reduction none,
// in the precision of the logits: float32 for float16, bfloat16 and
// float32 files, float64 for float64 files), and the per-row values —
// rounded to that precision, as a program working in it would see them —
// are added in an exact.Sum, as are the per-row weights of the mean's
// denominator. The reported mean is the exact sum over the exact weight,
// correctly rounded: it differs from the single-call loss value, which
// adds float64 row values in blocks, by at most about 2⁻²⁴ relatively
// for float32 input. The metrics are those of metrics.Accumulator, which
// is exact in the same way.
//
// Only losses whose rows are independent can be split: NewEvaluator
// checks this on a probe and refuses the others (sequence, bag and
// batch-level losses), which must be evaluated whole.
package evalacc

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/xentlab/xent/loss"
	"github.com/xentlab/xent/metrics"
)

// Targets says which target input the loss reads besides the logits.
type Targets int

// The kinds of target.
const (
	NoTargets     Targets = iota // the loss reads a teacher only
	Labels                       // integer class labels, one per row
	SoftTargets                  // float targets of the logits' shape
	ScalarTargets                // one float target per row
)

func (t Targets) String() string {
	switch t {
	case NoTargets:
		return "none"
	case Labels:
		return "labels"
	case SoftTargets:
		return "float targets [rows, cols]"
	case ScalarTargets:
		return "float targets [rows]"
	}
	return fmt.Sprintf("Targets(%d)", int(t))
}

// Config identifies an evaluation. Partials merge only when their
// configurations are equal, so every setting that changes a number is in
// it. The fields are exported so that a Config travels as JSON (Beam
// serializes a pipeline's functions that way).
type Config struct {
	// Loss is the loss as loss.Parse reads it; NewEvaluator stores its
	// canonical form (every parameter, sorted, defaults filled in).
	Loss string
	// Reduction is loss.Mean or loss.Sum.
	Reduction loss.Reduction
	// The loss options, as the loss package defines them.
	IgnoreIndex                    int64
	LabelSmoothing, ZLoss, SoftCap float64
	ClassWeights, PosWeight        []float64
	// Cols is the number of columns of the logits.
	Cols int
	// Wide: the logits are float64 and evaluated in float64; otherwise in
	// float32.
	Wide bool
	// Targets and Teacher say which other inputs there are.
	Targets Targets
	Teacher bool
	// Metrics, when set, adds the classification metrics (labels only;
	// not for losses whose logits are not class scores).
	Metrics *metrics.AccConfig
}

// DefaultConfig returns a configuration for the loss spec (e.g.
// "cross-entropy" or "kd:temperature=4") with the loss package's
// defaults (mean, ignore index −100) and no columns set.
func DefaultConfig(spec string) Config {
	return Config{Loss: spec, Reduction: loss.Mean, IgnoreIndex: -100}
}

// EvalMetrics returns the metrics configuration xent eval reports:
// accuracy@1 and @5 (or @cols when fewer), 15 equal-width bins and the
// equal-mass bins of the adaptive ECE.
func EvalMetrics(cols int) *metrics.AccConfig {
	return &metrics.AccConfig{Cols: cols, TopK: []int{1, min(5, cols)}, Bins: 15, EqualMass: true}
}

func (c *Config) options(threads int) []loss.Option {
	opts := []loss.Option{loss.WithReduction(loss.None), loss.WithThreads(threads), loss.WithIgnoreIndex(c.IgnoreIndex)}
	if c.ClassWeights != nil {
		opts = append(opts, loss.WithClassWeights(c.ClassWeights))
	}
	return opts
}

// build makes the configuration's loss: the spec parsed with the shared
// options (and extra, applied last), then cross-entropy's own options
// (label smoothing, z-loss, soft-capping) or BCE's (pos-weight) when set.
func (c *Config) build(threads int, extra ...loss.Option) (loss.Loss, loss.Spec, error) {
	ce := loss.CrossEntropySettings(c.LabelSmoothing, c.ZLoss, c.SoftCap)
	return loss.ParseWith(c.Loss, append(c.options(threads), extra...), ce, c.PosWeight)
}

// Canonical returns spec with every parameter of the loss written out,
// sorted by name, in Go's shortest float form: equal losses get equal
// strings.
func Canonical(spec string) (string, loss.Spec, error) {
	name, rest, _ := strings.Cut(spec, ":")
	name = strings.TrimSpace(name)
	s, ok := loss.Lookup(name)
	if !ok {
		_, _, err := loss.Parse(spec) // its error lists the losses
		return "", s, err
	}
	p := map[string]float64{}
	for _, prm := range s.Params {
		p[prm.Name] = prm.Default
	}
	if strings.TrimSpace(rest) != "" {
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			k = strings.TrimSpace(k)
			if _, known := p[k]; !known {
				_, _, err := loss.Parse(spec)
				return "", s, err
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				_, _, err := loss.Parse(spec)
				return "", s, err
			}
			p[k] = f
		}
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := name
	for i, k := range keys {
		sep := ","
		if i == 0 {
			sep = ":"
		}
		out += sep + k + "=" + strconv.FormatFloat(p[k], 'g', -1, 64)
	}
	return out, s, nil
}

// notSplittable lists the registered losses whose value is not a sum of
// independent row terms: sequence and bag losses, batch-level aggregates.
var notSplittable = map[string]bool{
	"ctc": true, "bag": true, "eisl": true, "ensloss": true, "dro": true, "mft": true,
	"flat": true, "flat-js": true, "flat-kl": true, "flat-pearson": true,
}

// ErrNotSplittable is wrapped by the error of NewEvaluator for a loss
// whose rows cannot be evaluated apart.
var ErrNotSplittable = errors.New("the loss is not a sum of independent rows")

// norm is the kind of the mean's denominator: what a row contributes.
type norm int

const (
	normClassWeight norm = iota // w_y for a counted (not ignored) row, 0 for an ignored one
	normCounted                 // 1 for a counted row
	normRow                     // 1 for every row
	normElement                 // cols for every row
)

// weightOf returns the denominator's weight of the rows of a block.
func (n norm) weightOf(cfg *Config, rows int, labels []int64) float64 {
	switch n {
	case normRow:
		return float64(rows)
	case normElement:
		return float64(rows) * float64(cfg.Cols)
	}
	var w float64
	for _, y := range labels {
		if y == cfg.IgnoreIndex {
			continue
		}
		switch {
		case n == normCounted || cfg.ClassWeights == nil:
			w++
		case y >= 0 && y < int64(len(cfg.ClassWeights)):
			w += cfg.ClassWeights[y]
		}
	}
	return w
}

// probe evaluates the loss on a small synthetic batch to check that its
// rows are independent (the rows of two halves are the rows of the whole,
// bit for bit, and add up to the sum) and to find the denominator of its
// mean among the kinds above.
func probe(cfg *Config, spec loss.Spec) (norm, error) {
	const rows = 4
	cols := cfg.Cols
	binary := spec.Needs&loss.NeedsTargets != 0 // elementwise losses of 0/1 targets
	rng := rand.New(rand.NewPCG(0x9e3779b9, uint64(cols)))
	in := loss.Input[float64]{Logits: make([]float64, rows*cols), Cols: cols}
	for i := range in.Logits {
		in.Logits[i] = rng.NormFloat64()
	}
	var labels []int64
	switch cfg.Targets {
	case Labels:
		labels = probeLabels(cfg)
		in.Labels64 = labels
	case SoftTargets:
		in.Targets = make([]float64, rows*cols)
		for r := 0; r < rows; r++ {
			var s float64
			for j := 0; j < cols; j++ {
				v := 0.1 + rng.Float64()
				if binary {
					v = float64((r + j) % 2)
				}
				in.Targets[r*cols+j] = v
				s += v
			}
			for j := 0; j < cols && !binary; j++ {
				in.Targets[r*cols+j] /= s
			}
		}
	case ScalarTargets:
		in.Targets = make([]float64, rows)
		for i := range in.Targets {
			in.Targets[i] = 0.1 + 0.8*rng.Float64()
		}
	}
	if cfg.Teacher {
		in.Teacher = make([]float64, rows*cols)
		for i := range in.Teacher {
			in.Teacher[i] = rng.NormFloat64()
		}
	}
	eval := func(red loss.Reduction, lo, hi int) (float64, []float64, error) {
		ll, _, err := cfg.build(1, loss.WithReduction(red))
		if err != nil {
			return 0, nil, err
		}
		part := in
		part.Logits = in.Logits[lo*cols : hi*cols]
		if in.Labels64 != nil {
			part.Labels64 = in.Labels64[lo:hi]
		}
		switch cfg.Targets {
		case SoftTargets:
			part.Targets = in.Targets[lo*cols : hi*cols]
		case ScalarTargets:
			part.Targets = in.Targets[lo:hi]
		}
		if in.Teacher != nil {
			part.Teacher = in.Teacher[lo*cols : hi*cols]
		}
		out := loss.Output[float64]{Rows: make([]float64, hi-lo)}
		v, err := ll.Eval64(part, out)
		return v, out.Rows, err
	}
	fail := func(why string) (norm, error) {
		return 0, fmt.Errorf("evalacc: loss %s: %s: %w", cfg.Loss, why, ErrNotSplittable)
	}
	sum, whole, err := eval(loss.None, 0, rows)
	if err != nil {
		return fail(fmt.Sprintf("evaluating it row by row failed (%v)", err))
	}
	_, a, errA := eval(loss.None, 0, 2)
	_, b, errB := eval(loss.None, 2, rows)
	if errA != nil || errB != nil || !slices.Equal(append(a, b...), whole) {
		return fail("the rows of a part differ from the rows of the whole")
	}
	var rs float64
	for _, v := range whole {
		rs += v
	}
	if !(math.Abs(rs-sum) <= 1e-12*math.Abs(sum)) || sum == 0 || math.IsInf(sum, 0) || math.IsNaN(sum) {
		return fail("its value is not the sum of its rows")
	}
	mean, _, err := eval(loss.Mean, 0, rows)
	if err != nil || mean == 0 {
		return fail(fmt.Sprintf("its mean cannot be evaluated (%v)", err))
	}
	den := sum / mean
	for _, n := range []norm{normClassWeight, normCounted, normRow, normElement} {
		if n <= normCounted && cfg.Targets != Labels {
			continue
		}
		if w := n.weightOf(cfg, rows, labels); math.Abs(w-den) <= 1e-9*w {
			return n, nil
		}
	}
	return fail(fmt.Sprintf("its mean divides by %v, which is neither the counted weight, the rows nor the elements", den))
}

// probeLabels picks labels for the probe, one ignored, so that the four
// denominators differ when they can: Σ w_y over the counted rows, their
// count, the rows and the elements.
func probeLabels(cfg *Config) []int64 {
	cols := cfg.Cols
	best := []int64{0, cfg.IgnoreIndex, int64(min(1, cols-1)), 0}
	if cfg.ClassWeights == nil {
		return best
	}
	for a := 0; a < min(cols, 16); a++ {
		for b := 0; b < min(cols, 16); b++ {
			w := 2*cfg.ClassWeights[a] + cfg.ClassWeights[b]
			if w != 3 && w != 4 && w != 4*float64(cols) {
				return []int64{int64(a), cfg.IgnoreIndex, int64(b), int64(a)}
			}
		}
	}
	return best
}
