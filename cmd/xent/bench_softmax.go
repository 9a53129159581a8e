package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/vek"
	"github.com/xentlab/xent/softmax"
)

func init() {
	for _, op := range []struct{ name, what string }{
		{"softmax", "row-wise softmax"},
		{"logsoftmax", "row-wise log-softmax"},
		{"lse", "row-wise log-sum-exp"},
	} {
		registerBench(&benchOp{
			name:    op.name,
			summary: op.what + " (float32) vs scalar float32 Go (one exp per element), with the copy roof",
			run: func(args []string, stdout, stderr io.Writer) error {
				return benchRowwise(op.name, args, stdout, stderr)
			},
		})
	}
}

func benchRowwise(op string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench "+op, "[--rows R] [--cols C] [--threads T] [--reps N] [--json]", stdout)
	rows := fs.Int("rows", 4096, "rows of the float32 matrix")
	cols := fs.Int("cols", 32768, "columns of the matrix")
	threads := fs.Int("threads", 1, "goroutines for both sides (0: all cores)")
	reps := fs.Int("reps", 7, "timed repetitions of each side (after one warm-up)")
	baseline := fs.String("baseline", "go-scalar", "go-scalar (float32 Go, max-shifted, one exp per element, same threads), go-float64 (math.Exp in float64, two exps per element for softmax) or none")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch *baseline {
	case "go-scalar", "go-float64", "none":
	case "go-three-pass": // the former name of go-float64
		*baseline = "go-float64"
	default:
		return usagef("--baseline %q: want go-scalar, go-float64 or none", *baseline)
	}
	if *rows < 1 || *cols < 1 {
		return usagef("--rows and --cols must be ≥ 1")
	}
	if int64(*rows)*int64(*cols) > 1<<31 {
		return usagef("--rows × --cols = %d is too large (limit 2³¹ elements)", int64(*rows)*int64(*cols))
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
	if op == "lse" {
		n = *rows
	}
	dst := make([]float32, n)
	bdst := make([]float32, n)
	var ours func() error
	switch op {
	case "softmax":
		ours = func() error { return softmax.Softmax(dst, x, *cols, softmax.Threads(th)) }
	case "logsoftmax":
		ours = func() error { return softmax.LogSoftmax(dst, x, *cols, softmax.Threads(th)) }
	default:
		ours = func() error { return softmax.LogSumExp(dst, x, *cols, softmax.Threads(th)) }
	}
	if err := ours(); err != nil {
		return err
	}
	var failed error
	var base func()
	switch *baseline {
	case "go-scalar":
		base = func() { scalarRowwise(op, bdst, x, *cols, th) }
	case "go-float64":
		base = func() { naiveRowwise(op, bdst, x, *cols, th) }
	}
	t := measure(*reps, func() {
		if err := ours(); err != nil {
			failed = err
		}
	}, base, memoryRoof(op, x, *cols, th))
	if failed != nil {
		return failed
	}
	// Effective bandwidth: the input read once and the output written once.
	bytes := float64(4 * (len(x) + n))
	return printRowwise(stdout, *asJSON, op, *rows, *cols, th, *reps, *baseline, t, bytes)
}

// memoryRoof returns the memory-bound reference of a row-wise op, run on
// the same threads: a copy of x (one read and one write of the same
// bytes, as Go's copy does them: non-temporal stores for large sizes) for
// the ops that write a matrix, a read of x (its maximum) for lse.
func memoryRoof(op string, x []float32, cols, th int) func() {
	rows := len(x) / cols
	grain := max(1, (rows+63)/64)
	if op == "lse" {
		return func() {
			par.For(rows, grain, th, func(_, lo, hi int) { vek.MaxNaN32(x[lo*cols : hi*cols]) })
		}
	}
	y := make([]float32, len(x))
	return func() {
		par.For(rows, grain, th, func(_, lo, hi int) { copy(y[lo*cols:hi*cols], x[lo*cols:hi*cols]) })
	}
}

// printRowwise prints a row-wise bench result: one JSON object, or a
// small table. bytes is what one call reads and writes.
func printRowwise(stdout io.Writer, asJSON bool, op string, rows, cols, th, reps int, baseline string, t timing, bytes float64) error {
	gbps := bytes / t.ours / 1e9
	res := map[string]any{"op": op, "rows": rows, "cols": cols, "threads": th, "ours_s": t.ours, "baseline": baseline, "gbps": gbps}
	if baseline != "none" {
		res["baseline_s"], res["speedup"] = t.base, t.base/t.ours
	}
	roofName := "copy"
	if op == "lse" {
		roofName = "read"
	}
	if t.roof > 0 {
		res["roof"], res["roof_s"], res["roof_fraction"], res["roof_gbps"] = roofName, t.roof, t.roof/t.ours, bytes/t.roof/1e9
	}
	if asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "%s [%d, %d] float32, %d thread(s), median of %d\n", op, rows, cols, th, reps)
	fmt.Fprintf(stdout, "  xent           %10.3f ms  %6.1f GB/s\n", t.ours*1e3, gbps)
	if t.roof > 0 {
		fmt.Fprintf(stdout, "  %-14s %10.3f ms  %6.1f GB/s  (memory roof, same bytes; xent at %.0f%% of it)\n", roofName, t.roof*1e3, bytes/t.roof/1e9, 100*t.roof/t.ours)
	}
	if baseline != "none" {
		fmt.Fprintf(stdout, "  %-14s %10.3f ms  %6.1f GB/s\n", baseline, t.base*1e3, bytes/t.base/1e9)
		fmt.Fprintf(stdout, "  speed-up       %10.2fx  (over %s)\n", t.base/t.ours, baseline)
	}
	return nil
}

// naiveRowwise is the float64 baseline (--baseline go-float64): the
// textbook three passes per row in plain Go (max; sum of math.Exp in
// float64; write, calling math.Exp again for softmax), parallel over rows
// like ours.
func naiveRowwise(op string, dst, x []float32, cols, threads int) {
	rows := len(x) / cols
	par.For(rows, max(1, 32768/cols), threads, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			row := x[r*cols : (r+1)*cols]
			m := float32(math.Inf(-1))
			for _, v := range row {
				m = max(m, v)
			}
			var s float64
			for _, v := range row {
				s += math.Exp(float64(v - m))
			}
			switch op {
			case "lse":
				dst[r] = float32(float64(m) + math.Log(s))
			case "logsoftmax":
				ls := float32(math.Log(s))
				out := dst[r*cols : (r+1)*cols]
				for i, v := range row {
					out[i] = v - m - ls
				}
			default:
				inv := 1 / s
				out := dst[r*cols : (r+1)*cols]
				for i, v := range row {
					out[i] = float32(math.Exp(float64(v-m)) * inv)
				}
			}
		}
	})
}
