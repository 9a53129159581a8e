package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/xentlab/xent/internal/gemm"
	"github.com/xentlab/xent/internal/par"
)

func init() {
	registerBench(&benchOp{
		name:    "gemm",
		summary: "float32 matrix multiply C = op(A)·op(B) vs a plain-Go loop",
		run:     benchGemm,
	})
}

func benchGemm(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench gemm", "[--m M] [--n N] [--k K] [--threads T] [--transa] [--transb] [--reps R] [--baseline go|none] [--json]", stderr)
	m := fs.Int("m", 1024, "rows of op(A) and of C")
	n := fs.Int("n", 1024, "columns of op(B) and of C")
	k := fs.Int("k", 1024, "columns of op(A), rows of op(B)")
	threads := fs.Int("threads", 1, "goroutines for both sides (0: all cores)")
	transA := fs.Bool("transa", false, "A is stored k×m (op(A) = Aᵀ)")
	transB := fs.Bool("transb", false, "B is stored n×k (op(B) = Bᵀ, as in hidden·weightsᵀ)")
	reps := fs.Int("reps", 5, "timed repetitions of each side (after one warm-up)")
	baseline := fs.String("baseline", "go", `"go" (a plain-Go i-k-j loop) or "none"`)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *m < 1 || *n < 1 || *k < 1 {
		return usagef("--m, --n and --k must be ≥ 1")
	}
	for _, s := range [][2]int{{*m, *k}, {*k, *n}, {*m, *n}} {
		if int64(s[0])*int64(s[1]) > 1<<31 {
			return usagef("an operand of %d×%d is too large (limit 2³¹ elements)", s[0], s[1])
		}
	}
	if *baseline != "go" && *baseline != "none" {
		return usagef(`--baseline must be "go" or "none", not %q`, *baseline)
	}
	if *reps < 1 {
		return usagef("--reps must be ≥ 1")
	}
	if err := benchChecks(*threads, *reps, 4*(float64(*m)*float64(*k)+float64(*k)*float64(*n)+2*float64(*m)*float64(*n))); err != nil {
		return err
	}
	th := par.Threads(*threads)
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(x []float32) {
		for i := range x {
			x[i] = float32(rng.Float64()*2 - 1)
		}
	}
	a, b := make([]float32, *m**k), make([]float32, *k**n)
	fill(a)
	fill(b)
	lda, ldb := *k, *n
	if *transA {
		lda = *m
	}
	if *transB {
		ldb = *k
	}
	c, bc := make([]float32, *m**n), make([]float32, *m**n)
	ours := func() { gemm.Gemm(*transA, *transB, *m, *n, *k, 1, a, lda, b, ldb, 0, c, *n, th) }
	var base func()
	if *baseline == "go" {
		base = func() { naiveGemm(*transA, *transB, *m, *n, *k, a, b, bc, th) }
	}
	t := measure(*reps, ours, base)
	if base != nil {
		// Both sides must agree within twice the documented error bound
		// (entries of A and B are in [−1, 1], so Σ|a||b| ≤ k).
		tol := 2 * float64(2**k+4) * 0x1p-24 * float64(*k)
		for i := range c {
			if d := math.Abs(float64(c[i]) - float64(bc[i])); !(d <= tol) {
				return fmt.Errorf("result differs from the baseline at element %d: %v vs %v", i, c[i], bc[i])
			}
		}
	}
	flops := 2 * float64(*m) * float64(*n) * float64(*k)
	speedup := 0.0
	if base != nil {
		speedup = t.base / t.ours
	}
	if *asJSON {
		return writeJSON(stdout, map[string]any{
			"op": "gemm", "m": *m, "n": *n, "k": *k, "transa": *transA, "transb": *transB, "threads": th,
			"ours_s": t.ours, "gflops": flops / t.ours / 1e9,
			"baseline":   map[bool]string{true: "go-loop", false: "none"}[base != nil],
			"baseline_s": t.base, "speedup": speedup,
		})
	}
	fmt.Fprintf(stdout, "gemm %d×%d×%d float32 (transa=%v transb=%v), %d thread(s), median of %d\n", *m, *n, *k, *transA, *transB, th, *reps)
	fmt.Fprintf(stdout, "  xent        %10.3f ms  %7.1f GFLOP/s\n", t.ours*1e3, flops/t.ours/1e9)
	if base != nil {
		fmt.Fprintf(stdout, "  go loop     %10.3f ms  %7.1f GFLOP/s\n", t.base*1e3, flops/t.base/1e9)
		fmt.Fprintf(stdout, "  speed-up    %10.2fx\n", speedup)
	}
	return nil
}

// naiveGemm is the baseline: C = op(A)·op(B) by the textbook loops in
// plain Go, parallel over rows of C like ours. Each row of op(A) is first
// copied out contiguously; the inner loop then runs over contiguous
// memory: i-k-j (a row of B scaled into a row of C), or i-j-k (a dot
// product of two rows) when B is stored transposed.
func naiveGemm(transA, transB bool, m, n, k int, a, b, c []float32, threads int) {
	par.For(m, 16, threads, func(_, lo, hi int) {
		arow := make([]float32, k)
		for i := lo; i < hi; i++ {
			for p := range arow {
				if transA {
					arow[p] = a[p*m+i]
				} else {
					arow[p] = a[i*k+p]
				}
			}
			crow := c[i*n : (i+1)*n]
			if transB {
				for j := range crow {
					brow := b[j*k : (j+1)*k]
					var s float32
					for p, v := range arow {
						s += v * brow[p]
					}
					crow[j] = s
				}
				continue
			}
			clear(crow)
			for p, aip := range arow {
				brow := b[p*n : (p+1)*n]
				for j, v := range brow {
					crow[j] += aip * v
				}
			}
		}
	})
}
