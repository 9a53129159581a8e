package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/xentlab/xent/metrics"
)

func init() {
	register(&command{
		name:    "passk",
		summary: "unbiased pass@k of a benchmark from the number of correct samples per problem",
		run:     runPassK,
	})
}

const passkUsage = `--n-samples N --correct C.npy [--k 1,5,10] [--json]

For a benchmark where every problem got N samples, C.npy holding the number
of correct ones per problem (integers [problems], each in [0, N]), prints the
mean over problems of the unbiased estimator of Chen et al. (2021),
pass@k = 1 − C(N−c, k)/C(N, k), for every k (each in [1, N]).`

func runPassK(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("passk", passkUsage, stdout)
	n := fs.Int("n-samples", 0, "samples drawn per problem (required, ≥ 1)")
	correctPath := fs.String("correct", "", "number of correct samples per problem, integer .npy of shape [problems] (required)")
	kList := fs.String("k", "1", "comma-separated values of k, each in [1, N]")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *n < 1:
		return usagef("--n-samples %d, want at least 1 (it is required)", *n)
	case *correctPath == "":
		return usagef("--correct is required")
	}
	ks, err := parseKs(*kList, *n)
	if err != nil {
		return err
	}
	c, err := readInts(*correctPath, "correct", -1)
	if err != nil {
		return err
	}
	counts := make([]int, len(c))
	for i, v := range c {
		if v < 0 || v > int64(*n) {
			return fmt.Errorf("correct %s: problem %d has %d correct samples, want 0 to %d (--n-samples)", *correctPath, i, v, *n)
		}
		counts[i] = int(v)
	}
	ns := make([]int, len(c))
	for i := range ns {
		ns[i] = *n
	}
	pass := make([]float64, len(ks))
	for i, k := range ks {
		if pass[i], err = metrics.MeanPassAtK(ns, counts, k); err != nil {
			return err
		}
	}

	if *asJSON {
		res := map[string]any{"problems": len(c), "n_samples": *n}
		for i, k := range ks {
			res[fmt.Sprintf("pass@%d", k)] = pass[i]
		}
		return writeJSON(stdout, res)
	}
	for i, k := range ks {
		fmt.Fprintf(stdout, "pass@%-4d %.6f\n", k, pass[i])
	}
	fmt.Fprintf(stdout, "(%d problems, %d samples each; unbiased estimator of Chen et al. 2021)\n", len(c), *n)
	return nil
}

// parseKs parses a comma-separated list of k in [1, n], sorted and without
// duplicates.
func parseKs(s string, n int) ([]int, error) {
	var ks []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		k, err := strconv.Atoi(f)
		if err != nil {
			return nil, usagef("--k %q: %q is not an integer", s, f)
		}
		if k < 1 || k > n {
			return nil, usagef("--k %d: want k in [1, %d] (k ≤ --n-samples)", k, n)
		}
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return slices.Compact(ks), nil
}
