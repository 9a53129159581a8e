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
	if len(args) == 0 {
		return usagef("missing OP (one of: %s; xent bench -h lists them)", strings.Join(benchNames(), ", "))
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintln(stdout, "Usage: xent bench OP [flags]   (xent bench OP -h for its flags)")
		fmt.Fprintln(stdout)
		for _, n := range benchNames() {
			fmt.Fprintf(stdout, "  %-12s %s\n", n, benchOps[n].summary)
		}
		return nil
	}
	op, ok := benchOps[args[0]]
	if !ok {
		return usagef("unknown op %q (one of: %s)", args[0], strings.Join(benchNames(), ", "))
	}
	return op.run(args[1:], stdout, stderr)
}

// timing holds the median seconds of the sides of a comparison: ours,
// the baseline, and the memory roof (a plain copy or read of the same
// bytes), when measured.
type timing struct {
	ours, base, roof float64
}

// measure runs ours and base alternately: warm-up calls first, then reps
// timed calls of each, interleaved so that both see the same machine
// state, and returns the medians. base may be nil; so may roof, the
// memory-bound reference measured the same way.
func measure(reps int, ours, base func(), roof ...func()) timing {
	reps = max(reps, 1)
	sides := []func(){ours, base}
	if len(roof) > 0 {
		sides = append(sides, roof[0])
	}
	for _, f := range sides {
		if f != nil {
			f()
		}
	}
	ts := make([][]float64, len(sides))
	for i := 0; i < reps; i++ {
		for j, f := range sides {
			if f == nil {
				continue
			}
			t0 := time.Now()
			f()
			ts[j] = append(ts[j], time.Since(t0).Seconds())
		}
	}
	t := timing{ours: median(ts[0]), base: median(ts[1])}
	if len(sides) > 2 {
		t.roof = median(ts[2])
	}
	return t
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
