package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/xentlab/xent/attention"
	"github.com/xentlab/xent/internal/gemm"
	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/vek"
	"github.com/xentlab/xent/softmax"
)

func init() {
	registerBench(&benchOp{
		name:    "attention",
		summary: "fused attention (forward, backward or decoding) vs our GEMM's rate, STREAM read bandwidth, or the materialized path",
		run:     benchAttention,
	})
}

func benchAttention(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench attention", "[--batch B] [--heads H] [--kv-heads Hkv] [--queries S] [--keys T] [--dim d] [--causal] [--normalizer N] [--backward] [--threads T] [--baseline auto|gemm|stream|softmax|materialized|none] [--reps R] [--json]", stdout)
	batch := fs.Int("batch", 1, "batch size B")
	heads := fs.Int("heads", 8, "query heads H")
	kvHeads := fs.Int("kv-heads", 0, "key/value heads (0: H)")
	queries := fs.Int("queries", 2048, "query positions S")
	keys := fs.Int("keys", 0, "key positions T (0: S)")
	dim := fs.Int("dim", 128, "head dimension d")
	causal := fs.Bool("causal", false, "causal mask")
	window := fs.Int("window", 0, "sliding window (0: none)")
	normName := fs.String("normalizer", "softmax", "softmax, sigmoid or softplus")
	backward := fs.Bool("backward", false, "time the backward pass (the forward pass runs once before)")
	threads := fs.Int("threads", 1, "goroutines for both sides (0: all cores)")
	baseline := fs.String("baseline", "auto", `"gemm" (our GEMM on the shape of Q·Kᵀ: the FLOP-rate anchor), "stream" (a read of the K/V cache: the bandwidth anchor), "softmax" (the same call with the softmax normalizer), "materialized" (scores in memory: our GEMM, softmax, GEMM), "none"; auto: stream when S·H/Hkv ≤ 64, else gemm`)
	reps := fs.Int("reps", 3, "timed repetitions of each side (after one warm-up)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keys == 0 {
		*keys = *queries
	}
	if *kvHeads == 0 {
		*kvHeads = *heads
	}
	if *batch < 1 || *heads < 1 || *kvHeads < 1 || *queries < 1 || *keys < 1 || *dim < 1 || *heads%*kvHeads != 0 {
		return usagef("sizes must be ≥ 1 and --kv-heads must divide --heads")
	}
	if *reps < 1 {
		return usagef("--reps must be ≥ 1")
	}
	norm, err := attention.ParseNormalizer(*normName)
	if err != nil {
		return usageError{err.Error()}
	}
	base := *baseline
	if base == "auto" {
		base = "gemm"
		if *queries**heads / *kvHeads <= 64 {
			base = "stream"
		}
	}
	switch base {
	case "gemm", "stream", "softmax", "materialized", "none":
	default:
		return usagef("--baseline %q: want auto, gemm, stream, softmax, materialized or none", base)
	}
	if base == "materialized" && (norm != attention.Softmax || *window != 0) {
		return usagef("--baseline materialized runs softmax attention without a window")
	}
	th := par.Threads(*threads)
	sh := attention.Shape{Batch: *batch, Heads: *heads, KVHeads: *kvHeads, Queries: *queries, Keys: *keys, Dim: *dim}
	for _, n := range [][]int{{*batch, *heads, *queries, *dim}, {*batch, *kvHeads, *keys, *dim}} {
		if float64(n[0])*float64(n[1])*float64(n[2])*float64(n[3]) > 1<<31 {
			return usagef("a tensor of %v is too large for this benchmark", n)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	in := attention.Input[float32]{Q: fill(*batch * *heads * *queries * *dim), K: fill(*batch * *kvHeads * *keys * *dim), V: fill(*batch * *kvHeads * *keys * *dim), Shape: sh}
	cfg := attention.Config{Causal: *causal, Window: *window, Normalizer: norm, Threads: th}
	out := attention.Output[float32]{Out: make([]float32, len(in.Q)), LSE: make([]float32, *batch**heads**queries)}
	var dOut []float32
	var g attention.Grad[float32]
	var failed error
	fwd := func() {
		if err := attention.Forward(cfg, in, out); err != nil {
			failed = err
		}
	}
	ours := fwd
	if *backward {
		fwd()
		dOut = fill(len(out.Out))
		g = attention.Grad[float32]{DQ: make([]float32, len(in.Q)), DK: make([]float32, len(in.K)), DV: make([]float32, len(in.V))}
		ours = func() {
			if err := attention.Backward(cfg, in, out, dOut, &g); err != nil {
				failed = err
			}
		}
	}
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	ours() // the first call, cold pools: what it allocates is its scratch
	runtime.ReadMemStats(&ms1)
	if failed != nil {
		return failed
	}
	scratch := ms1.TotalAlloc - ms0.TotalAlloc

	var baseFn func()
	var baseDesc string
	switch base {
	case "gemm":
		// The product Q·Kᵀ of one head, S×T×d, as the attention's GEMMs
		// see it (B stored transposed).
		c := make([]float32, *queries**keys)
		baseFn = func() {
			gemm.Gemm(false, true, *queries, *keys, *dim, 1, in.Q, *dim, in.K, *dim, 0, c, *keys, th)
		}
		baseDesc = fmt.Sprintf("our GEMM %d×%d×%d", *queries, *keys, *dim)
	case "stream":
		// One read of the K/V cache (vek.Sum32), each thread reading one
		// contiguous share of K and of V.
		baseFn = func() {
			for _, x := range [][]float32{in.K, in.V} {
				share := (len(x) + th - 1) / th
				par.For(len(x), share, th, func(_, lo, hi int) { _ = vek.Sum32(x[lo:hi]) })
			}
		}
		baseDesc = "read of K and V"
	case "softmax":
		c2 := cfg
		c2.Normalizer = attention.Softmax
		o2 := attention.Output[float32]{Out: make([]float32, len(out.Out)), LSE: make([]float32, len(out.LSE))}
		baseFn = func() { _ = attention.Forward(c2, in, o2) }
		if *backward {
			_ = attention.Forward(c2, in, o2)
			g2 := attention.Grad[float32]{DQ: make([]float32, len(in.Q)), DK: make([]float32, len(in.K)), DV: make([]float32, len(in.V))}
			baseFn = func() { _ = attention.Backward(c2, in, o2, dOut, &g2) }
		}
		baseDesc = "softmax attention"
	case "materialized":
		baseFn = materializedAttention(in, *causal, *backward, dOut, th)
		baseDesc = "materialized (GEMM, softmax, GEMM)"
	}
	t, tmin := measureBoth(*reps, ours, baseFn)
	if failed != nil {
		return failed
	}
	// FLOPs: 2·(d + d) per visible (query, key) pair forward, 2·(3d + 2d)
	// backward (the scores recomputed): 4·S·T·d and 10·S·T·d per head
	// without masks.
	pairs := visiblePairs(*queries, *keys, *causal, *window)
	per := 4.0 * float64(*dim)
	if *backward {
		per = 10 * float64(*dim)
	}
	flops := per * pairs * float64(*batch**heads)
	kvBytes := 8.0 * float64(len(in.K))
	res := map[string]any{
		"op": "attention", "batch": *batch, "heads": *heads, "kv_heads": *kvHeads, "queries": *queries, "keys": *keys, "dim": *dim,
		"causal": *causal, "window": *window, "normalizer": norm.String(), "backward": *backward, "threads": th,
		"ours_s": t.ours, "gflops": flops / t.ours / 1e9, "kv_gbps": kvBytes / t.ours / 1e9, "scratch_bytes": scratch,
		"baseline": base, "ours_min_s": tmin.ours,
	}
	if baseFn != nil {
		res["baseline_s"], res["baseline_min_s"] = t.base, tmin.base
		switch base {
		case "gemm":
			gflops := 2 * float64(*queries) * float64(*keys) * float64(*dim) / t.base / 1e9
			res["baseline_gflops"], res["fraction_of_gemm"] = gflops, flops/t.ours/1e9/gflops
		case "stream":
			res["baseline_gbps"], res["fraction_of_stream"] = kvBytes/t.base/1e9, t.base/t.ours
		default:
			res["speedup"] = t.base / t.ours
		}
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	what := "forward"
	if *backward {
		what = "backward"
	}
	fmt.Fprintf(stdout, "attention %s, %s, B=%d H=%d Hkv=%d S=%d T=%d d=%d causal=%v window=%d, %d thread(s), median of %d\n",
		what, norm, *batch, *heads, *kvHeads, *queries, *keys, *dim, *causal, *window, th, *reps)
	fmt.Fprintf(stdout, "  xent            %10.3f ms  %7.1f GFLOP/s  %6.1f GB/s of K/V  scratch %.1f MiB\n",
		t.ours*1e3, flops/t.ours/1e9, kvBytes/t.ours/1e9, float64(scratch)/(1<<20))
	if baseFn != nil {
		fmt.Fprintf(stdout, "  %-15s %10.3f ms\n", baseDesc, t.base*1e3)
		switch base {
		case "gemm":
			gflops := 2 * float64(*queries) * float64(*keys) * float64(*dim) / t.base / 1e9
			fmt.Fprintf(stdout, "  GEMM rate %.1f GFLOP/s; attention at %.0f%% of it\n", gflops, 100*flops/t.ours/1e9/gflops)
		case "stream":
			fmt.Fprintf(stdout, "  read bandwidth %.1f GB/s; attention at %.0f%% of it\n", kvBytes/t.base/1e9, 100*t.base/t.ours)
		default:
			fmt.Fprintf(stdout, "  speed-up        %10.2fx\n", t.base/t.ours)
		}
	}
	return nil
}

// visiblePairs counts the (query, key) pairs the causal and window masks
// leave visible (the mask convention of package attention).
func visiblePairs(s, t int, causal bool, window int) float64 {
	var n float64
	for i := range s {
		p := i + t - s
		lo, hi := 0, t
		if causal {
			hi = min(hi, p+1)
		}
		if window > 0 {
			lo = max(lo, p-window+1)
			if !causal {
				hi = min(hi, p+window)
			}
		}
		if hi > lo {
			n += float64(hi - lo)
		}
	}
	return n
}

// materializedAttention returns the materialized path as a baseline: per
// (batch, head), S = scale·Q·Kᵀ by our GEMM into an S×T buffer, the causal
// mask and the row softmax of package softmax in place, then P·V; with
// backward, dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP − rowsum(P∘dP)), dQ =
// scale·dS·K, dK = scale·dSᵀ·Q, all in preallocated buffers.
func materializedAttention(in attention.Input[float32], causal, backward bool, dOut []float32, th int) func() {
	sh := in.Shape
	S, T, d, G := sh.Queries, sh.Keys, sh.Dim, sh.Heads/sh.KVHeads
	scale := float32(1 / math.Sqrt(float64(d)))
	p := make([]float32, S*T)
	dp := make([]float32, S*T)
	o := make([]float32, S*d)
	dq, dk, dv := make([]float32, S*d), make([]float32, T*d), make([]float32, T*d)
	neg := float32(math.Inf(-1))
	return func() {
		for b := range sh.Batch {
			for h := range sh.Heads {
				q := in.Q[((b*sh.Heads+h)*S)*d:][:S*d]
				kv := (b*sh.KVHeads + h/G) * T * d
				k, v := in.K[kv:][:T*d], in.V[kv:][:T*d]
				gemm.Gemm(false, true, S, T, d, scale, q, d, k, d, 0, p, T, th)
				if causal {
					for i := range S {
						row := p[i*T : (i+1)*T]
						for j := i + T - S + 1; j < T; j++ {
							if j >= 0 {
								row[j] = neg
							}
						}
					}
				}
				_ = softmax.Softmax(p, p, T, softmax.Threads(th))
				if !backward {
					gemm.Gemm(false, false, S, d, T, 1, p, T, v, d, 0, o, d, th)
					continue
				}
				do := dOut[((b*sh.Heads+h)*S)*d:][:S*d]
				gemm.Gemm(true, false, T, d, S, 1, p, T, do, d, 0, dv, d, th)
				gemm.Gemm(false, true, S, T, d, 1, do, d, v, d, 0, dp, T, th)
				_ = softmax.SoftmaxBackward(dp, p, dp, T, softmax.Threads(th))
				gemm.Gemm(false, false, S, d, T, scale, dp, T, k, d, 0, dq, d, th)
				gemm.Gemm(true, false, T, d, S, scale, dp, T, q, d, 0, dk, d, th)
			}
		}
	}
}

// measureBoth is measure that also returns the fastest call of each side
// (on a shared machine the minimum is the least disturbed).
func measureBoth(reps int, ours, base func()) (med, fastest timing) {
	reps = max(reps, 1)
	ours()
	if base != nil {
		base()
	}
	var to, tb []float64
	fastest = timing{ours: math.Inf(1), base: math.Inf(1)}
	for i := 0; i < reps; i++ {
		t0 := time.Now()
		ours()
		d := time.Since(t0).Seconds()
		to = append(to, d)
		fastest.ours = min(fastest.ours, d)
		if base != nil {
			t0 = time.Now()
			base()
			d = time.Since(t0).Seconds()
			tb = append(tb, d)
			fastest.base = min(fastest.base, d)
		}
	}
	if base == nil {
		fastest.base = 0
	}
	return timing{ours: median(to), base: median(tb)}, fastest
}
