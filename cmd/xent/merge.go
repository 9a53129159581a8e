package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/xentlab/xent/evalacc"
	"github.com/xentlab/xent/internal/atomicfile"
)

func init() {
	register(&command{
		name:    "merge",
		summary: "merge partial evaluations (xent eval --partial) and print the report",
		run:     runMerge,
	})
}

const mergeUsage = `PART.xacc... [--json] [--partial OUT.xacc]

Merges the partial evaluations written by "xent eval --partial" (files or
glob patterns, any number, in any order) and prints the report xent eval
prints for the whole data set — the same bits, whatever the split into
shards and the order of the merge. With --partial the merged state is
written instead, for a merge in several stages. Partials of different
evaluations (loss, options, columns, precision) and damaged files are
refused, naming the file.`

func runMerge(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("merge", mergeUsage, stdout)
	asJSON := fs.Bool("json", false, "print one JSON object")
	out := fs.String("partial", "", "write the merged partial evaluation here instead of the report")
	// Flags and files may come in any order.
	var files []string
	rest := args
	for {
		if err := parseFlagsKeep(fs, rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	var paths []string
	for _, f := range files {
		p, err := expandShards("partial", f)
		if err != nil {
			return err
		}
		paths = append(paths, p...)
	}
	if len(paths) == 0 {
		return usagef("no partial evaluation given")
	}
	var total *evalacc.Partial
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var part evalacc.Partial
		if err := part.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if total == nil {
			total = &part
			continue
		}
		if err := total.Merge(&part); err != nil {
			return fmt.Errorf("%s: %w (first file %s)", p, err, paths[0])
		}
	}
	if *out != "" {
		b, err := total.MarshalBinary()
		if err != nil {
			return err
		}
		if err := atomicfile.Write(*out, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, map[string]any{"partial": *out, "merged": len(paths), "rows": total.Rows()})
		}
		fmt.Fprintf(stdout, "%d partial evaluations (%d rows) merged into %s\n", len(paths), total.Rows(), *out)
		return nil
	}
	if err := nothingToEvaluate(total, fmt.Sprintf("%d partial evaluations", len(paths))); err != nil {
		return err
	}
	r, err := total.Report()
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, r.JSON())
	}
	return r.WriteText(stdout)
}

// parseFlagsKeep parses flags up to the first positional argument, which
// it leaves in fs.Args, and turns flag errors into usage errors (they
// are reported once, by run).
func parseFlagsKeep(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		fs.Usage()
		return err
	}
	if err != nil {
		return usageError{err.Error()}
	}
	return nil
}
