// Package metrics evaluates classifiers and scorers from their outputs:
// top-k accuracy, negative log-likelihood, Brier score, entropy and
// logit-gap statistics, calibration errors and reliability diagrams,
// pass@k, out-of-distribution scores with AUROC, Mahalanobis scores,
// multi-label ranking metrics and neural-collapse measures.
//
// # Inputs
//
// Logits, probabilities and scores are row-major matrices given as a flat
// slice ([]float32 or []float64) and a column count, one row per example;
// labels are []int32, one per row, in [0, cols). Feature matrices
// (Mahalanobis, neural collapse) are []float64, as their covariances are
// computed in float64.
//
// # Speed and determinism
//
// The per-row work on logits (max, Σ exp(z − max), the rank of the label)
// runs on the vector kernels that package softmax uses (AVX2 on amd64, a
// portable twin elsewhere and under the purego tag), plus an AVX2 count
// of the entries above the label's logit, in parallel over fixed row
// blocks; per-row results are reduced in row order, so every number is
// the same bits for any thread count. Each logit is read from memory once:
// accuracy@k runs close to memory bandwidth, and top-label calibration at
// the speed of the exp-sum kernel. The Brier score costs a second exp-sum
// over each (cached) row, entropy a scalar pass.
//
// # Errors
//
// Bad input is an error, never a panic: a matrix whose length is not a
// multiple of cols or a label count that does not match (wrapping
// ErrShape), a NaN or +Inf logit, a row with no finite logit, a label out
// of range, a probability outside [0, 1] (wrapping ErrValue), and a
// reduction over nothing (wrapping ErrEmpty). Messages name the function
// and the row.
package metrics

import (
	"errors"
	"math"

	"github.com/xentlab/xent/internal/xerr"
)

var (
	// ErrShape is wrapped by errors about the sizes of the arguments.
	// It is the same value in every package of the module, so errors.Is
	// matches it whichever package the error came from.
	ErrShape = xerr.ErrShape
	// ErrValue is wrapped by errors about values: NaN, infinities where a
	// finite number is needed, labels out of range, bad parameters.
	// It is the same value in every package of the module, so errors.Is
	// matches it whichever package the error came from.
	ErrValue = xerr.ErrValue
	// ErrEmpty is wrapped by errors about reductions over no data.
	ErrEmpty = errors.New("no data")
)

// Summary describes a sample of N numbers: the mean and population
// standard deviation √(Σ(x − mean)²/n) of its n = N − PosInf − NegInf
// finite values (0 when there are none), the counts of +Inf and −Inf
// values (e.g. the margin of an example whose label logit is masked with
// −Inf), and the minimum and maximum of all values. The mean and
// deviation are accumulated with Welford's update in float64 (relative
// error about n·2⁻⁵³ at worst).
type Summary struct {
	N                   int
	Mean, Std, Min, Max float64
	PosInf, NegInf      int
}

// moments is a Welford accumulator behind Summary.
type moments struct {
	n, posInf, negInf int // n counts finite values
	mean, m2          float64
	min, max          float64
}

func (m *moments) add(x float64) {
	if m.n+m.posInf+m.negInf == 0 {
		m.min, m.max = x, x
	}
	m.min = math.Min(m.min, x)
	m.max = math.Max(m.max, x)
	switch {
	case math.IsInf(x, 1):
		m.posInf++
		return
	case math.IsInf(x, -1):
		m.negInf++
		return
	}
	m.n++
	d := x - m.mean
	m.mean += d / float64(m.n)
	m.m2 += d * (x - m.mean)
}

func (m *moments) summary() Summary {
	s := Summary{N: m.n + m.posInf + m.negInf, PosInf: m.posInf, NegInf: m.negInf}
	if s.N == 0 {
		return s
	}
	s.Min, s.Max = m.min, m.max
	if m.n > 0 {
		s.Mean, s.Std = m.mean, math.Sqrt(max(m.m2, 0)/float64(m.n))
	}
	return s
}

// ksum is a Neumaier compensated sum: its error does not grow with the
// number of terms (about 2 ulp of the result plus 2⁻¹⁰⁶ of Σ|x|).
type ksum struct{ s, c float64 }

func (k *ksum) add(x float64) {
	t := k.s + x
	if math.Abs(k.s) >= math.Abs(x) {
		k.c += (k.s - t) + x
	} else {
		k.c += (x - t) + k.s
	}
	k.s = t
}

// value returns the sum; an infinite running sum is returned as is (its
// compensation term is then meaningless).
func (k *ksum) value() float64 {
	if math.IsInf(k.s, 0) {
		return k.s
	}
	return k.s + k.c
}
