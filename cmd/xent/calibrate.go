package main

import (
	"fmt"
	"io"

	"github.com/xentlab/xent/calibrate"
	"github.com/xentlab/xent/metrics"
	"github.com/xentlab/xent/npy"
	"github.com/xentlab/xent/plots"
)

func init() {
	register(&command{
		name:    "calibrate",
		summary: "fit a softmax temperature on held-out logits; NLL and ECE before and after",
		run:     runCalibrate,
	})
}

const calibrateUsage = `--logits L.npy --targets T.npy [--bins 15] [--ignore-index I] [--plot out.png|out.svg] [--json]

Fits the temperature T that minimises the mean negative log-likelihood of
softmax(z/T) on the given (held-out) logits and labels (temperature scaling,
Guo et al. 2017), and reports the NLL and the expected calibration error
(top-label ECE, equal-width bins) at T = 1 and at the fitted T. With --plot
it draws the reliability diagrams before and after, with the histograms of
the confidences. Rows labelled with the ignore index are left out.`

func runCalibrate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("calibrate", calibrateUsage, stdout)
	logitsPath := fs.String("logits", "", "logits, float16, float32 or float64 .npy of shape [rows, classes] (required)")
	targetsPath := fs.String("targets", "", "integer labels, .npy of shape [rows] (required)")
	bins := fs.Int("bins", 15, "number of equal-width confidence bins of the ECE and the diagram (≥ 1)")
	ignore := fs.Int64("ignore-index", -100, "label whose rows are left out")
	plotPath := fs.String("plot", "", "draw the reliability diagrams before and after here (.png or .svg)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *logitsPath == "":
		return usagef("--logits is required")
	case *targetsPath == "":
		return usagef("--targets is required")
	}
	if err := checkRange("bins", *bins, 1, maxBins); err != nil {
		return err
	}
	if *plotPath != "" {
		if err := checkPlotPath("plot", *plotPath); err != nil {
			return err
		}
		if err := checkFiles(named("logits", *logitsPath, "targets", *targetsPath), named("plot", *plotPath)); err != nil {
			return err
		}
	}

	// The logits are read a block of rows at a time, once per pass of the
	// fit; only the labels are held whole.
	lr, err := npy.OpenRows(*logitsPath)
	if err != nil {
		return fmt.Errorf("logits: %w", err)
	}
	lh := lr.Header()
	isFloat := lr.IsFloat()
	lr.Close()
	if len(lh.Shape) != 2 {
		return fmt.Errorf("logits %s: shape %v, want 2-D [rows, cols]", *logitsPath, lh.Shape)
	}
	if !isFloat {
		return fmt.Errorf("logits %s: dtype %s, want float16, float32 or float64", *logitsPath, lh.DType)
	}
	rows, cols := lh.Shape[0], lh.Shape[1]
	labels, err := readInts(*targetsPath, "targets", rows)
	if err != nil {
		return err
	}
	kept := 0
	for i, y := range labels {
		if y == *ignore {
			continue
		}
		if y < 0 || y >= int64(cols) {
			return fmt.Errorf("targets %s: label %d at row %d outside [0, %d)", *targetsPath, y, i, cols)
		}
		kept++
	}
	if kept == 0 {
		return allIgnored(*targetsPath, *ignore)
	}
	data := calibrationBlocks(*logitsPath, cols, labels, *ignore)

	t, err := calibrate.FitTemperatureBlocks(cols, data)
	if err != nil {
		return err
	}
	nllBefore, err := calibrate.NLLBlocks(cols, data, 1)
	if err != nil {
		return err
	}
	nllAfter, err := calibrate.NLLBlocks(cols, data, t)
	if err != nil {
		return err
	}
	before, after, err := reliabilityBins(data, cols, *bins, t)
	if err != nil {
		return err
	}
	eb, ea := metrics.BinErrors(before), metrics.BinErrors(after)
	if *plotPath != "" {
		if err := plots.Recalibration(*plotPath, before, after); err != nil {
			return err
		}
	}

	if *asJSON {
		return writeJSON(stdout, map[string]any{
			"temperature": t,
			"nll_before":  nllBefore, "nll_after": nllAfter,
			"ece_before": eb.ECE, "ece_after": ea.ECE,
			"mce_before": eb.MCE, "mce_after": ea.MCE,
			"rows": kept, "cols": cols, "bins": *bins,
		})
	}
	fmt.Fprintf(stdout, "temperature %.6g (fitted on %d rows × %d classes)\n", t, kept, cols)
	fmt.Fprintf(stdout, "            before     after\n")
	fmt.Fprintf(stdout, "nll       %9.6f %9.6f\n", nllBefore, nllAfter)
	fmt.Fprintf(stdout, "ece       %9.6f %9.6f  (%d equal-width bins)\n", eb.ECE, ea.ECE, *bins)
	fmt.Fprintf(stdout, "mce       %9.6f %9.6f\n", eb.MCE, ea.MCE)
	if *plotPath != "" {
		fmt.Fprintf(stdout, "reliability diagrams: %s\n", *plotPath)
	}
	return nil
}

// calibrationWindow is the bytes of logits (as float64) read at a time.
var calibrationWindow = 4 << 20

// calibrationBlocks reads the logits file a block of rows at a time (as
// float64, converted exactly) and gives the rows whose label is not
// ignore, with their labels (checked to be in range by the caller).
func calibrationBlocks(path string, cols int, labels []int64, ignore int64) calibrate.Blocks[float64] {
	return func(fn func([]float64, []int32) error) error {
		r, err := npy.OpenRows(path)
		if err != nil {
			return fmt.Errorf("logits: %w", err)
		}
		defer r.Close()
		if r.Rows() != len(labels) {
			return fmt.Errorf("logits %s: %d rows, want %d (it changed)", path, r.Rows(), len(labels))
		}
		per := max(1, calibrationWindow/(8*max(cols, 1)))
		buf := make([]float64, per*cols)
		y := make([]int32, 0, per)
		for first := 0; first < len(labels); {
			n, err := npy.ReadRows(r, buf)
			if err != nil {
				return fmt.Errorf("logits %s: %w", path, err)
			}
			k := 0
			y = y[:0]
			for i, v := range labels[first : first+n] {
				if v == ignore {
					continue
				}
				if k != i {
					copy(buf[k*cols:(k+1)*cols], buf[i*cols:(i+1)*cols])
				}
				y = append(y, int32(v))
				k++
			}
			if err := fn(buf[:k*cols], y); err != nil {
				return fmt.Errorf("logits %s, rows %d to %d: %w", path, first, first+n-1, err)
			}
			first += n
		}
		return nil
	}
}

// reliabilityBins returns the equal-width top-label reliability bins of
// the logits before and after scaling by 1/t, in one pass.
func reliabilityBins(data calibrate.Blocks[float64], cols, bins int, t float64) ([]metrics.Bin, []metrics.Bin, error) {
	cfg := metrics.AccConfig{Cols: cols, TopK: []int{1}, Bins: bins}
	before, err := metrics.NewAccumulator(cfg)
	if err != nil {
		return nil, nil, err
	}
	after, _ := metrics.NewAccumulator(cfg)
	var scaled []float64
	err = data(func(x []float64, y []int32) error {
		if len(y) == 0 {
			return nil
		}
		if err := before.Add64(x, y); err != nil {
			return err
		}
		scaled = append(scaled[:0], x...)
		if err := calibrate.Apply(calibrate.Temperature(t), scaled, x, cols); err != nil {
			return err
		}
		return after.Add64(scaled, y)
	})
	if err != nil {
		return nil, nil, err
	}
	return before.Bins(), after.Bins(), nil
}
