package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/xentlab/xent/internal/gemm"
	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/linear"
	"github.com/xentlab/xent/loss"
)

func init() {
	registerBench(&benchOp{
		name:    "linear-ce",
		summary: "fused head forward+backward vs the materialized path (GEMM → logits → CE → two GEMMs)",
		run:     benchLinear,
	})
}

func benchLinear(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench linear-ce", "[--tokens N] [--dim D] [--vocab V] [--threads T] [--filter-eps E] [--peaked] [--baseline materialized|none] [--reps R] [--json]", stdout)
	n := fs.Int("tokens", 4096, "tokens N (rows of the hidden states)")
	d := fs.Int("dim", 1024, "hidden dimension D")
	v := fs.Int("vocab", 32768, "vocabulary V")
	threads := fs.Int("threads", 1, "goroutines (0: all cores)")
	eps := fs.Float64("filter-eps", 0, "gradient filtering threshold (0: exact); the bf16-style one is 0.000244140625 (2⁻¹²)")
	peaked := fs.Bool("peaked", false, "concentrated softmax, like a trained model's, so that filtering has tiles to skip")
	baseline := fs.String("baseline", "materialized", "materialized (our GEMM, logits, our cross-entropy, two GEMMs) or none")
	reps := fs.Int("reps", 3, "timed repetitions of each side (after one warm-up)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 || *d < 1 || *v < 1 {
		return usagef("--tokens, --dim and --vocab must be ≥ 1")
	}
	if *baseline != "materialized" && *baseline != "none" {
		return usagef("--baseline %q: want materialized or none", *baseline)
	}
	nf, df, vf := float64(*n), float64(*d), float64(*v)
	if err := benchChecks(*threads, *reps, 4*(3*nf*df+3*vf*df+nf*vf)); err != nil {
		return err
	}
	th := par.Threads(*threads)
	in := benchHeadInput(*n, *d, *v, *peaked)
	out := linear.Output{GradHidden: make([]float32, *n**d), GradWeight: make([]float32, *v**d)}
	head := linear.Head{FilterEps: *eps, Threads: th}
	var st linear.Stats
	var failed error
	ours := func() {
		s, err := head.Eval(in, out)
		st = s
		if err != nil {
			failed = err
		}
	}
	var base func()
	if *baseline == "materialized" {
		z := make([]float32, *n**v)
		dh := make([]float32, *n**d)
		dw := make([]float32, *v**d)
		ce, err := loss.NewCrossEntropy(loss.WithThreads(th))
		if err != nil {
			return err
		}
		base = func() {
			gemm.Gemm(false, true, *n, *v, *d, 1, in.Hidden, *d, in.Weight, *d, 0, z, *v, th)
			if _, err := ce.Eval32(loss.Input[float32]{Logits: z, Cols: *v, Labels: in.Targets}, loss.Output[float32]{Grad: z}); err != nil {
				failed = err
			}
			gemm.Gemm(false, false, *n, *d, *v, 1, z, *v, in.Weight, *d, 0, dh, *d, th)
			gemm.Gemm(true, false, *v, *d, *n, 1, z, *v, in.Hidden, *d, 0, dw, *d, th)
		}
	}
	t := measure(*reps, ours, base)
	if failed != nil {
		return failed
	}
	flops := 6 * float64(*n) * float64(*d) * float64(*v)
	var dh, dw float64 // relative change of the gradients under filtering
	if *eps > 0 {
		exact := linear.Output{GradHidden: make([]float32, *n**d), GradWeight: make([]float32, *v**d)}
		if _, err := (linear.Head{Threads: th}).Eval(in, exact); err != nil {
			return err
		}
		dh, dw = relDiff(out.GradHidden, exact.GradHidden), relDiff(out.GradWeight, exact.GradWeight)
	}
	res := map[string]any{
		"op": "linear-ce", "tokens": *n, "dim": *d, "vocab": *v, "threads": th,
		"ours_s": t.ours, "gflops": flops / t.ours / 1e9, "baseline": *baseline,
		"extra_bytes": st.ExtraBytes, "skipped_tiles": st.SkippedTiles, "tiles": st.Tiles, "loss": st.Loss,
	}
	if base != nil {
		res["baseline_s"], res["speedup"] = t.base, t.base/t.ours
	}
	if *eps > 0 {
		res["grad_hidden_rel_change"], res["grad_weight_rel_change"] = dh, dw
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "fused head fwd+bwd N=%d D=%d V=%d, %d thread(s), median of %d\n", *n, *d, *v, th, *reps)
	fmt.Fprintf(stdout, "  xent fused        %9.3f s  %7.1f GFLOP/s  scratch %.1f MiB  loss %.6f\n", t.ours, flops/t.ours/1e9, float64(st.ExtraBytes)/(1<<20), st.Loss)
	if *eps > 0 {
		fmt.Fprintf(stdout, "  filtering skipped %d of %d tiles; the loss is unchanged, ‖Δ∂H‖/‖∂H‖ = %.3g, ‖Δ∂W‖/‖∂W‖ = %.3g\n", st.SkippedTiles, st.Tiles, dh, dw)
	}
	if base != nil {
		fmt.Fprintf(stdout, "  materialized      %9.3f s  %7.1f GFLOP/s  (logits %.0f MiB)\n", t.base, flops/t.base/1e9, float64(4**n**v)/(1<<20))
		fmt.Fprintf(stdout, "  speed-up          %9.2fx\n", t.base/t.ours)
	}
	return nil
}

// relDiff returns ‖a − b‖/‖b‖ (Frobenius norms, in float64).
func relDiff(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	if den == 0 {
		return 0
	}
	return math.Sqrt(num / den)
}

// benchHeadInput makes a random head; peaked aligns each hidden state with
// its target's weight row so that the softmax concentrates there.
func benchHeadInput(n, d, v int, peaked bool) linear.Input {
	rng := rand.New(rand.NewPCG(5, 6))
	in := linear.Input{N: n, D: d, V: v, Hidden: make([]float32, n*d), Weight: make([]float32, v*d), Targets: make([]int32, n)}
	s := 1 / math.Sqrt(float64(d))
	for i := range in.Weight {
		in.Weight[i] = float32(rng.NormFloat64() * s)
	}
	for i := range in.Targets {
		in.Targets[i] = int32(rng.IntN(v))
	}
	for i := 0; i < n; i++ {
		y := int(in.Targets[i])
		for k := 0; k < d; k++ {
			h := rng.NormFloat64()
			if peaked {
				h = 0.3*h + 15*float64(in.Weight[y*d+k])
			}
			in.Hidden[i*d+k] = float32(h)
		}
	}
	return in
}
