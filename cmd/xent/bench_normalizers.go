package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/softmax"
)

// Bench ops for the alternative normalisers of package softmax:
// topk-softmax and sigmoid against plain-Go loops, twopass-lse and
// twopass-softmax against the max-shift kernels (softmax.LogSumExp and
// softmax.Softmax). Same JSON fields as the other row-wise benches.
func init() {
	for _, op := range []struct{ name, what string }{
		{"topk-softmax", "top-k sparse softmax gate (float32) vs a plain-Go sort-and-softmax loop"},
		{"sigmoid", "sigmoid normaliser σ(x − log n) (float32) vs a plain-Go loop"},
		{"twopass-lse", "two-pass (mantissa, exponent) log-sum-exp (float32) vs softmax.LogSumExp"},
		{"twopass-softmax", "two-pass (mantissa, exponent) softmax (float32) vs softmax.Softmax"},
	} {
		registerBench(&benchOp{
			name:    op.name,
			summary: op.what,
			run: func(args []string, stdout, stderr io.Writer) error {
				return benchNormalizer(op.name, args, stdout, stderr)
			},
		})
	}
}

func benchNormalizer(op string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench "+op, "[--rows R] [--cols C] [--k K] [--threads T] [--reps N] [--json]", stdout)
	rows := fs.Int("rows", 4096, "rows of the float32 matrix")
	cols := fs.Int("cols", 32768, "columns of the matrix")
	k := fs.Int("k", 2, "topk-softmax: entries kept per row")
	threads := fs.Int("threads", 1, "goroutines for both sides (0: all cores)")
	reps := fs.Int("reps", 7, "timed repetitions of each side (after one warm-up)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *rows < 1 || *cols < 1 {
		return usagef("--rows and --cols must be ≥ 1")
	}
	if int64(*rows)*int64(*cols) > 1<<31 {
		return usagef("--rows × --cols = %d is too large (limit 2³¹ elements)", int64(*rows)*int64(*cols))
	}
	if op == "topk-softmax" && (*k < 1 || *k > *cols) {
		return usagef("--k = %d, want 1 ≤ k ≤ cols", *k)
	}
	th := par.Threads(*threads)
	if err := benchChecks(*threads, *reps, 3*4*float64(*rows)*float64(*cols)); err != nil {
		return err
	}
	x := make([]float32, *rows**cols)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 3)
	}
	n := len(x)
	if op == "twopass-lse" {
		n = *rows
	}
	dst, bdst := make([]float32, n), make([]float32, n)
	bias := softmax.SigmoidBias(*cols)
	var ours func() error
	var base func()
	var baseName string
	switch op {
	case "topk-softmax":
		ours = func() error { return softmax.TopKSoftmax(dst, x, *cols, *k, softmax.Threads(th)) }
		base = func() { naiveTopK(bdst, x, *cols, *k, th) }
		baseName = "go-sort-softmax"
	case "sigmoid":
		ours = func() error { return softmax.Sigmoid(dst, x, *cols, bias, softmax.Threads(th)) }
		base = func() { naiveSigmoid(bdst, x, *cols, float32(bias), th) }
		baseName = "go-loop"
	case "twopass-lse":
		ours = func() error { return softmax.TwoPassLogSumExp(dst, x, *cols, softmax.Threads(th)) }
		base = func() { _ = softmax.LogSumExp(bdst, x, *cols, softmax.Threads(th)) }
		baseName = "softmax.LogSumExp"
	default:
		ours = func() error { return softmax.TwoPassSoftmax(dst, x, *cols, softmax.Threads(th)) }
		base = func() { _ = softmax.Softmax(bdst, x, *cols, softmax.Threads(th)) }
		baseName = "softmax.Softmax"
	}
	if err := ours(); err != nil {
		return err
	}
	var failed error
	t := measure(*reps, func() {
		if err := ours(); err != nil {
			failed = err
		}
	}, base)
	if failed != nil {
		return failed
	}
	// Effective bandwidth: the input read once and the output written once.
	bytes := float64(4 * (len(x) + n))
	gbps := bytes / t.ours / 1e9
	if *asJSON {
		return writeJSON(stdout, map[string]any{
			"op": op, "rows": *rows, "cols": *cols, "threads": th,
			"ours_s": t.ours, "baseline": baseName, "baseline_s": t.base,
			"speedup": t.base / t.ours, "gbps": gbps,
		})
	}
	fmt.Fprintf(stdout, "%s [%d, %d] float32, %d thread(s), median of %d\n", op, *rows, *cols, th, *reps)
	fmt.Fprintf(stdout, "  xent              %10.3f ms  %6.1f GB/s\n", t.ours*1e3, gbps)
	fmt.Fprintf(stdout, "  %-17s %10.3f ms  %6.1f GB/s\n", baseName, t.base*1e3, bytes/t.base/1e9)
	fmt.Fprintf(stdout, "  speed-up          %10.2fx\n", t.base/t.ours)
	return nil
}

// naiveTopK is the top-k baseline: sort each row's indices by value, then
// a float64 softmax over the first k.
func naiveTopK(dst, x []float32, cols, k, threads int) {
	rows := len(x) / cols
	par.For(rows, max(1, 32768/cols), threads, func(_, lo, hi int) {
		idx := make([]int, cols)
		for r := lo; r < hi; r++ {
			row, out := x[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
			for i := range idx {
				idx[i] = i
			}
			sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
			for i := range out {
				out[i] = 0
			}
			m := float64(row[idx[0]])
			var s float64
			for _, j := range idx[:k] {
				s += math.Exp(float64(row[j]) - m)
			}
			for _, j := range idx[:k] {
				out[j] = float32(math.Exp(float64(row[j])-m) / s)
			}
		}
	})
}

// naiveSigmoid is the sigmoid baseline: 1/(1 + exp(−(x + b))) per element.
func naiveSigmoid(dst, x []float32, cols int, b float32, threads int) {
	rows := len(x) / cols
	par.For(rows, max(1, 32768/cols), threads, func(_, lo, hi int) {
		for i := lo * cols; i < hi*cols; i++ {
			dst[i] = float32(1 / (1 + math.Exp(-float64(x[i]+b))))
		}
	})
}
