package main

import (
	"fmt"
	"io"
	"math/rand/v2"

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
	fs := newFlags("bench sample", "[--vocab V] [--kind peaked|flat] [--rows R] [--reps N] [--json]", stderr)
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
	type side struct {
		name  string
		chain []sample.Stage
		base  sortsample.Params
	}
	sides := []side{
		{"chain", []sample.Stage{sample.Penalties(64, 1.1, 0, 0), sample.TopK(40), sample.TopP(0.95), sample.MinP(0.05), sample.Temp(0.8), sample.Dist()},
			sortsample.Params{LastN: 64, Repeat: 1.1, TopK: 40, TopP: 0.95, MinP: 0.05, Temp: 0.8}},
		{"top_p", []sample.Stage{sample.TopP(0.95), sample.Dist()}, sortsample.Params{TopP: 0.95}},
	}
	n := float64(*rows)
	res := map[string]any{"op": "sample", "vocab": *V, "kind": *kind, "rows": *rows, "threads": 1}
	ms := map[string]float64{}
	for _, sd := range sides {
		s, err := sample.New(sd.chain, 1, sample.Threads(1))
		if err != nil {
			return err
		}
		var failed error
		ours := func() {
			for i := range *rows {
				if _, err := s.SampleRow(i, sample.Input{Logits: x[i**V : (i+1)**V], History: hist}); err != nil {
					failed = err
				}
			}
		}
		var b sortsample.Sampler
		u := 0.0
		base := func() {
			for i := range *rows {
				b.Sample(x[i**V:(i+1)**V], hist, sd.base, u)
				u += 0.618034
				u -= float64(int(u))
			}
		}
		t := measure(*reps, ours, base)
		if failed != nil {
			return failed
		}
		ms[sd.name], ms[sd.name+"_fullsort"] = 1e3*t.ours/n, 1e3*t.base/n
	}
	dst := make([]float32, *V)
	sm := measure(*reps, func() {
		for i := range *rows {
			softmax.Softmax(dst, x[i**V:(i+1)**V], *V)
		}
	}, nil)
	ms["softmax"] = 1e3 * sm.ours / n
	for k, v := range ms {
		res[k+"_ms"] = v
	}
	res["chain_speedup"] = ms["chain_fullsort"] / ms["chain"]
	res["top_p_speedup"] = ms["top_p_fullsort"] / ms["top_p"]
	res["top_p_vs_softmax"] = ms["top_p"] / ms["softmax"]
	if *asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "sample, V = %d, %s logits, %d rows, one thread, ms per token (median of %d)\n", *V, *kind, *rows, *reps)
	fmt.Fprintf(stdout, "  chain (penalties 64, top_k 40, top_p 0.95, min_p 0.05, temp 0.8, dist)\n")
	fmt.Fprintf(stdout, "    xent          %9.4f ms\n", ms["chain"])
	fmt.Fprintf(stdout, "    go full sort  %9.4f ms   (%.1fx)\n", ms["chain_fullsort"], ms["chain_fullsort"]/ms["chain"])
	fmt.Fprintf(stdout, "  top_p 0.95 alone\n")
	fmt.Fprintf(stdout, "    xent          %9.4f ms   (%.2fx one softmax pass)\n", ms["top_p"], ms["top_p"]/ms["softmax"])
	fmt.Fprintf(stdout, "    go full sort  %9.4f ms   (%.1fx)\n", ms["top_p_fullsort"], ms["top_p_fullsort"]/ms["top_p"])
	fmt.Fprintf(stdout, "  softmax, one pass over the row (package softmax)\n")
	fmt.Fprintf(stdout, "    xent          %9.4f ms\n", ms["softmax"])
	return nil
}
