package metrics

import (
	"fmt"
	"math"
	"slices"

	"github.com/xentlab/xent/exact"
	"github.com/xentlab/xent/internal/wire"
)

// PassKAccumulator accumulates pass@k over problems, exactly mergeable:
// it keeps, for each k, the exact sum of the per-problem estimates
// PassAtK(n, c, k) and the number of problems, so any split of the
// problems merged in any order gives the same bits. PassAtK returns the
// mean, correctly rounded from the exact sum.
type PassKAccumulator struct {
	ks       []int
	problems int64
	sums     []exact.Sum
}

// NewPassKAccumulator returns an empty accumulator for the given k (each
// ≥ 1; duplicates removed, sorted).
func NewPassKAccumulator(ks ...int) (*PassKAccumulator, error) {
	ks = slices.Clone(ks)
	slices.Sort(ks)
	ks = slices.Compact(ks)
	if len(ks) == 0 || ks[0] < 1 || len(ks) > 64 {
		return nil, fmt.Errorf("metrics.NewPassKAccumulator: k = %v, want 1 to 64 values ≥ 1: %w", ks, ErrValue)
	}
	return &PassKAccumulator{ks: ks, sums: make([]exact.Sum, len(ks))}, nil
}

// Ks returns the k of the accumulator, sorted.
func (a *PassKAccumulator) Ks() []int { return slices.Clone(a.ks) }

// Problems returns the number of problems added.
func (a *PassKAccumulator) Problems() int64 { return a.problems }

// Add records one problem with n samples of which c are correct; n must
// be at least the largest k (an error wrapping ErrValue otherwise, and
// nothing is recorded).
func (a *PassKAccumulator) Add(n, c int) error {
	est := make([]float64, len(a.ks))
	for i, k := range a.ks {
		v, err := PassAtK(n, c, k)
		if err != nil {
			return err
		}
		est[i] = v
	}
	for i, v := range est {
		a.sums[i].Add(v)
	}
	a.problems++
	return nil
}

// Merge adds the problems of o (not changed); the k must be the same.
func (a *PassKAccumulator) Merge(o *PassKAccumulator) error {
	if !slices.Equal(a.ks, o.ks) {
		return fmt.Errorf("metrics.PassKAccumulator.Merge: k %v and %v: %w", a.ks, o.ks, ErrShape)
	}
	a.problems += o.problems
	for i := range a.sums {
		a.sums[i].Merge(&o.sums[i])
	}
	return nil
}

// PassAtK returns the mean pass@k over the problems, one per k of Ks.
func (a *PassKAccumulator) PassAtK() ([]float64, error) {
	if a.problems == 0 {
		return nil, fmt.Errorf("metrics.PassKAccumulator.PassAtK: no problems: %w", ErrEmpty)
	}
	out := make([]float64, len(a.ks))
	for i := range out {
		out[i] = quo(&a.sums[i], a.problems)
	}
	return out, nil
}

const (
	passKMagic   = "XPAK"
	passKVersion = 1
)

// MarshalBinary returns the versioned, checksummed, canonical binary form.
func (a *PassKAccumulator) MarshalBinary() ([]byte, error) {
	var w wire.Writer
	w.Int(len(a.ks))
	for _, k := range a.ks {
		w.Int(k)
	}
	w.Uvarint(uint64(a.problems))
	for i := range a.sums {
		w.Sum(&a.sums[i])
	}
	return wire.Seal(passKMagic, passKVersion, w.B), nil
}

// UnmarshalBinary sets a from MarshalBinary's form; damaged or
// inconsistent data is an error wrapping ErrValue and leaves a unchanged.
func (a *PassKAccumulator) UnmarshalBinary(data []byte) error {
	fail := func(err error) error {
		return fmt.Errorf("metrics.PassKAccumulator.UnmarshalBinary: %w (%w)", err, ErrValue)
	}
	v, payload, err := wire.Open(passKMagic, data)
	if err != nil {
		return fail(err)
	}
	if v != passKVersion {
		return fail(fmt.Errorf("format version %d, this build reads version %d", v, passKVersion))
	}
	r := wire.Reader{B: payload}
	ks := make([]int, r.Int(64, "number of k"))
	for i := range ks {
		ks[i] = r.Int(math.MaxInt32, "k")
	}
	if r.Err() != nil {
		return fail(r.Err())
	}
	b, err := NewPassKAccumulator(ks...)
	if err != nil || !slices.Equal(b.ks, ks) {
		return fail(fmt.Errorf("bad k %v", ks))
	}
	p := r.Uvarint()
	if p > math.MaxInt64/2 {
		r.Fail("%d problems", p)
	}
	b.problems = int64(p)
	for i := range b.sums {
		r.Sum(&b.sums[i])
		// Each estimate is in [0, 1], so the sum is in [0, problems].
		if r.Err() == nil {
			if s := b.sums[i].Value(); !(s >= 0 && s <= float64(p)) {
				r.Fail("sum %v for %d problems", s, p)
			}
		}
	}
	if err := r.Done(); err != nil {
		return fail(err)
	}
	*a = *b
	return nil
}
