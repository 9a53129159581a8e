package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/xentlab/xent/internal/sortsample"
	"github.com/xentlab/xent/sample"
	"github.com/xentlab/xent/softmax"
)

func init() {
	registerBench(&benchOp{
		name:    "sample",
		summary: "the sampler chain and top-p alone (one token, one thread) vs a full-sort Go sampler and one softmax pass",
		run:     benchSample,
	})
}

// benchSampleRows returns rows of logits of the given kind: "flat" is
// N(0, 3²) (the top-p nucleus at 0.95 holds about 8% of the vocabulary),
// "peaked" N(0, 2²) with 32 tokens raised by 8 to 14 (a few tokens hold
// most of the mass, as in a language model).
func benchSampleRows(kind string, rows, V int) []float32 {
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, rows*V)
	for i := range x {
		if kind == "flat" {
			x[i] = float32(r.NormFloat64() * 3)
		} else {
			x[i] = float32(r.NormFloat64() * 2)
		}
	}
	if kind == "peaked" {
		for row := range rows {
			for range 32 {
				x[row*V+r.IntN(V)] += float32(8 + 6*r.Float64())
			}
		}
	}
	return x
}

func benchSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench sample", "[--vocab V] [--kind peaked|flat] [--rows R] [--reps N] [--json]", stdout)
	V := fs.Int("vocab", 262144, "vocabulary size")
	kind := fs.String("kind", "peaked", "peaked (a few tokens hold most of the mass) or flat (N(0, 9) logits)")
	rows := fs.Int("rows", 8, "different rows, sampled in turn (each timed call samples all of them)")
	reps := fs.Int("reps", 7, "timed repetitions of each side (after one warm-up)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *V < 2 || *rows < 1 || *reps < 1 {
		return usagef("--vocab ≥ 2, --rows ≥ 1 and --reps ≥ 1")
	}
	if *kind != "peaked" && *kind != "flat" {
		return usagef("--kind %q: want peaked or flat", *kind)
	}
	if int64(*V)*int64(*rows) > 1<<30 {
		return usagef("--vocab × --rows is too large")
	}
	x := benchSampleRows(*kind, *rows, *V)
	hist := make([]int32, 64)
	r := rand.New(rand.NewPCG(5, 5))
	for i := range hist {
		hist[i] = int32(r.IntN(*V))
	}
	chain := []sample.Stage{sample.Penalties(64, 1.1, 0, 0), sample.TopK(40), sample.TopP(0.95), sample.MinP(0.05), sample.Temp(0.8), sample.Dist()}
	chainP := sortsample.Params{LastN: 64, Repeat: 1.1, TopK: 40, TopP: 0.95, MinP: 0.05, Temp: 0.8}
	topP := []sample.Stage{sample.TopP(0.95), sample.Dist()}
	topPP := sortsample.Params{TopP: 0.95}
	sc, err := sample.New(chain, 1, sample.Threads(1))
	if err != nil {
		return err
	}
	sp, err := sample.New(topP, 1, sample.Threads(1))
	if err != nil {
		return err
	}
	var failed error
	ours := func(s *sample.Sampler) func() {
		return func() {
			for i := range *rows {
				if _, err := s.SampleRow(i, sample.Input{Logits: x[i**V : (i+1)**V], History: hist}); err != nil {
					failed = err
				}
			}
		}
	}
	var b sortsample.Sampler
	u := 0.0
	base := func(p sortsample.Params) func() {
		return func() {
			for i := range *rows {
				b.Sample(x[i**V:(i+1)**V], hist, p, u)
				u += 0.618034
				u -= float64(int(u))
			}
		}
	}
	dst := make([]float32, *V)
	sm := func() {
		for i := range *rows {
			softmax.Softmax(dst, x[i**V:(i+1)**V], *V)
		}
	}
	// Every repetition times all five, one after the other, so that a
	// change in the machine's load weighs on all of them alike; top-p and
	// softmax run last, after an untimed pass over the rows, so that both
	// find the rows in the cache (as a decoding step finds the logits the
	// model has just written).
	names := []string{"chain", "chain_fullsort", "top_p_fullsort", "top_p", "softmax"}
	fns := []func(){ours(sc), base(chainP), base(topPP), ours(sp), sm}
	secs := make([][]float64, len(fns))
	for rep := -1; rep < *reps; rep++ {
		for k, f := range fns {
			if names[k] == "top_p" {
				sm()
			}
			t0 := time.Now()
			f()
			if rep >= 0 {
				secs[k] = append(secs[k], time.Since(t0).Seconds())
			}
		}
	}
	if failed != nil {
		return failed
	}
	n := float64(*rows)
	res := map[string]any{"op": "sample", "vocab": *V, "kind": *kind, "rows": *rows, "threads": 1, "reps": *reps}
	ms := map[string]float64{}
	for k, name := range names {
		ms[name] = 1e3 * median(secs[k]) / n
		res[name+"_ms"] = ms[name]
	}
	ratios := make([]float64, *reps)
	for i := range ratios {
		ratios[i] = secs[3][i] / secs[4][i]
	}
	res["chain_speedup"] = ms["chain_fullsort"] / ms["chain"]
	res["top_p_speedup"] = ms["top_p_fullsort"] / ms["top_p"]
	res["top_p_vs_softmax"] = median(ratios)
	if *asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "sample, V = %d, %s logits, %d rows, one thread, ms per token (median of %d)\n", *V, *kind, *rows, *reps)
	fmt.Fprintf(stdout, "  chain (penalties 64, top_k 40, top_p 0.95, min_p 0.05, temp 0.8, dist)\n")
	fmt.Fprintf(stdout, "    xent          %9.4f ms\n", ms["chain"])
	fmt.Fprintf(stdout, "    go full sort  %9.4f ms   (%.1fx)\n", ms["chain_fullsort"], ms["chain_fullsort"]/ms["chain"])
	fmt.Fprintf(stdout, "  top_p 0.95 alone\n")
	fmt.Fprintf(stdout, "    xent          %9.4f ms   (%.2fx one softmax pass, median of the repetitions' ratios)\n", ms["top_p"], median(ratios))
	fmt.Fprintf(stdout, "    go full sort  %9.4f ms   (%.1fx)\n", ms["top_p_fullsort"], ms["top_p_fullsort"]/ms["top_p"])
	fmt.Fprintf(stdout, "  softmax, one pass over the row (package softmax)\n")
	fmt.Fprintf(stdout, "    xent          %9.4f ms\n", ms["softmax"])
	return nil
}
