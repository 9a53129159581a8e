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
		name:    "ctc",
		summary: "CTC forward+backward (float32 logits [T, N, C], mean) vs a plain Go log-space CTC",
		run:     benchCTC,
	})
}

func benchCTC(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench ctc", "[--frames T] [--batch N] [--classes C] [--target S] [--threads T] [--reps N] [--baseline go-log-space|none] [--json]", stdout)
	frames := fs.Int("frames", 500, "frames per sequence (T)")
	batch := fs.Int("batch", 32, "sequences (N)")
	classes := fs.Int("classes", 5000, "classes, the blank included (C ≥ 2)")
	target := fs.Int("target", 100, "target length (S, labels drawn from 1..C−1)")
	threads := fs.Int("threads", 1, "goroutines for both sides (0: all cores)")
	reps := fs.Int("reps", 5, "timed repetitions of each side (after one warm-up)")
	baseline := fs.String("baseline", "go-log-space", "go-log-space (the textbook algorithm in plain Go, same threads) or none")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *baseline != "go-log-space" && *baseline != "none":
		return usagef("--baseline %q: want go-log-space or none", *baseline)
	case *frames < 1 || *batch < 1 || *classes < 2 || *target < 0:
		return usagef("--frames, --batch ≥ 1, --classes ≥ 2 and --target ≥ 0, please")
	case int64(*frames)*int64(*batch)*int64(*classes) > 1<<31:
		return usagef("--frames × --batch × --classes is too large (limit 2³¹ elements)")
	}
	if err := benchChecks(*threads, *reps, 3*4*float64(*frames)*float64(*batch)*float64(*classes)+4*float64(*batch)*float64(*target)); err != nil {
		return err
	}
	tt, n, c, s := *frames, *batch, *classes, *target
	th := par.Threads(*threads)
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, tt*n*c)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 3)
	}
	tg := make([]int32, n*s)
	for i := range tg {
		tg[i] = int32(1 + rng.IntN(c-1))
	}
	// Each side writes its gradient to its own buffer.
	gOurs := make([]float32, len(x))
	gBase := make([]float32, len(x))
	l, err := loss.NewCTC(0, false, loss.WithThreads(th))
	if err != nil {
		return err
	}
	in := loss.CTCInput[float32]{Logits: x, Batch: n, Classes: c, Targets: tg, TargetCols: s}
	var failed error
	var vOurs, vBase float64
	var base func()
	if *baseline != "none" {
		base = func() { vBase = naiveCTC(gBase, x, tg, tt, n, c, s, th) }
	}
	t := measure(*reps, func() {
		v, err := l.EvalBatch32(in, loss.CTCOutput[float32]{Grad: gOurs})
		vOurs = v
		if err != nil {
			failed = err
		}
	}, base)
	if failed != nil {
		return failed
	}
	if base != nil && !(math.Abs(vOurs-vBase) <= 1e-4*math.Abs(vBase)) {
		return fmt.Errorf("the two sides disagree: loss %v vs baseline %v", vOurs, vBase)
	}
	res := map[string]any{"op": "ctc", "frames": tt, "batch": n, "classes": c, "target": s, "threads": th,
		"ours_s": t.ours, "baseline": *baseline}
	if base != nil {
		res["baseline_s"], res["speedup"] = t.base, t.base/t.ours
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "ctc [T=%d, N=%d, C=%d], S=%d, float32, %d thread(s), median of %d\n", tt, n, c, s, th, *reps)
	fmt.Fprintf(stdout, "  xent           %10.3f ms\n", t.ours*1e3)
	if base != nil {
		fmt.Fprintf(stdout, "  go log-space   %10.3f ms\n", t.base*1e3)
		fmt.Fprintf(stdout, "  speed-up       %10.2fx\n", t.base/t.ours)
	}
	return nil
}

// naiveCTC is the baseline: the textbook algorithm as PyTorch's CPU
// kernel runs it, in plain Go — the log-softmax lp of every frame
// materialized, alpha and beta (emission included) in log space with an
// exp and a log per term, their products collected per class in log
// space (lcab), and the gradient exp(lp) − exp(lcab + nll − lp) written
// for every class — parallel over the sequences. Mean reduction, every
// frame and target at full length.
func naiveCTC(g, x []float32, tg []int32, tt, n, c, s, threads int) float64 {
	L := 2*s + 1
	ninf := math.Inf(-1)
	parts := make([]float64, n)
	lse := func(a, b float64) float64 {
		m := max(a, b)
		if m == ninf {
			return ninf
		}
		return m + math.Log(math.Exp(a-m)+math.Exp(b-m))
	}
	par.For(n, 1, threads, func(_, lo, hi int) {
		lp := make([]float64, tt*c)
		alpha := make([]float64, tt*L)
		beta := make([]float64, tt*L)
		lcab := make([]float64, tt*c)
		ext := make([]int, L)
		for b := lo; b < hi; b++ {
			for st := range ext {
				ext[st] = 0
				if st&1 == 1 {
					ext[st] = int(tg[b*s+st/2])
				}
			}
			for t := 0; t < tt; t++ {
				row := x[(t*n+b)*c : (t*n+b+1)*c]
				m := math.Inf(-1)
				for _, v := range row {
					m = max(m, float64(v))
				}
				var sum float64
				for _, v := range row {
					sum += math.Exp(float64(v) - m)
				}
				ls := m + math.Log(sum)
				for j, v := range row {
					lp[t*c+j] = float64(v) - ls
				}
			}
			for i := range alpha {
				alpha[i], beta[i] = ninf, ninf
			}
			alpha[0] = lp[ext[0]]
			if L > 1 {
				alpha[1] = lp[ext[1]]
			}
			for t := 1; t < tt; t++ {
				for st := 0; st < L; st++ {
					v := alpha[(t-1)*L+st]
					if st > 0 {
						v = lse(v, alpha[(t-1)*L+st-1])
					}
					if st > 1 && ext[st] != ext[st-2] {
						v = lse(v, alpha[(t-1)*L+st-2])
					}
					alpha[t*L+st] = v + lp[t*c+ext[st]]
				}
			}
			ll := alpha[(tt-1)*L+L-1]
			if L > 1 {
				ll = lse(ll, alpha[(tt-1)*L+L-2])
			}
			parts[b] = -ll / float64(max(s, 1)) / float64(n)
			beta[(tt-1)*L+L-1] = lp[(tt-1)*c+ext[L-1]]
			if L > 1 {
				beta[(tt-1)*L+L-2] = lp[(tt-1)*c+ext[L-2]]
			}
			for t := tt - 2; t >= 0; t-- {
				for st := L - 1; st >= 0; st-- {
					v := beta[(t+1)*L+st]
					if st < L-1 {
						v = lse(v, beta[(t+1)*L+st+1])
					}
					if st < L-2 && ext[st+2] != ext[st] {
						v = lse(v, beta[(t+1)*L+st+2])
					}
					beta[t*L+st] = v + lp[t*c+ext[st]]
				}
			}
			for i := range lcab {
				lcab[i] = ninf
			}
			for t := 0; t < tt; t++ {
				for st := 0; st < L; st++ {
					k := t*c + ext[st]
					lcab[k] = lse(lcab[k], alpha[t*L+st]+beta[t*L+st])
				}
			}
			scale := 1 / float64(max(s, 1)) / float64(n)
			for t := 0; t < tt; t++ {
				out := g[(t*n+b)*c : (t*n+b+1)*c]
				for j := range out {
					k := t*c + j
					out[j] = float32((math.Exp(lp[k]) - math.Exp(lcab[k]-ll-lp[k])) * scale)
				}
			}
		}
	})
	var total float64
	for _, p := range parts {
		total += p
	}
	return total
}
