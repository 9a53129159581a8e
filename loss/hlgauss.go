package loss

import (
	"fmt"
	"math"
)

// The registry names of this file's losses.
const (
	nameHlGauss = "hl-gauss"
	nameTwoHot  = "two-hot"
)

// Histogram is the fixed support of a classification-for-regression
// loss: Bins equal bins on [Min, Max], bin i covering
// [Min + i·w, Min + (i+1)·w) with width w = (Max − Min)/Bins and centre
// Min + (i + ½)·w.
type Histogram struct {
	Bins     int
	Min, Max float64
}

// Validate reports whether the histogram is usable.
func (h Histogram) Validate() error {
	if h.Bins < 1 || !(h.Min < h.Max) || math.IsInf(h.Min, 0) || math.IsInf(h.Max, 0) {
		return fmt.Errorf("histogram: %d bins on [%v, %v], want ≥ 1 bins on a finite interval with min < max: %w", h.Bins, h.Min, h.Max, ErrValue)
	}
	return nil
}

// Width returns the bin width (Max − Min)/Bins.
func (h Histogram) Width() float64 { return (h.Max - h.Min) / float64(h.Bins) }

// Center returns the centre of bin i.
func (h Histogram) Center(i int) float64 { return h.Min + (float64(i)+0.5)*h.Width() }

// edge returns the lower edge of bin i (i = Bins: Max).
func (h Histogram) edge(i int) float64 {
	if i == h.Bins {
		return h.Max
	}
	return h.Min + float64(i)*h.Width()
}

// HLGauss writes into dst (Bins entries) the HL-Gauss target of the
// scalar y: the mass of a normal distribution N(y, σ²) in each bin,
// renormalised to the histogram's range,
//
//	p_i = [Φ((e_{i+1} − y)/σ) − Φ((e_i − y)/σ)] / [Φ((Max − y)/σ) − Φ((Min − y)/σ)]
//
// with σ = sigma·Width() (sigma is the ratio to the bin width; the paper
// recommends 0.75). y is clipped to [Min, Max] first (otherwise the
// normaliser can vanish). Each bin's mass is a difference of erfc values
// taken on the side of the mean where both are small, so tail bins keep
// their relative precision where differences of erf values cancel.
func (h Histogram) HLGauss(dst []float64, y, sigma float64) error {
	if err := h.Validate(); err != nil {
		return err
	}
	switch {
	case len(dst) != h.Bins:
		return fmt.Errorf("histogram: len(dst) = %d, want %d bins: %w", len(dst), h.Bins, ErrShape)
	case !(sigma > 0) || math.IsInf(sigma, 0):
		return fmt.Errorf("histogram: sigma %v, want a positive finite ratio to the bin width: %w", sigma, ErrValue)
	case math.IsNaN(y):
		return fmt.Errorf("histogram: target NaN: %w", ErrValue)
	}
	y = min(max(y, h.Min), h.Max)
	s := sigma * h.Width() * math.Sqrt2
	var total float64
	for i := range dst {
		a, b := (h.edge(i)-y)/s, (h.edge(i+1)-y)/s
		var m float64
		switch {
		case a >= 0: // both edges above the mean: upper tail
			m = math.Erfc(a) - math.Erfc(b)
		case b <= 0: // both below: lower tail
			m = math.Erfc(-b) - math.Erfc(-a)
		default:
			m = math.Erf(b) - math.Erf(a)
		}
		dst[i] = m
		total += m
	}
	for i := range dst {
		dst[i] /= total
	}
	return nil
}

// TwoHot writes into dst (Bins entries) the two-hot target of y: with y
// clipped to [Center(0), Center(Bins−1)] and c_k ≤ y ≤ c_{k+1} the two
// centres around it, p_k = (c_{k+1} − y)/w and p_{k+1} = 1 − p_k (all
// mass on one bin when y is a centre or beyond the end centres). Its
// expected value Σ_i p_i·c_i is y itself (clipped).
func (h Histogram) TwoHot(dst []float64, y float64) error {
	if err := h.Validate(); err != nil {
		return err
	}
	switch {
	case len(dst) != h.Bins:
		return fmt.Errorf("histogram: len(dst) = %d, want %d bins: %w", len(dst), h.Bins, ErrShape)
	case math.IsNaN(y):
		return fmt.Errorf("histogram: target NaN: %w", ErrValue)
	}
	clear(dst)
	w := h.Width()
	u := (y - h.Center(0)) / w // position in units of bins from the first centre
	if !(u > 0) {
		dst[0] = 1
		return nil
	}
	if u >= float64(h.Bins-1) {
		dst[h.Bins-1] = 1
		return nil
	}
	k := int(math.Floor(u))
	f := u - float64(k)
	dst[k] = 1 - f
	if f > 0 {
		dst[k+1] = f
	}
	return nil
}

// HistogramMean writes into dst (one per row) the expected value
// Σ_i softmax(z)_i·c_i of each row of logits (h.Bins columns), the
// prediction of a histogram loss. −Inf logits are masks; NaN, +Inf and
// rows that are entirely −Inf are errors.
func HistogramMean[T Float](dst, logits []T, h Histogram) error {
	if err := h.Validate(); err != nil {
		return err
	}
	cols := h.Bins
	if len(logits)%cols != 0 || len(dst) != len(logits)/cols {
		return fmt.Errorf("histogram: %d logits and %d outputs for %d bins: %w", len(logits), len(dst), cols, ErrShape)
	}
	for r := range dst {
		row := logits[r*cols : (r+1)*cols]
		m := math.Inf(-1)
		for j, v := range row {
			if f := float64(v); f != f || math.IsInf(f, 1) {
				return fmt.Errorf("histogram: logit %v at row %d, column %d: %w", v, r, j, ErrValue)
			}
			m = max(m, float64(v))
		}
		if math.IsInf(m, -1) {
			return fmt.Errorf("histogram: row %d is entirely −Inf: %w", r, ErrValue)
		}
		var s, sc float64
		for i, v := range row {
			e := math.Exp(float64(v) - m)
			s += e
			sc += e * h.Center(i)
		}
		dst[r] = T(sc / s)
	}
	return nil
}

// HLGauss is the histogram loss of Farebrother, Orbay, Vuong et al.,
// "Stop Regressing: Training Value Functions via Classification for
// Scalable Deep RL" (ICML 2024), catalog A22: a scalar regression target
// per row (Input.Targets, one value per row) becomes a distribution over
// the bins of a Histogram — HL-Gauss (a normal of width σ = sigma·bin
// width integrated over each bin) or two-hot (the two neighbouring bin
// centres) — and the loss is the softmax cross-entropy of the logits
// (Cols = Bins) against it:
//
//	ℓ = −Σ_i p_i(y)·log softmax(z)_i,   ∂ℓ/∂z = softmax(z) − p(y)
//
// The prediction is the expected bin centre, HistogramMean. Defaults:
// 51 bins on [−10, 10], sigma 0.75 (the paper's recommended ratio; the
// range and bin count are task-specific).
//
// The targets are built in float64 (Histogram.HLGauss, Histogram.TwoHot)
// and the cross-entropy is CrossEntropy's soft-target path (no Softmax
// Collapse, SIMD kernels), so the accuracy is CrossEntropy's. Targets are
// clipped into the range (the paper's PyTorch listing does not clip; it
// agrees inside the range) and HL-Gauss masses are computed from erfc
// tails rather than differences of erf (more accurate far from the mean).
//
// Options: reduction (Mean divides by Σ r_i), row weights. Class weights
// (they would bias the regression towards some bins), label smoothing,
// the ignore index (there are no labels) and z-loss are rejected. −Inf
// logits are errors where the target has mass (every HL-Gauss bin within
// about 38σ of the target). NaN targets are errors.
type HLGauss struct {
	o      Options
	h      Histogram
	sigma  float64
	twoHot bool
	ce     *CrossEntropy
}

// NewHLGauss returns the HL-Gauss loss on histogram h with σ = sigma·bin
// width.
func NewHLGauss(h Histogram, sigma float64, opts ...Option) (*HLGauss, error) {
	if !(sigma > 0) || math.IsInf(sigma, 0) {
		return nil, valueErr(nameHlGauss, "sigma = %v, want a positive finite ratio to the bin width", sigma)
	}
	return newHistLoss(nameHlGauss, h, sigma, false, opts)
}

// NewTwoHot returns the two-hot histogram loss on h.
func NewTwoHot(h Histogram, opts ...Option) (*HLGauss, error) {
	return newHistLoss(nameTwoHot, h, 0, true, opts)
}

func newHistLoss(name string, h Histogram, sigma float64, twoHot bool, opts []Option) (*HLGauss, error) {
	if err := h.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if h.Bins > math.MaxInt32 {
		return nil, valueErr(name, "%d bins", h.Bins)
	}
	o, err := buildHard(name, opts, false)
	if err != nil {
		return nil, err
	}
	if o.IgnoreIndex != Defaults().IgnoreIndex {
		return nil, valueErr(name, "the ignore index does not apply (the targets are scalars)")
	}
	ce, err := NewCrossEntropy(WithReduction(o.Reduction), WithThreads(o.Threads))
	if err != nil {
		return nil, err
	}
	return &HLGauss{o: o, h: h, sigma: sigma, twoHot: twoHot, ce: ce}, nil
}

// Name returns "hl-gauss" or "two-hot".
func (l *HLGauss) Name() string {
	if l.twoHot {
		return nameTwoHot
	}
	return nameHlGauss
}

// Histogram returns the loss's histogram.
func (l *HLGauss) Histogram() Histogram { return l.h }

// Eval32 evaluates the loss on float32 logits (Cols = Bins) and scalar
// Targets (one per row).
func (l *HLGauss) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalHist(k32, l, in, out)
}

// Eval64 evaluates the loss on float64 inputs.
func (l *HLGauss) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalHist(k64, l, in, out)
}

func evalHist[E exact](k *kernels[E], l *HLGauss, in Input[E], out Output[E]) (float64, error) {
	name := l.Name()
	switch {
	case in.Cols != l.h.Bins:
		return 0, shapeErr(name, "Cols = %d, want %d (the number of bins)", in.Cols, l.h.Bins)
	case in.Labels != nil || in.Labels64 != nil:
		return 0, shapeErr(name, "takes scalar Targets, not labels")
	case in.Teacher != nil:
		return 0, shapeErr(name, "Teacher is not used by this loss")
	case out.LSE != nil:
		return 0, shapeErr(name, "Output.LSE is not computed by this loss")
	case len(in.Logits)%in.Cols != 0:
		return 0, shapeErr(name, "len(Logits) = %d is not a multiple of Cols = %d", len(in.Logits), in.Cols)
	}
	rows := len(in.Logits) / in.Cols
	if len(in.Targets) != rows {
		return 0, shapeErr(name, "len(Targets) = %d, want %d (one scalar per row)", len(in.Targets), rows)
	}
	soft := make([]E, len(in.Logits))
	p := make([]float64, in.Cols)
	for i, y := range in.Targets {
		var err error
		if l.twoHot {
			err = l.h.TwoHot(p, float64(y))
		} else {
			err = l.h.HLGauss(p, float64(y), l.sigma)
		}
		if err != nil {
			return 0, valueErr(name, "target %v at row %d", y, i)
		}
		for j, v := range p {
			soft[i*in.Cols+j] = E(v)
		}
	}
	ce := in
	ce.Targets = soft
	v, err := evalCE(k, l.ce.o, ce, out)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

func init() {
	params := []Param{
		{"bins", 51, "number of bins (must equal the logits' columns)"},
		{"min", -10, "lower end of the histogram's range"},
		{"max", 10, "upper end of the histogram's range"},
	}
	hist := func(p map[string]float64) (Histogram, error) {
		b := p["bins"]
		if b != math.Trunc(b) || b < 1 || b > math.MaxInt32 {
			return Histogram{}, fmt.Errorf("bins = %v, want a whole number ≥ 1: %w", b, ErrValue)
		}
		return Histogram{Bins: int(b), Min: p["min"], Max: p["max"]}, nil
	}
	Register(Spec{
		Name:    nameHlGauss,
		Catalog: "A22",
		Summary: "classification for regression: cross-entropy against the HL-Gauss histogram of a scalar target (Cols = bins)",
		Needs:   NeedsScalarTargets,
		Params:  append(append([]Param(nil), params...), Param{"sigma", 0.75, "σ as a ratio of the bin width"}),
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			h, err := hist(p)
			if err != nil {
				return nil, fmt.Errorf("hl-gauss: %w", err)
			}
			return NewHLGauss(h, p["sigma"], opts...)
		},
	})
	Register(Spec{
		Name:    nameTwoHot,
		Catalog: "A22",
		Summary: "classification for regression: cross-entropy against the two-hot histogram of a scalar target (Cols = bins)",
		Needs:   NeedsScalarTargets,
		Params:  params,
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			h, err := hist(p)
			if err != nil {
				return nil, fmt.Errorf("two-hot: %w", err)
			}
			return NewTwoHot(h, opts...)
		},
	})
}
