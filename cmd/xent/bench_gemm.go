package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/xentlab/xent/internal/gemm"
	"github.com/xentlab/xent/internal/par"
)

func init() {
	registerBench(&benchOp{
		name:    "gemm",
		summary: "float32 matrix multiply C = op(A)·op(B) vs a plain-Go loop or OpenBLAS",
		run:     benchGemm,
	})
}

func benchGemm(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench gemm", "[--m M] [--n N] [--k K] [--threads T] [--transa] [--transb] [--reps R] [--baseline go|openblas|none] [--rounds R] [--json]", stdout)
	m := fs.Int("m", 1024, "rows of op(A) and of C")
	n := fs.Int("n", 1024, "columns of op(B) and of C")
	k := fs.Int("k", 1024, "columns of op(A), rows of op(B)")
	threads := fs.Int("threads", 1, "goroutines for both sides (0: all cores)")
	transA := fs.Bool("transa", false, "A is stored k×m (op(A) = Aᵀ)")
	transB := fs.Bool("transb", false, "B is stored n×k (op(B) = Bᵀ, as in hidden·weightsᵀ)")
	reps := fs.Int("reps", 5, "timed repetitions of each side (after one warm-up)")
	baseline := fs.String("baseline", "go", `"go" (a plain-Go i-k-j loop), "openblas" (cblas_sgemm through the program of bench/openblas, found as $XENT_OPENBLAS or xent-openblas on the PATH) or "none"`)
	rounds := fs.Int("rounds", 5, "with --baseline openblas: rounds, each timing both sides (reps calls each) one after the other; the medians over rounds are reported")
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
	if *baseline != "go" && *baseline != "none" && *baseline != "openblas" {
		return usagef(`--baseline must be "go", "openblas" or "none", not %q`, *baseline)
	}
	if *reps < 1 || *rounds < 1 {
		return usagef("--reps and --rounds must be ≥ 1")
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
	flops := 2 * float64(*m) * float64(*n) * float64(*k)
	if *baseline == "openblas" {
		return benchGemmOpenBLAS(stdout, *asJSON, *m, *n, *k, *transA, *transB, th, *reps, *rounds, flops, ours)
	}
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

// benchGemmOpenBLAS times ours against OpenBLAS's cblas_sgemm, run by
// the program of bench/openblas (a cgo module of its own, so that xent
// itself needs neither cgo nor OpenBLAS) as a child process with
// OPENBLAS_NUM_THREADS = threads and OpenBLAS free to pick its kernels.
// Each round times reps calls of ours (after a warm-up call) and then one
// run of the program (a warm-up call and reps timed calls); each side's
// round figure is its median call, and the report gives the median over
// rounds of each side, their ratio and the range.
func benchGemmOpenBLAS(stdout io.Writer, asJSON bool, m, n, k int, transA, transB bool, threads, reps, rounds int, flops float64, ours func()) error {
	prog := os.Getenv("XENT_OPENBLAS")
	if prog == "" {
		p, err := exec.LookPath("xent-openblas")
		if err != nil {
			return fmt.Errorf("--baseline openblas needs the program of bench/openblas: build it with (cd bench/openblas && go build -o xent-openblas .) and put it on the PATH or name it in XENT_OPENBLAS")
		}
		prog = p
	}
	args := []string{"-m", strconv.Itoa(m), "-n", strconv.Itoa(n), "-k", strconv.Itoa(k), "-threads", strconv.Itoa(threads), "-reps", strconv.Itoa(reps)}
	if transA {
		args = append(args, "-transa")
	}
	if transB {
		args = append(args, "-transb")
	}
	env := []string{"OPENBLAS_NUM_THREADS=" + strconv.Itoa(threads)}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENBLAS_CORETYPE=") && !strings.HasPrefix(kv, "OPENBLAS_L2_SIZE=") && !strings.HasPrefix(kv, "OPENBLAS_NUM_THREADS=") {
			env = append(env, kv)
		}
	}
	var xs, bs []float64
	ours()
	for range rounds {
		t := measure(reps, ours, nil)
		xs = append(xs, t.ours)
		cmd := exec.Command(prog, args...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("running %s: %v", prog, err)
		}
		var r struct {
			Seconds float64 `json:"seconds"`
		}
		if err := json.Unmarshal(out, &r); err != nil || !(r.Seconds > 0) {
			return fmt.Errorf("%s printed %q, want one JSON line with seconds", prog, strings.TrimSpace(string(out)))
		}
		bs = append(bs, r.Seconds)
	}
	x, o := median(xs), median(bs)
	gf := func(s float64) float64 { return flops / s / 1e9 }
	if asJSON {
		return writeJSON(stdout, map[string]any{
			"op": "gemm", "m": m, "n": n, "k": k, "transa": transA, "transb": transB, "threads": threads,
			"rounds": rounds, "ours_s": x, "gflops": gf(x), "baseline": "openblas", "baseline_s": o,
			"baseline_gflops": gf(o), "speedup": o / x,
			"gflops_range":          []float64{gf(slices.Max(xs)), gf(slices.Min(xs))},
			"baseline_gflops_range": []float64{gf(slices.Max(bs)), gf(slices.Min(bs))},
		})
	}
	fmt.Fprintf(stdout, "gemm %d×%d×%d float32 (transa=%v transb=%v), %d thread(s), median of %d rounds of %d calls\n", m, n, k, transA, transB, threads, rounds, reps)
	fmt.Fprintf(stdout, "  xent        %10.3f ms  %7.1f GFLOP/s  (rounds %.1f–%.1f)\n", x*1e3, gf(x), gf(slices.Max(xs)), gf(slices.Min(xs)))
	fmt.Fprintf(stdout, "  openblas    %10.3f ms  %7.1f GFLOP/s  (rounds %.1f–%.1f)\n", o*1e3, gf(o), gf(slices.Max(bs)), gf(slices.Min(bs)))
	fmt.Fprintf(stdout, "  xent/openblas %8.3f\n", o/x)
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
