package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// A benchOp is one "xent bench OP" workload. Each lives in its own file
// (bench_*.go) and registers itself from init.
type benchOp struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var benchOps = map[string]*benchOp{}

func registerBench(b *benchOp) {
	if _, dup := benchOps[b.name]; dup {
		panic("xent: bench op registered twice: " + b.name)
	}
	benchOps[b.name] = b
}

func init() {
	register(&command{
		name:    "bench",
		summary: "time a kernel against its baseline in one process and print the ratio",
		run:     runBench,
	})
}

func benchNames() []string {
	var n []string
	for k := range benchOps {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

func runBench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "Usage: xent bench OP [flags]   (xent bench OP -h for its flags)")
		fmt.Fprintln(stderr)
		for _, n := range benchNames() {
			fmt.Fprintf(stderr, "  %-12s %s\n", n, benchOps[n].summary)
		}
		if len(args) == 0 {
			return usagef("missing OP (one of: %s)", strings.Join(benchNames(), ", "))
		}
		return nil
	}
	op, ok := benchOps[args[0]]
	if !ok {
		return usagef("unknown op %q (one of: %s)", args[0], strings.Join(benchNames(), ", "))
	}
	return op.run(args[1:], stdout, stderr)
}

// timing holds the median seconds of the two sides of a comparison.
type timing struct {
	ours, base float64
}

// measure runs ours and base alternately: warm-up calls first, then reps
// timed calls of each, interleaved so that both see the same machine
// state, and returns the medians. base may be nil.
func measure(reps int, ours, base func()) timing {
	reps = max(reps, 1)
	ours()
	if base != nil {
		base()
	}
	var to, tb []float64
	for i := 0; i < reps; i++ {
		t0 := time.Now()
		ours()
		to = append(to, time.Since(t0).Seconds())
		if base != nil {
			t0 = time.Now()
			base()
			tb = append(tb, time.Since(t0).Seconds())
		}
	}
	return timing{median(to), median(tb)}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// writeJSON prints v as one JSON object on a line.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
