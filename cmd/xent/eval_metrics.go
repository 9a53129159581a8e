package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/xentlab/xent/metrics"
	"github.com/xentlab/xent/npy"
)

// evalBins is the number of bins of the calibration errors xent eval
// reports.
const evalBins = 15

// calibrationKeys returns the probabilistic metrics of a logit matrix
// (cols columns) against hard labels, over the rows whose label is not
// the ignore index: "nll" (mean −log softmax(z)_y), "brier" (mean
// Σ_j (p_j − 1[j=y])²), "ece" and "mce" (15 equal-width bins) and
// "ece_adaptive" (15 equal-mass bins). It returns an empty map when every
// row is ignored.
func calibrationKeys(x []float64, cols int, labels []int64, ignore int64) (map[string]float64, error) {
	keptX, keptY, err := keptRows(x, cols, labels, ignore)
	if err != nil || len(keptY) == 0 {
		return map[string]float64{}, err
	}
	r, err := metrics.Evaluate(keptX, cols, keptY)
	if err != nil {
		return nil, err
	}
	width, err := r.Calibration.Errors(evalBins, metrics.EqualWidth)
	if err != nil {
		return nil, err
	}
	mass, err := r.Calibration.Errors(evalBins, metrics.EqualMass)
	if err != nil {
		return nil, err
	}
	return map[string]float64{
		"nll":          r.NLL,
		"brier":        r.Brier,
		"ece":          width.ECE,
		"ece_adaptive": mass.ECE,
		"mce":          width.MCE,
	}, nil
}

// addCalibrationKeys puts the keys of calibrationKeys into an eval
// result.
func addCalibrationKeys(res map[string]any, x []float64, cols int, labels []int64, ignore int64) error {
	keys, err := calibrationKeys(x, cols, labels, ignore)
	if err != nil {
		return err
	}
	for k, v := range keys {
		res[k] = v
	}
	return nil
}

// printCalibrationKeys writes the text lines of the keys that
// addCalibrationKeys put into res (nothing if there are none).
func printCalibrationKeys(w io.Writer, res map[string]any) {
	if _, ok := res["nll"]; !ok {
		return
	}
	fmt.Fprintf(w, "nll %.6f  brier %.6f\n", res["nll"], res["brier"])
	fmt.Fprintf(w, "ece %.6f  ece-adaptive %.6f  mce %.6f (%d bins)\n", res["ece"], res["ece_adaptive"], res["mce"], evalBins)
}

// keptRows returns the rows of x whose label is not the ignore index,
// with their labels as int32; a label outside [0, cols) is an error naming
// its row.
func keptRows(x []float64, cols int, labels []int64, ignore int64) ([]float64, []int32, error) {
	if cols < 1 || len(x) != len(labels)*cols {
		return nil, nil, fmt.Errorf("%d logits for %d labels of %d columns", len(x), len(labels), cols)
	}
	n := 0
	for _, y := range labels {
		if y != ignore {
			n++
		}
	}
	if n == len(labels) {
		y32, err := labels32(labels, cols)
		return x, y32, err
	}
	keptX := make([]float64, 0, n*cols)
	keptY := make([]int32, 0, n)
	for i, y := range labels {
		if y == ignore {
			continue
		}
		if y < 0 || y >= int64(cols) {
			return nil, nil, fmt.Errorf("label %d at row %d outside [0, %d)", y, i, cols)
		}
		keptX = append(keptX, x[i*cols:(i+1)*cols]...)
		keptY = append(keptY, int32(y))
	}
	return keptX, keptY, nil
}

// labels32 checks that every label is in [0, cols) and converts them.
func labels32(labels []int64, cols int) ([]int32, error) {
	y := make([]int32, len(labels))
	for i, v := range labels {
		if v < 0 || v >= int64(cols) || v > math.MaxInt32 {
			return nil, fmt.Errorf("label %d at row %d outside [0, %d)", v, i, cols)
		}
		y[i] = int32(v)
	}
	return y, nil
}

// readInts reads a 1-D integer .npy of n elements (n < 0: any length ≥ 1).
func readInts(path, what string, n int) ([]int64, error) {
	a, err := loadArray(path, what, func(h npy.Header) error {
		if h.DType.Kind == npy.Float {
			return fmt.Errorf("%s %s: dtype %s, want integers", what, path, h.DType)
		}
		switch {
		case len(h.Shape) != 1 && n >= 0:
			return fmt.Errorf("%s %s: shape %v, want [%d]", what, path, h.Shape, n)
		case len(h.Shape) != 1:
			return fmt.Errorf("%s %s: shape %v, want 1-D", what, path, h.Shape)
		case n >= 0 && h.Shape[0] != n:
			return fmt.Errorf("%s %s: %d values, want %d (one a row)", what, path, h.Shape[0], n)
		case h.Shape[0] == 0:
			return fmt.Errorf("%s %s: empty", what, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a.i, nil
}

// checkPlotPath rejects an output path whose extension is not .png or
// .svg before any work is done.
func checkPlotPath(flagName, path string) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png", ".svg":
		return nil
	}
	return usagef("--%s %s: the file name must end in .png or .svg", flagName, path)
}
