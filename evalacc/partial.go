package evalacc

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"

	"github.com/xentlab/xent/exact"
	"github.com/xentlab/xent/internal/wire"
	"github.com/xentlab/xent/loss"
	"github.com/xentlab/xent/metrics"
)

// Partial is the mergeable state of an evaluation: the rows seen, the
// exact sum of the per-row losses and of their weights in the mean, and
// the metrics accumulator. Its binary form is versioned, checksummed and
// canonical (the same examples give the same bytes, in any order).
type Partial struct {
	cfg    Config
	rows   int64
	sum    exact.Sum
	weight exact.Sum
	acc    *metrics.Accumulator
}

func newPartial(cfg Config) (*Partial, error) {
	p := &Partial{cfg: cfg}
	if cfg.Metrics != nil {
		a, err := metrics.NewAccumulator(*cfg.Metrics)
		if err != nil {
			return nil, err
		}
		p.acc = a
		p.cfg.Metrics = ptr(a.Config())
	}
	return p, nil
}

func ptr[T any](v T) *T { return &v }

// Config returns the configuration of the evaluation.
func (p *Partial) Config() Config { return cloneConfig(p.cfg) }

func cloneConfig(c Config) Config {
	c.ClassWeights = slices.Clone(c.ClassWeights)
	c.PosWeight = slices.Clone(c.PosWeight)
	if c.Metrics != nil {
		m := *c.Metrics
		m.TopK = slices.Clone(m.TopK)
		c.Metrics = &m
	}
	return c
}

// Rows returns the number of rows evaluated.
func (p *Partial) Rows() int64 { return p.rows }

// Weight returns the total weight of the rows the loss counted (rows with
// the ignore index count 0): the divisor of the mean.
func (p *Partial) Weight() float64 { return p.weight.Value() }

// ErrMismatch is wrapped by the error of merging partials of different
// evaluations.
var ErrMismatch = errors.New("partials of different evaluations")

// diff names the first setting in which two configurations differ, or
// returns "".
func diff(a, b *Config) string {
	f := func(x float64) string { return fmt.Sprint(x) }
	switch {
	case a.Loss != b.Loss:
		return "loss " + a.Loss + " vs " + b.Loss
	case a.Reduction != b.Reduction:
		return "reduction " + a.Reduction.String() + " vs " + b.Reduction.String()
	case a.Cols != b.Cols:
		return fmt.Sprintf("%d vs %d columns", a.Cols, b.Cols)
	case a.IgnoreIndex != b.IgnoreIndex:
		return fmt.Sprintf("ignore index %d vs %d", a.IgnoreIndex, b.IgnoreIndex)
	case math.Float64bits(a.LabelSmoothing) != math.Float64bits(b.LabelSmoothing):
		return "label smoothing " + f(a.LabelSmoothing) + " vs " + f(b.LabelSmoothing)
	case math.Float64bits(a.ZLoss) != math.Float64bits(b.ZLoss):
		return "z-loss " + f(a.ZLoss) + " vs " + f(b.ZLoss)
	case math.Float64bits(a.SoftCap) != math.Float64bits(b.SoftCap):
		return "soft cap " + f(a.SoftCap) + " vs " + f(b.SoftCap)
	case !sameFloats(a.ClassWeights, b.ClassWeights):
		return "class weights differ"
	case !sameFloats(a.PosWeight, b.PosWeight):
		return "positive-class weights differ"
	case a.Wide != b.Wide:
		return fmt.Sprintf("logits in %s vs %s", precision(a.Wide), precision(b.Wide))
	case a.Targets != b.Targets:
		return "targets " + a.Targets.String() + " vs " + b.Targets.String()
	case a.Teacher != b.Teacher:
		return fmt.Sprintf("teacher %v vs %v", a.Teacher, b.Teacher)
	case (a.Metrics == nil) != (b.Metrics == nil):
		return fmt.Sprintf("metrics %v vs %v", a.Metrics != nil, b.Metrics != nil)
	case a.Metrics != nil && a.Metrics.String() != b.Metrics.String():
		return "metrics " + a.Metrics.String() + " vs " + b.Metrics.String()
	}
	return ""
}

func sameFloats(a, b []float64) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

func precision(wide bool) string {
	if wide {
		return "float64"
	}
	return "float32"
}

// Merge adds the rows of o (not changed) to p. Partials of different
// evaluations (loss, options, columns, precision, metrics) do not merge:
// the error wraps ErrMismatch and names the first difference.
func (p *Partial) Merge(o *Partial) error {
	if d := diff(&p.cfg, &o.cfg); d != "" {
		return fmt.Errorf("evalacc: cannot merge: %s: %w", d, ErrMismatch)
	}
	if p.acc != nil {
		if err := p.acc.Merge(o.acc); err != nil {
			return fmt.Errorf("evalacc: %w: %w", err, ErrMismatch)
		}
	}
	p.rows += o.rows
	p.sum.Merge(&o.sum)
	p.weight.Merge(&o.weight)
	return nil
}

// Report is what an evaluation reports.
type Report struct {
	// Loss is the mean (the exact sum of the row losses over the exact
	// sum of their weights, correctly rounded; 0 when the weight is 0) or
	// the sum (correctly rounded).
	Loss      float64
	LossName  string // the canonical loss spec
	Reduction loss.Reduction
	Rows      int64
	Cols      int
	// Metrics is nil without labels or for a loss whose logits are not
	// class scores.
	Metrics *MetricsReport
}

// MetricsReport holds the classification metrics over the rows whose label
// is not the ignore index (Counted of them). With no counted row, only
// Accuracy and Top5 are set, to 0.
type MetricsReport struct {
	Counted          int64
	Accuracy, Top5   float64
	TopK             int // the k of Top5: 5, or the number of classes if fewer
	NLL, Brier       float64
	ECE, ECEAdaptive float64
	MCE              float64
	Bins             int
}

// Report returns the evaluation so far.
func (p *Partial) Report() (Report, error) {
	r := Report{LossName: p.cfg.Loss, Reduction: p.cfg.Reduction, Rows: p.rows, Cols: p.cfg.Cols}
	switch p.cfg.Reduction {
	case loss.Sum:
		r.Loss = p.sum.Value()
	default:
		r.Loss = ratio(&p.sum, &p.weight)
	}
	if p.acc == nil {
		return r, nil
	}
	mc := p.acc.Config()
	m := &MetricsReport{Counted: p.acc.N(), TopK: mc.TopK[len(mc.TopK)-1], Bins: mc.Bins}
	r.Metrics = m
	if m.Counted == 0 {
		return r, nil
	}
	rep, err := p.acc.Report()
	if err != nil {
		return r, err
	}
	m.Accuracy, m.Top5 = rep.Accuracy[0], rep.Accuracy[len(rep.Accuracy)-1]
	m.NLL, m.Brier = rep.NLL, rep.Brier
	width := metrics.BinErrors(p.acc.Bins())
	m.ECE, m.MCE = width.ECE, width.MCE
	if rep.Calibration != nil {
		mass, err := rep.Calibration.Errors(mc.Bins, metrics.EqualMass)
		if err != nil {
			return r, err
		}
		m.ECEAdaptive = mass.ECE
	}
	return r, nil
}

// ratio returns s/w correctly rounded; 0 when w is 0.
func ratio(s, w *exact.Sum) float64 {
	if w.IsZero() {
		return 0
	}
	fs, ok1 := s.Float(new(big.Float))
	fw, ok2 := w.Float(new(big.Float))
	if !ok1 || !ok2 {
		return s.Value() / w.Value()
	}
	v, _ := new(big.Float).SetPrec(53).Quo(fs, fw).Float64()
	return v
}

// JSON returns the report as the map xent eval prints with --json: loss,
// rows, cols and, with metrics, accuracy, top5 and (when some row counted)
// nll, brier, ece, ece_adaptive and mce.
func (r Report) JSON() map[string]any {
	out := map[string]any{"loss": r.Loss, "rows": r.Rows, "cols": r.Cols}
	if m := r.Metrics; m != nil {
		out["accuracy"], out["top5"] = m.Accuracy, m.Top5
		if m.Counted > 0 {
			out["nll"], out["brier"] = m.NLL, m.Brier
			out["ece"], out["ece_adaptive"], out["mce"] = m.ECE, m.ECEAdaptive, m.MCE
		}
	}
	return out
}

// WriteText writes the report as xent eval prints it.
func (r Report) WriteText(w io.Writer) error {
	name := r.LossName
	if i := indexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	_, err := fmt.Fprintf(w, "loss %.9g (%s, %s over %d rows × %d columns)\n", r.Loss, name, r.Reduction, r.Rows, r.Cols)
	if m := r.Metrics; m != nil && err == nil {
		_, err = fmt.Fprintf(w, "accuracy %.6f  top-5 %.6f\n", m.Accuracy, m.Top5)
		if m.Counted > 0 && err == nil {
			_, err = fmt.Fprintf(w, "nll %.6f  brier %.6f\nece %.6f  ece-adaptive %.6f  mce %.6f (%d bins)\n",
				m.NLL, m.Brier, m.ECE, m.ECEAdaptive, m.MCE, m.Bins)
		}
	}
	return err
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// The binary form: magic "XEVP", version 1.
const (
	partialMagic   = "XEVP"
	partialVersion = 1
)

// MarshalBinary returns the partial's binary form.
func (p *Partial) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	c := &p.cfg
	w.String(c.Loss)
	w.Int(int(c.Reduction))
	w.Varint(c.IgnoreIndex)
	w.Float64(c.LabelSmoothing)
	w.Float64(c.ZLoss)
	w.Float64(c.SoftCap)
	for _, v := range [][]float64{c.ClassWeights, c.PosWeight} {
		w.Bool(v != nil)
		w.Int(len(v))
		for _, x := range v {
			w.Float64(x)
		}
	}
	w.Int(c.Cols)
	w.Bool(c.Wide)
	w.Int(int(c.Targets))
	w.Bool(c.Teacher)
	w.Uvarint(uint64(p.rows))
	w.Sum(&p.sum)
	w.Sum(&p.weight)
	w.Bool(p.acc != nil)
	if p.acc != nil {
		b, err := p.acc.MarshalBinary()
		if err != nil {
			return nil, err
		}
		w.Bytes(b)
	}
	return wire.Seal(partialMagic, partialVersion, w.B), nil
}

// ErrCorrupt is wrapped by the errors of UnmarshalBinary.
var ErrCorrupt = errors.New("not a valid partial evaluation")

// UnmarshalBinary sets p from MarshalBinary's form. Damaged data (the
// checksum), another format version or inconsistent fields are an error
// wrapping ErrCorrupt, and p is then unchanged.
func (p *Partial) UnmarshalBinary(data []byte) error {
	fail := func(err error) error { return fmt.Errorf("evalacc: %w: %w", ErrCorrupt, err) }
	v, payload, err := wire.Open(partialMagic, data)
	if err != nil {
		return fail(err)
	}
	if v != partialVersion {
		return fail(fmt.Errorf("format version %d, this build reads version %d", v, partialVersion))
	}
	r := wire.Reader{B: payload}
	var c Config
	c.Loss = r.String(4096)
	c.Reduction = loss.Reduction(r.Int(int(loss.Sum), "reduction"))
	c.IgnoreIndex = r.Varint()
	c.LabelSmoothing, c.ZLoss, c.SoftCap = r.Float64(), r.Float64(), r.Float64()
	for _, dst := range []*[]float64{&c.ClassWeights, &c.PosWeight} {
		present := r.Bool()
		n := r.Int(len(r.B)/8, "weights")
		if present {
			*dst = make([]float64, n)
			for i := range *dst {
				(*dst)[i] = r.Float64()
			}
		} else if n != 0 {
			r.Fail("absent weights of length %d", n)
		}
	}
	c.Cols = r.Int(math.MaxInt32, "cols")
	c.Wide = r.Bool()
	c.Targets = Targets(r.Int(int(ScalarTargets), "targets"))
	c.Teacher = r.Bool()
	var q Partial
	rows := r.Uvarint()
	if rows > math.MaxInt64/2 {
		r.Fail("%d rows", rows)
	}
	q.rows = int64(rows)
	r.Sum(&q.sum)
	r.Sum(&q.weight)
	if r.Bool() {
		b := r.Bytes(len(r.B))
		if r.Err() == nil {
			q.acc = new(metrics.Accumulator)
			if err := q.acc.UnmarshalBinary(b); err != nil {
				r.Fail("metrics: %v", err)
			} else {
				c.Metrics = ptr(q.acc.Config())
			}
		}
	}
	if err := r.Done(); err != nil {
		return fail(err)
	}
	switch {
	case c.Cols < 1:
		return fail(fmt.Errorf("%d columns", c.Cols))
	case c.ClassWeights != nil && len(c.ClassWeights) != c.Cols:
		return fail(fmt.Errorf("%d class weights for %d columns", len(c.ClassWeights), c.Cols))
	case c.Metrics != nil && (c.Metrics.Cols != c.Cols || c.Targets != Labels):
		return fail(fmt.Errorf("metrics over %d classes for %d columns and %s", c.Metrics.Cols, c.Cols, c.Targets))
	case q.acc != nil && q.acc.N() > q.rows:
		return fail(fmt.Errorf("%d counted rows of %d", q.acc.N(), q.rows))
	}
	if canon, _, err := Canonical(c.Loss); err != nil || canon != c.Loss {
		return fail(fmt.Errorf("loss %q is not a known loss in canonical form", c.Loss))
	}
	q.cfg = c
	*p = q
	return nil
}
