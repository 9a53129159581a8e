// Package xentbeam evaluates a loss and the classification metrics of xent
// on Apache Beam: shards of .npy logits and targets, read through Beam's
// file systems (local, gs://, s3://, ...), are evaluated on the workers
// into evalacc partials, which Beam combines with the CombineFns of this
// package into one partial and its report.
//
// The partials merge exactly (their sums are exact; see the package
// evalacc), so the report is bit-identical to the one xent eval prints on
// the same files, whatever the runner, the number of workers, the way the
// runner splits and orders the work, and how many times it retries a
// bundle.
//
// The CombineFns carry the binary forms of the accumulators ([]byte,
// which every runner can encode): PartialFn for evalacc.Partial,
// AccumulatorFn for metrics.Accumulator, PassKFn for
// metrics.PassKAccumulator. An empty byte slice stands for the empty
// accumulator (the identity of Merge).
package xentbeam

import (
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/xentlab/xent/evalacc"
	"github.com/xentlab/xent/metrics"
)

func init() {
	register.Combiner3[[]byte, []byte, []byte](&PartialFn{})
	register.Combiner3[[]byte, []byte, []byte](&AccumulatorFn{})
	register.Combiner3[[]byte, []byte, []byte](&PassKFn{})
}

// mergeable is an accumulator with an exact Merge and a binary form.
type mergeable[T any] interface {
	*T
	Merge(*T) error
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

// mergeBytes merges the binary forms a and b (either may be empty) and
// returns the binary form of the result.
func mergeBytes[T any, P mergeable[T]](what string, a, b []byte) ([]byte, error) {
	switch {
	case len(b) == 0:
		return a, nil
	case len(a) == 0:
		return b, nil
	}
	x, y := P(new(T)), P(new(T))
	if err := x.UnmarshalBinary(a); err != nil {
		return nil, fmt.Errorf("xentbeam: %s: %w", what, err)
	}
	if err := y.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("xentbeam: %s: %w", what, err)
	}
	if err := x.Merge(y); err != nil {
		return nil, fmt.Errorf("xentbeam: %s: %w", what, err)
	}
	return x.MarshalBinary()
}

// PartialFn combines the binary forms of evalacc partials
// (Partial.MarshalBinary) into the binary form of their merge. Partials of
// different evaluations make the pipeline fail with evalacc.ErrMismatch; a
// damaged one with evalacc.ErrCorrupt.
type PartialFn struct{}

// CreateAccumulator returns the empty accumulator.
func (*PartialFn) CreateAccumulator() []byte { return nil }

// AddInput merges one partial into the accumulator.
func (*PartialFn) AddInput(acc, in []byte) ([]byte, error) {
	return mergeBytes[evalacc.Partial]("partial", acc, in)
}

// MergeAccumulators merges two accumulators.
func (*PartialFn) MergeAccumulators(a, b []byte) ([]byte, error) {
	return mergeBytes[evalacc.Partial]("partial", a, b)
}

// ExtractOutput returns the merged partial's binary form (empty when
// there was no input).
func (*PartialFn) ExtractOutput(acc []byte) []byte { return acc }

// AccumulatorFn combines the binary forms of metrics.Accumulator values.
type AccumulatorFn struct{}

// CreateAccumulator returns the empty accumulator.
func (*AccumulatorFn) CreateAccumulator() []byte { return nil }

// AddInput merges one accumulator into acc.
func (*AccumulatorFn) AddInput(acc, in []byte) ([]byte, error) {
	return mergeBytes[metrics.Accumulator]("metrics accumulator", acc, in)
}

// MergeAccumulators merges two accumulators.
func (*AccumulatorFn) MergeAccumulators(a, b []byte) ([]byte, error) {
	return mergeBytes[metrics.Accumulator]("metrics accumulator", a, b)
}

// ExtractOutput returns the merged accumulator's binary form.
func (*AccumulatorFn) ExtractOutput(acc []byte) []byte { return acc }

// PassKFn combines the binary forms of metrics.PassKAccumulator values.
type PassKFn struct{}

// CreateAccumulator returns the empty accumulator.
func (*PassKFn) CreateAccumulator() []byte { return nil }

// AddInput merges one accumulator into acc.
func (*PassKFn) AddInput(acc, in []byte) ([]byte, error) {
	return mergeBytes[metrics.PassKAccumulator]("pass@k accumulator", acc, in)
}

// MergeAccumulators merges two accumulators.
func (*PassKFn) MergeAccumulators(a, b []byte) ([]byte, error) {
	return mergeBytes[metrics.PassKAccumulator]("pass@k accumulator", a, b)
}

// ExtractOutput returns the merged accumulator's binary form.
func (*PassKFn) ExtractOutput(acc []byte) []byte { return acc }
