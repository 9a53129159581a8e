package data

import (
	"fmt"
	"io"
	"math"

	"github.com/xentlab/xent/npy"
)

// ReadNPY reads a data set from a pair of .npy streams: features, an
// array of shape [rows, cols] (or more dimensions, flattened after the
// first), and labels, integer class indices of shape [rows] (or
// [rows, 1]). Features may be stored with any dtype the npy package reads
// as float32 (float64 is rounded; integers such as uint8 pixels are
// converted unscaled) and must be finite; labels must have an integer
// dtype and be non-negative. The labels are the classes; Classes is one
// more than the largest.
func ReadNPY(features, labels io.Reader) (Set, error) {
	x, fh, err := npy.Read[float32](features)
	if err != nil {
		return Set{}, fmt.Errorf("data: npy features: %w", err)
	}
	y, lh, err := npy.Read[int32](labels)
	if err != nil {
		return Set{}, fmt.Errorf("data: npy labels: %w", err)
	}
	return npySet(x, fh, y, lh)
}

// LoadNPY reads a data set from a features .npy file and a labels .npy
// file, as ReadNPY does (a file with bytes after its array is an error).
func LoadNPY(featuresPath, labelsPath string) (Set, error) {
	x, fh, err := npy.ReadFile[float32](featuresPath)
	if err != nil {
		return Set{}, fmt.Errorf("data: features: %w", err)
	}
	y, lh, err := npy.ReadFile[int32](labelsPath)
	if err != nil {
		return Set{}, fmt.Errorf("data: labels: %w", err)
	}
	return npySet(x, fh, y, lh)
}

func npySet(x []float32, fh npy.Header, y []int32, lh npy.Header) (Set, error) {
	if len(fh.Shape) < 2 {
		return Set{}, fmt.Errorf("data: npy features have shape %v, want [rows, cols]: %w", fh.Shape, ErrFormat)
	}
	rows := fh.Shape[0]
	cols := 0
	if rows > 0 {
		cols = len(x) / rows
	} else {
		cols = 1
		for _, d := range fh.Shape[1:] {
			if d != 0 && cols > math.MaxInt/d {
				return Set{}, fmt.Errorf("data: npy features: shape %v overflows: %w", fh.Shape, ErrFormat)
			}
			cols *= d
		}
	}
	if !(len(lh.Shape) == 1 || len(lh.Shape) == 2 && lh.Shape[1] == 1) {
		return Set{}, fmt.Errorf("data: npy labels have shape %v, want [rows]: %w", lh.Shape, ErrFormat)
	}
	if lh.Shape[0] != rows {
		return Set{}, fmt.Errorf("data: npy: %d feature rows but %d labels: %w", rows, lh.Shape[0], ErrFormat)
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return Set{}, fmt.Errorf("data: npy features: row %d, column %d is %v, want a finite value: %w", i/cols, i%cols, v, ErrFormat)
		}
	}
	for i, v := range y {
		if v < 0 {
			return Set{}, fmt.Errorf("data: npy labels: row %d has label %d, want ≥ 0: %w", i, v, ErrFormat)
		}
	}
	return newIndexedSet(x, rows, cols, y, "npy")
}
