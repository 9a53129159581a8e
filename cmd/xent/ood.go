package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/xentlab/xent/internal/atomicfile"
	"github.com/xentlab/xent/metrics"
	"github.com/xentlab/xent/npy"
	"github.com/xentlab/xent/plots"
)

func init() {
	register(&command{
		name:    "ood",
		summary: "out-of-distribution detection: AUROC and FPR at 95% TPR of MSP, max logit, energy, Mahalanobis",
		run:     runOOD,
	})
}

const oodUsage = `--in-logits A.npy --out-logits B.npy [--temperature T]
       [--features-train F.npy --labels-train Y.npy --features-in FI.npy --features-out FO.npy [--shrinkage S]]
       [--plot hist.png|hist.svg] [--json]

Scores in-distribution inputs (A.npy) and out-of-distribution inputs (B.npy)
with every available OOD score and reports, for each, the AUROC and the FPR
at 95% TPR, taking in-distribution as the positive class. Every score is
oriented so that a HIGHER score means MORE in-distribution:

  msp          maximum softmax probability max_j softmax(z)_j
  max_logit    max_j z_j
  energy       negative free energy −E(z) = T·log Σ_j exp(z_j/T)
  mahalanobis  max_c −(x − μ_c)ᵀ Σ⁻¹ (x − μ_c), with class means μ_c and a
               tied covariance Σ fitted on the training features and labels;
               x are the features of the in- and out-of-distribution inputs
               (given with all four --features/--labels flags)

With --plot hist.png the histograms of each score are drawn into
hist-msp.png, hist-max_logit.png, hist-energy.png and hist-mahalanobis.png.`

// oodScore is one detector's scores on both sets.
type oodScore struct {
	name    string
	in, out []float64
}

type oodResult struct {
	AUROC     float64 `json:"auroc"`
	FPR95     float64 `json:"fpr_at_95_tpr"`
	Threshold float64 `json:"threshold"`
	Plot      string  `json:"plot,omitempty"`
}

func runOOD(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ood", oodUsage, stdout)
	inPath := fs.String("in-logits", "", "logits of in-distribution inputs, float .npy [rows, classes] (required)")
	outPath := fs.String("out-logits", "", "logits of out-of-distribution inputs, float .npy [rows, classes] (required)")
	temp := fs.Float64("temperature", 1, "temperature T of the energy score (> 0)")
	ftrain := fs.String("features-train", "", "Mahalanobis: training features, float .npy [N, D]")
	ytrain := fs.String("labels-train", "", "Mahalanobis: training labels, integer .npy [N] in [0, classes)")
	fin := fs.String("features-in", "", "Mahalanobis: features of the in-distribution inputs, float .npy [rows of A, D]")
	fout := fs.String("features-out", "", "Mahalanobis: features of the out-of-distribution inputs, float .npy [rows of B, D]")
	shrink := fs.Float64("shrinkage", 0, "Mahalanobis: covariance shrinkage λ in [0, 1] towards (tr Σ/D)·I")
	plotPath := fs.String("plot", "", "draw the score histograms, one file per score named after this one (.png or .svg)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *inPath == "":
		return usagef("--in-logits is required")
	case *outPath == "":
		return usagef("--out-logits is required")
	case !(*temp > 0) || math.IsInf(*temp, 1):
		return usagef("--temperature %v, want a finite number > 0", *temp)
	case !(*shrink >= 0 && *shrink <= 1):
		return usagef("--shrinkage %v, want λ in [0, 1]", *shrink)
	}
	given := 0
	for _, p := range []string{*ftrain, *ytrain, *fin, *fout} {
		if p != "" {
			given++
		}
	}
	if given != 0 && given != 4 {
		return usagef("the Mahalanobis score needs all of --features-train, --labels-train, --features-in and --features-out")
	}
	if *plotPath != "" {
		if err := checkPlotPath("plot", *plotPath); err != nil {
			return err
		}
		var outs []atomicfile.Named
		for _, name := range []string{"msp", "max_logit", "energy", "mahalanobis"} {
			outs = append(outs, named("plot", scorePlotPath(*plotPath, name))...)
		}
		ins := named("in-logits", *inPath, "out-logits", *outPath, "features-train", *ftrain,
			"labels-train", *ytrain, "features-in", *fin, "features-out", *fout)
		if err := checkFiles(ins, outs); err != nil {
			return err
		}
	}

	// The logits are read a block of rows at a time; only the scores of
	// the rows are kept.
	energy := func(x []float64, cols int) ([]float64, error) {
		e, err := metrics.Energy(x, cols, *temp)
		for i := range e {
			e[i] = -e[i]
		}
		return e, err
	}
	names := []string{"msp", "max_logit", "energy"}
	fns := []func([]float64, int) ([]float64, error){
		func(x []float64, cols int) ([]float64, error) { return metrics.MSP(x, cols) },
		func(x []float64, cols int) ([]float64, error) { return metrics.MaxLogit(x, cols) },
		energy,
	}
	a, ra, ca, err := streamScores(*inPath, "in-logits", fns)
	if err != nil {
		return err
	}
	b, rb, cb, err := streamScores(*outPath, "out-logits", fns)
	if err != nil {
		return err
	}
	if ca != cb {
		return fmt.Errorf("out-logits %s: %d classes, in-logits %d", *outPath, cb, ca)
	}
	if ra == 0 || rb == 0 {
		return fmt.Errorf("%d in-distribution and %d out-of-distribution rows, want both ≥ 1", ra, rb)
	}

	var scores []oodScore
	for i, name := range names {
		scores = append(scores, oodScore{name, a[i], b[i]})
	}
	if given == 4 {
		s, err := mahalanobisScores(*ftrain, *ytrain, *fin, *fout, ra, rb, *shrink)
		if err != nil {
			return err
		}
		scores = append(scores, s)
	}

	res := make(map[string]oodResult, len(scores))
	for _, s := range scores {
		auroc, err := metrics.AUROC(s.in, s.out)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fpr, thr, err := metrics.FPRAtTPR(s.in, s.out, 0.95)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		res[s.name] = oodResult{AUROC: auroc, FPR95: fpr, Threshold: thr}
	}
	if *plotPath != "" {
		for _, s := range scores {
			p := scorePlotPath(*plotPath, s.name)
			r := res[s.name]
			title := fmt.Sprintf("%s: AUROC %.4f, FPR at 95%% TPR %.4f", scoreLabel(s.name, *temp), r.AUROC, r.FPR95)
			if err := plots.Scores(p, s.in, s.out, 0, plots.Title(title)); err != nil {
				return err
			}
			r.Plot = p
			res[s.name] = r
		}
	}

	if *asJSON {
		return writeJSON(stdout, map[string]any{
			"in_rows": ra, "out_rows": rb, "temperature": *temp, "scores": res,
		})
	}
	fmt.Fprintf(stdout, "%-26s %8s %12s\n", "score (higher = in-dist.)", "AUROC", "FPR@95%TPR")
	for _, s := range scores {
		r := res[s.name]
		fmt.Fprintf(stdout, "%-26s %8.4f %12.4f\n", scoreLabel(s.name, *temp), r.AUROC, r.FPR95)
	}
	fmt.Fprintf(stdout, "(%d in-distribution, %d out-of-distribution inputs)\n", ra, rb)
	if *plotPath != "" {
		for _, s := range scores {
			fmt.Fprintf(stdout, "histogram of %s: %s\n", s.name, res[s.name].Plot)
		}
	}
	return nil
}

// scoreLabel names a score for people.
func scoreLabel(name string, t float64) string {
	switch name {
	case "msp":
		return "MSP"
	case "max_logit":
		return "max logit"
	case "energy":
		return fmt.Sprintf("energy (−E, T = %g)", t)
	case "mahalanobis":
		return "Mahalanobis"
	}
	return name
}

// scorePlotPath inserts "-name" before the extension of path.
func scorePlotPath(path, name string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-" + name + ext
}

// mahalanobisScores fits the tied-covariance Gaussian model on the
// training features and scores the in- and out-of-distribution features.
func mahalanobisScores(ftrain, ytrain, fin, fout string, ra, rb int, shrink float64) (oodScore, error) {
	var s oodScore
	f, n, d, _, err := readMatrix(ftrain, "features-train")
	if err != nil {
		return s, err
	}
	y64, err := readInts(ytrain, "labels-train", n)
	if err != nil {
		return s, err
	}
	classes := int64(0)
	for i, v := range y64 {
		if v < 0 || v >= math.MaxInt32 {
			return s, fmt.Errorf("labels-train %s: label %d at row %d, want a class index ≥ 0", ytrain, v, i)
		}
		classes = max(classes, v+1)
	}
	y, err := labels32(y64, int(classes))
	if err != nil {
		return s, err
	}
	counts := make([]int, classes)
	for _, v := range y {
		counts[v]++
	}
	for c, k := range counts {
		if k == 0 {
			return s, fmt.Errorf("labels-train %s: class %d has no example (labels run to %d)", ytrain, c, classes-1)
		}
	}
	read := func(path, what, logits string, rows int) ([]float64, error) {
		x, r, c, _, err := readMatrix(path, what)
		if err != nil {
			return nil, err
		}
		if c != d {
			return nil, fmt.Errorf("%s %s: %d features, features-train %d", what, path, c, d)
		}
		if r != rows {
			return nil, fmt.Errorf("%s %s: %d rows, want %d (one per row of the %s)", what, path, r, rows, logits)
		}
		return x, nil
	}
	xin, err := read(fin, "features-in", "in-logits", ra)
	if err != nil {
		return s, err
	}
	xout, err := read(fout, "features-out", "out-logits", rb)
	if err != nil {
		return s, err
	}
	m, err := metrics.FitMahalanobis(f, d, y, int(classes), shrink)
	if err != nil {
		return s, fmt.Errorf("features-train %s: %w", ftrain, err)
	}
	s.name = "mahalanobis"
	if s.in, err = m.Scores(xin); err != nil {
		return s, fmt.Errorf("features-in %s: %w", fin, err)
	}
	if s.out, err = m.Scores(xout); err != nil {
		return s, fmt.Errorf("features-out %s: %w", fout, err)
	}
	return s, nil
}

// oodWindow is the bytes of logits (as float64) scored at a time.
var oodWindow = 4 << 20

// streamScores reads a float .npy matrix [rows, cols] (float16, float32 or
// float64) a block of rows at a time and returns, for each function, the
// scores of every row, computed block by block in float64 (each score
// depends on its row only, so the blocks do not change it).
func streamScores(path, what string, fns []func(x []float64, cols int) ([]float64, error)) ([][]float64, int, int, error) {
	r, err := npy.OpenRows(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", what, err)
	}
	defer r.Close()
	h := r.Header()
	if len(h.Shape) != 2 {
		return nil, 0, 0, fmt.Errorf("%s %s: shape %v, want 2-D [rows, cols]", what, path, h.Shape)
	}
	if !r.IsFloat() {
		return nil, 0, 0, fmt.Errorf("%s %s: dtype %s, want float16, float32 or float64", what, path, h.DType)
	}
	rows, cols := h.Shape[0], h.Shape[1]
	out := make([][]float64, len(fns))
	for i := range out {
		out[i] = make([]float64, 0, rows)
	}
	if rows == 0 || cols == 0 {
		if cols == 0 && rows > 0 {
			return nil, 0, 0, fmt.Errorf("%s %s: shape %v, want at least one column", what, path, h.Shape)
		}
		return out, rows, cols, nil
	}
	per := max(1, min(rows, oodWindow/(8*cols)))
	buf := make([]float64, per*cols)
	for first := 0; first < rows; {
		n, err := npy.ReadRows(r, buf)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%s %s: %w", what, path, err)
		}
		for i, f := range fns {
			s, err := f(buf[:n*cols], cols)
			if err != nil {
				return nil, 0, 0, fmt.Errorf("%s %s, rows %d to %d (the row below counts from %d): %w", what, path, first, first+n-1, first, err)
			}
			out[i] = append(out[i], s...)
		}
		first += n
	}
	return out, rows, cols, nil
}
