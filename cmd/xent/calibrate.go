package main

import (
	"fmt"
	"io"

	"github.com/xentlab/xent/calibrate"
	"github.com/xentlab/xent/metrics"
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
	logitsPath := fs.String("logits", "", "logits, float32 or float64 .npy of shape [rows, classes] (required)")
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

	x, rows, cols, _, err := readMatrix(*logitsPath, "logits")
	if err != nil {
		return err
	}
	labels, err := readInts(*targetsPath, "targets", rows)
	if err != nil {
		return err
	}
	x, y, err := keptRows(x, cols, labels, *ignore)
	if err != nil {
		return fmt.Errorf("targets %s: %w", *targetsPath, err)
	}
	if len(y) == 0 {
		return allIgnored(*targetsPath, *ignore)
	}

	t, err := calibrate.FitTemperature(x, cols, y)
	if err != nil {
		return err
	}
	nllBefore, err := calibrate.NLL(x, cols, y, 1)
	if err != nil {
		return err
	}
	nllAfter, err := calibrate.NLL(x, cols, y, t)
	if err != nil {
		return err
	}
	before, err := reliabilityBins(x, cols, y, *bins)
	if err != nil {
		return err
	}
	scaled := make([]float64, len(x))
	if err := calibrate.Apply(calibrate.Temperature(t), scaled, x, cols); err != nil {
		return err
	}
	after, err := reliabilityBins(scaled, cols, y, *bins)
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
			"rows": len(y), "cols": cols, "bins": *bins,
		})
	}
	fmt.Fprintf(stdout, "temperature %.6g (fitted on %d rows × %d classes)\n", t, len(y), cols)
	fmt.Fprintf(stdout, "            before     after\n")
	fmt.Fprintf(stdout, "nll       %9.6f %9.6f\n", nllBefore, nllAfter)
	fmt.Fprintf(stdout, "ece       %9.6f %9.6f  (%d equal-width bins)\n", eb.ECE, ea.ECE, *bins)
	fmt.Fprintf(stdout, "mce       %9.6f %9.6f\n", eb.MCE, ea.MCE)
	if *plotPath != "" {
		fmt.Fprintf(stdout, "reliability diagrams: %s\n", *plotPath)
	}
	return nil
}

// reliabilityBins returns the equal-width top-label reliability bins of a
// logit matrix.
func reliabilityBins(x []float64, cols int, y []int32, bins int) ([]metrics.Bin, error) {
	c, err := metrics.TopLabel(x, cols, y)
	if err != nil {
		return nil, err
	}
	return c.Bins(bins, metrics.EqualWidth)
}
