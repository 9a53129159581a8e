package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/loss"
)

func init() {
	registerBench(&benchOp{
		name:    "ce",
		summary: "cross-entropy forward+backward (float32, mean, hard labels) vs plain Go",
		run:     benchCE,
	})
}

func benchCE(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench ce", "[--rows R] [--cols C] [--threads T] [--reps N] [--json]", stdout)
	rows := fs.Int("rows", 4096, "rows (tokens)")
	cols := fs.Int("cols", 32768, "columns (classes)")
	threads := fs.Int("threads", 1, "goroutines for both sides (0: all cores)")
	reps := fs.Int("reps", 7, "timed repetitions of each side (after one warm-up)")
	baseline := fs.String("baseline", "go-three-pass", "go-three-pass (plain Go, same threads) or none")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *baseline != "go-three-pass" && *baseline != "none" {
		return usagef("--baseline %q: want go-three-pass or none", *baseline)
	}
	if *rows < 1 || *cols < 1 {
		return usagef("--rows and --cols must be ≥ 1")
	}
	if int64(*rows)*int64(*cols) > 1<<31 {
		return usagef("--rows × --cols = %d is too large (limit 2³¹ elements)", int64(*rows)*int64(*cols))
	}
	th := par.Threads(*threads)
	rng := rand.New(rand.NewPCG(3, 4))
	if err := benchChecks(*threads, *reps, 3*4*float64(*rows)*float64(*cols)); err != nil {
		return err
	}
	x := make([]float32, *rows**cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 3)
	}
	labels := make([]int32, *rows)
	for i := range labels {
		labels[i] = int32(rng.IntN(*cols))
	}
	// Each side writes its gradient to its own buffer, so the logits stay
	// the same for every repetition.
	gOurs := make([]float32, len(x))
	gBase := make([]float32, len(x))
	ce, err := loss.NewCrossEntropy(loss.WithThreads(th))
	if err != nil {
		return err
	}
	var failed error
	var vOurs, vBase float64
	var base func()
	if *baseline != "none" {
		base = func() { vBase = naiveCE(gBase, x, labels, *cols, th) }
	}
	t := measure(*reps, func() {
		v, err := ce.Eval32(loss.Input[float32]{Logits: x, Cols: *cols, Labels: labels}, loss.Output[float32]{Grad: gOurs})
		vOurs = v
		if err != nil {
			failed = err
		}
	}, base, memoryRoof("ce", x, *cols, th))
	if failed != nil {
		return failed
	}
	if base != nil && math.Abs(vOurs-vBase) > 1e-4*math.Abs(vBase) {
		return fmt.Errorf("the two sides disagree: loss %v vs baseline %v", vOurs, vBase)
	}
	// One read and one write of the logits.
	return printRowwise(stdout, *asJSON, "ce", *rows, *cols, th, *reps, *baseline, t, float64(8*len(x)))
}

// naiveCE is the baseline: per row the textbook max, sum of exp in
// float64, loss and gradient softmax − onehot, divided by the row count.
func naiveCE(g, x []float32, labels []int32, cols, threads int) float64 {
	rows := len(labels)
	grain := max(1, 32768/cols)
	parts := make([]float64, par.Blocks(rows, grain))
	inv := 1 / float64(rows)
	par.For(rows, grain, threads, func(b, lo, hi int) {
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
			lse := float64(m) + math.Log(s)
			y := labels[r]
			parts[b] += lse - float64(row[y])
			out := g[r*cols : (r+1)*cols]
			for i, v := range row {
				out[i] = float32(math.Exp(float64(v)-lse) * inv)
			}
			out[y] -= float32(inv)
		}
	})
	var total float64
	for _, p := range parts {
		total += p
	}
	return total * inv
}
