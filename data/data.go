// Package data loads classification data sets for the lab into one simple
// type, Set: a row-major float32 feature matrix and int32 class labels.
//
// Sources:
//   - MNIST, embedded in the subpackage data/mnist (mnist.Load), so that
//     importing package data does not link the images;
//   - idx files, the format MNIST is distributed in, gzipped or not
//     (ReadIDX, LoadIDX);
//   - CSV with a label column and numeric feature columns (ReadCSV,
//     LoadCSV);
//   - LibSVM sparse text (ReadLibSVM, LoadLibSVM);
//   - NumPy .npy pairs of features and labels (ReadNPY, LoadNPY).
//
// The text readers (CSV, LibSVM) and the idx reader accept gzipped input
// transparently: input that starts with the gzip magic bytes is
// decompressed.
//
// # Labels
//
// Labels in a Set are always 0..Classes−1. Readers of formats whose labels
// are already class indices (idx, .npy, MNIST) keep them as they are, with
// Classes one more than the largest label, and leave ClassNames nil. The
// text formats (CSV, LibSVM) carry arbitrary labels, such as −1/+1, 1..10
// or "setosa": their readers map the sorted distinct labels to 0..K−1 and
// record the original label of each class in ClassNames. Labels are
// sorted by numeric value when all of them are numbers (so "1", "1.0" and
// "+1" are one class, named "1", and 2 sorts before 10), and as strings
// otherwise.
//
// A test file may lack some classes of its training file, which would
// shift the mapping; pass the training set's ClassNames as the Classes
// option when reading the test file, and its labels are mapped to the
// same classes (an unknown label is an error).
//
// # Helpers
//
// Subset and Split take examples off the front of a set; Shuffle and Perm
// reorder examples deterministically from a seed; FitScaler and
// Scaler.Apply standardize features with statistics fitted on the
// training set only. Subset, Split, Row and Apply expect a valid set (see
// Validate), as the readers return.
//
// # Errors
//
// Readers return errors, never panic, and name the line (and column)
// of a bad value. Non-finite features (NaN, ±Inf) are rejected: they would
// silently poison training. Errors about the content of the input wrap
// ErrFormat.
package data

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
)

// ErrFormat is wrapped by every error about malformed input.
var ErrFormat = errors.New("malformed data")

// Set is a labeled data set: Rows examples of Cols float32 features each,
// with one class label per example.
type Set struct {
	// X holds the features, row-major: example i is X[i*Cols : (i+1)*Cols].
	X []float32
	// Rows is the number of examples, Cols the number of features.
	Rows, Cols int
	// Y holds the class of each example, in [0, Classes).
	Y []int32
	// Classes is the number of classes.
	Classes int
	// ClassNames, when not nil, holds the original label of each class:
	// class k was written ClassNames[k] in the input. It is nil when the
	// stored labels are the classes themselves.
	ClassNames []string
}

// Validate checks that the fields of s are consistent: the lengths of X
// and Y, the labels' range and the length of ClassNames.
func (s Set) Validate() error {
	switch {
	case s.Rows < 0 || s.Cols < 0 || s.Classes < 0:
		return fmt.Errorf("data: negative size: %d rows, %d columns, %d classes", s.Rows, s.Cols, s.Classes)
	case s.Cols > 0 && s.Rows > math.MaxInt/s.Cols:
		return fmt.Errorf("data: %d rows × %d columns overflows", s.Rows, s.Cols)
	case len(s.X) != s.Rows*s.Cols:
		return fmt.Errorf("data: len(X) = %d, want %d rows × %d columns = %d", len(s.X), s.Rows, s.Cols, s.Rows*s.Cols)
	case len(s.Y) != s.Rows:
		return fmt.Errorf("data: len(Y) = %d, want %d (one label per row)", len(s.Y), s.Rows)
	case s.ClassNames != nil && len(s.ClassNames) != s.Classes:
		return fmt.Errorf("data: %d class names for %d classes", len(s.ClassNames), s.Classes)
	}
	for i, y := range s.Y {
		if y < 0 || int(y) >= s.Classes {
			return fmt.Errorf("data: row %d has label %d, want 0 ≤ label < %d", i, y, s.Classes)
		}
	}
	return nil
}

// Row returns the features of example i, sharing memory with s.X. It
// panics if i is out of range, as indexing a slice does.
func (s Set) Row(i int) []float32 {
	return s.X[i*s.Cols : (i+1)*s.Cols : (i+1)*s.Cols]
}

// Subset returns the first n examples of s (all of them if n ≥ s.Rows,
// none if n ≤ 0). The result shares memory with s.
func (s Set) Subset(n int) Set {
	n = max(0, min(n, s.Rows))
	t := s
	t.Rows = n
	t.X = s.X[: n*s.Cols : n*s.Cols]
	t.Y = s.Y[:n:n]
	return t
}

// Split cuts s after its first n examples: head holds examples [0, n),
// tail the rest (n is clamped to [0, s.Rows]). Both share memory with s;
// shuffle first for a random split, e.g. s.Shuffle(seed).Split(n).
func (s Set) Split(n int) (head, tail Set) {
	n = max(0, min(n, s.Rows))
	head = s.Subset(n)
	tail = s
	tail.Rows = s.Rows - n
	tail.X = s.X[n*s.Cols:]
	tail.Y = s.Y[n:]
	return head, tail
}

// Clone returns a deep copy of s.
func (s Set) Clone() Set {
	t := s
	t.X = append([]float32(nil), s.X...)
	t.Y = append([]int32(nil), s.Y...)
	if s.ClassNames != nil {
		t.ClassNames = append([]string(nil), s.ClassNames...)
	}
	return t
}

// Select returns a new set with the examples rows[0], rows[1], ... of s,
// copied (an index may repeat). It fails if an index is out of range.
func (s Set) Select(rows []int) (Set, error) {
	t := s
	t.Rows = len(rows)
	t.X = make([]float32, len(rows)*s.Cols)
	t.Y = make([]int32, len(rows))
	for i, r := range rows {
		if r < 0 || r >= s.Rows {
			return Set{}, fmt.Errorf("data: Select: index %d (position %d) is outside [0, %d)", r, i, s.Rows)
		}
		copy(t.X[i*s.Cols:(i+1)*s.Cols], s.X[r*s.Cols:(r+1)*s.Cols])
		t.Y[i] = s.Y[r]
	}
	return t, nil
}

// Shuffle returns a copy of s with its examples in a random order that
// depends only on seed: the same seed gives the same order on every
// platform and with any number of threads.
func (s Set) Shuffle(seed uint64) Set {
	t, _ := s.Select(Perm(s.Rows, seed)) // Perm's indices are all in range
	return t
}

// Perm returns a random permutation of 0..n−1 that depends only on seed.
// It is drawn by a Fisher–Yates shuffle driven by a PCG generator, with
// unbiased bounded draws.
func Perm(n int, seed uint64) []int {
	p := make([]int, max(n, 0))
	for i := range p {
		p[i] = i
	}
	src := rand.NewPCG(seed, 0x9e3779b97f4a7c15)
	for i := len(p) - 1; i > 0; i-- {
		j := bounded(src, uint64(i)+1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// bounded returns a uniform draw from [0, n) by Lemire's multiply-and-
// reject method.
func bounded(src *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}

// Scaler standardizes features: x ↦ (x − Mean[j]) / Std[j] for column j.
// Fit it on the training set and apply it to every set, so that test
// data is scaled with the training statistics.
type Scaler struct {
	// Mean and Std are the per-column mean and population standard
	// deviation of the fitted data. A constant column has Std 1, so that
	// it becomes 0 rather than NaN.
	Mean, Std []float64
}

// FitScaler computes the mean and standard deviation of every column of
// s, in float64 (two passes: the mean, then the squared deviations).
func FitScaler(s Set) (Scaler, error) {
	if err := s.checkShape(); err != nil {
		return Scaler{}, err
	}
	if s.Rows == 0 {
		return Scaler{}, fmt.Errorf("data: FitScaler: the set has no rows")
	}
	mean := make([]float64, s.Cols)
	for i := range s.Rows {
		for j, v := range s.Row(i) {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(s.Rows)
	}
	std := make([]float64, s.Cols)
	for i := range s.Rows {
		for j, v := range s.Row(i) {
			d := float64(v) - mean[j]
			std[j] += d * d
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(s.Rows))
		if !(std[j] > 1e-12*math.Max(1, math.Abs(mean[j]))) { // constant (or NaN)
			std[j] = 1
		}
	}
	return Scaler{Mean: mean, Std: std}, nil
}

// Apply standardizes the features of s in place (s.X is modified, and so
// is any set sharing its memory). s must have as many columns as the data
// the scaler was fitted on.
func (sc Scaler) Apply(s Set) error {
	if err := s.checkShape(); err != nil {
		return err
	}
	if s.Cols != len(sc.Mean) || len(sc.Std) != len(sc.Mean) {
		return fmt.Errorf("data: Scaler.Apply: the set has %d columns, the scaler %d", s.Cols, len(sc.Mean))
	}
	inv := make([]float64, len(sc.Std))
	for j, sd := range sc.Std {
		inv[j] = 1 / sd
	}
	for i := range s.Rows {
		row := s.Row(i)
		for j, v := range row {
			row[j] = float32((float64(v) - sc.Mean[j]) * inv[j])
		}
	}
	return nil
}

// checkShape checks the sizes of X and Y against Rows and Cols.
func (s Set) checkShape() error {
	if s.Rows < 0 || s.Cols < 0 || (s.Cols > 0 && s.Rows > math.MaxInt/s.Cols) || len(s.X) != s.Rows*s.Cols {
		return fmt.Errorf("data: len(X) = %d does not match %d rows × %d columns", len(s.X), s.Rows, s.Cols)
	}
	return nil
}
