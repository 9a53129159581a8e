package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/xentlab/xent/evalacc"
	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/loss"
	"github.com/xentlab/xent/metrics"
	"github.com/xentlab/xent/npy"
)

func init() {
	registerBench(&benchOp{
		name:    "eval",
		summary: "xent eval streamed from a file (page cache) vs the same evaluation of logits already in memory",
		run:     benchEval,
	})
}

const benchEvalUsage = `[--rows R] [--cols C] [--threads T] [--reps N] [--window KiB] [--dir D] [--json]

Writes random float32 logits [R, C] and labels to D (a temporary directory
by default), drops the logits from the page cache and reads them back (so
that the cache holds them as it holds a file read from disk), then times
alternately: ours, the streaming evaluation of xent eval (cross-entropy,
accuracy@1 and @5, NLL, Brier, ECE with equal-width and equal-mass bins)
read from the files a window at a time; and the baseline, the same
evaluation of the logits already in memory, in one call of the loss and
one of metrics.Evaluate, with the same kernels and threads. The ratio is
baseline time over ours: the fraction of the in-memory speed streaming
keeps.`

func benchEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench eval", benchEvalUsage, stdout)
	rows := fs.Int("rows", 8192, "rows of the logits")
	cols := fs.Int("cols", 32768, "columns (classes)")
	threads := fs.Int("threads", 1, "goroutines for both sides (0: all cores)")
	reps := fs.Int("reps", 5, "timed repetitions of each side (after one warm-up)")
	window := fs.Int("window", evalacc.DefaultWindow>>10, "KiB of logits per block and thread of the streaming side")
	dir := fs.String("dir", "", "directory of the data files (default: a temporary one, removed after)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *rows < 1 || *cols < 2:
		return usagef("--rows ≥ 1 and --cols ≥ 2, please")
	case int64(*rows)*int64(*cols) > 1<<31:
		return usagef("--rows × --cols = %d is too large for the in-memory side (limit 2³¹ elements)", int64(*rows)*int64(*cols))
	case *window < 1:
		return usagef("--window %d KiB, want ≥ 1", *window)
	}
	d := *dir
	if d == "" {
		tmp, err := os.MkdirTemp("", "xent-bench-eval-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		d = tmp
	}
	lp, yp := filepath.Join(d, "logits.npy"), filepath.Join(d, "labels.npy")
	x, y, err := writeBenchEvalData(lp, yp, *rows, *cols)
	if err != nil {
		return err
	}
	th := par.Threads(*threads)
	cfg := evalacc.DefaultConfig("cross-entropy")
	cfg.Cols, cfg.Targets, cfg.Metrics = *cols, evalacc.Labels, evalacc.EvalMetrics(*cols)

	var oursReport, baseReport evalacc.Report
	var failed error
	ours := func() {
		ev, err := evalacc.NewEvaluator(cfg, evalacc.Threads(th), evalacc.Window(*window<<10))
		if err == nil {
			err = addShard(ev, lp, yp, "", nil)
		}
		if err == nil {
			oursReport, err = ev.Partial().Report()
		}
		if err != nil && failed == nil {
			failed = err
		}
	}
	y32 := make([]int32, len(y))
	for i, v := range y {
		y32[i] = int32(v)
	}
	l, _, err := loss.Parse("cross-entropy", loss.WithThreads(th))
	if err != nil {
		return err
	}
	base := func() {
		v, err := l.Eval32(loss.Input[float32]{Logits: x, Cols: *cols, Labels: y32}, loss.Output[float32]{})
		if err != nil {
			failed = err
			return
		}
		r, err := metrics.Evaluate(x, *cols, y32, metrics.TopK(1, 5), metrics.Threads(th))
		if err != nil {
			failed = err
			return
		}
		ew, _ := r.Calibration.Errors(15, metrics.EqualWidth)
		em, _ := r.Calibration.Errors(15, metrics.EqualMass)
		baseReport = evalacc.Report{Loss: v, Rows: int64(*rows), Cols: *cols, Metrics: &evalacc.MetricsReport{
			Accuracy: r.Accuracy[0], Top5: r.Accuracy[1], NLL: r.NLL, Brier: r.Brier, ECE: ew.ECE, ECEAdaptive: em.ECE, MCE: ew.MCE}}
	}
	t := measure(*reps, ours, base)
	if failed != nil {
		return failed
	}
	bytes := float64(*rows) * float64(*cols) * 4
	res := map[string]any{
		"op": "eval", "rows": *rows, "cols": *cols, "threads": th, "window_kib": *window,
		"ours_s": t.ours, "baseline_s": t.base, "ratio": t.base / t.ours,
		"ours_gbps": bytes / t.ours / 1e9, "baseline_gbps": bytes / t.base / 1e9,
		"loss": oursReport.Loss, "baseline_loss": baseReport.Loss,
		"accuracy": oursReport.Metrics.Accuracy, "baseline_accuracy": baseReport.Metrics.Accuracy,
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "eval [%d, %d] float32 (%.2f GiB), %d thread(s), %d KiB window\n", *rows, *cols, bytes/(1<<30), th, *window)
	fmt.Fprintf(stdout, "  streamed from the page cache  %8.3f s  %6.2f GB/s\n", t.ours, bytes/t.ours/1e9)
	fmt.Fprintf(stdout, "  in memory (one call each)     %8.3f s  %6.2f GB/s\n", t.base, bytes/t.base/1e9)
	fmt.Fprintf(stdout, "  streamed / in-memory speed    %8.3f\n", t.base/t.ours)
	fmt.Fprintf(stdout, "  loss %.9g (in memory %.9g), accuracy %.6f (%.6f)\n", oursReport.Loss, baseReport.Loss, oursReport.Metrics.Accuracy, baseReport.Metrics.Accuracy)
	return nil
}

// writeBenchEvalData writes random logits and labels (every row counted)
// and returns them; reading them back leaves the files in the page cache.
func writeBenchEvalData(lp, yp string, rows, cols int) ([]float32, []int64, error) {
	rng := rand.New(rand.NewPCG(14, 99))
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 3)
	}
	y := make([]int64, rows)
	for i := range y {
		y[i] = int64(rng.IntN(cols))
	}
	if err := npy.WriteFile(lp, x, rows, cols); err != nil {
		return nil, nil, err
	}
	if err := npy.WriteFile(yp, y, rows); err != nil {
		return nil, nil, err
	}
	// The page cache now holds the file as if it had been read from disk.
	if err := recache(lp); err != nil {
		return nil, nil, err
	}
	return x, y, nil
}
