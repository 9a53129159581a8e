package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/xentlab/xent/evalacc"
	"github.com/xentlab/xent/internal/atomicfile"
	"github.com/xentlab/xent/loss"
	"github.com/xentlab/xent/npy"
)

// streamFlags are the flags of the streaming evaluation.
type streamFlags struct {
	partial string
	dtype   string
	window  int
}

func addStreamFlags(fs *flag.FlagSet, s *streamFlags) {
	fs.StringVar(&s.partial, "partial", "", "write the mergeable partial evaluation here (.xacc) instead of the report; merge with xent merge")
	fs.StringVar(&s.dtype, "dtype", "", "bf16: read 2-byte logits and teacher files (|V2, <u2, <i2) as bfloat16 (float16 is <f2 and needs no flag)")
	fs.IntVar(&s.window, "window", evalacc.DefaultWindow>>10, "KiB of logits read and evaluated at a time by each thread")
}

// expandShards turns a comma-separated list of files and glob patterns
// into files, a pattern's matches in lexical order. A name that exists as
// it is given is a file, not a list or a pattern: the whole argument
// first (a path with a comma in it), then each element of the list (one
// with '*', '?' or '[' in it).
func expandShards(flagName, list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	if exists(list) {
		return []string{list}, nil
	}
	var out []string
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.ContainsAny(p, "*?[") || exists(p) {
			out = append(out, p)
			continue
		}
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, usagef("--%s %s: %v", flagName, p, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("--%s %s: no file matches", flagName, p)
		}
		out = append(out, m...) // Glob sorts
	}
	return out, nil
}

// exists reports whether path names something that exists (a file, a
// directory, a device).
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// evalStreaming evaluates --logits (one file or several shards) a block of
// rows at a time when the loss allows it. It reports handled = false,
// leaving the work to the in-memory path, for a single file whose loss or
// layout it does not stream (sequence and batch-level losses, a logit
// vector); several shards, --partial and --dtype need it.
func evalStreaming(f evalFlags, stdout, stderr io.Writer) (bool, error) {
	s := f.stream
	logits, err := expandShards("logits", f.logits)
	if err != nil {
		return true, err
	}
	targets, err := expandShards("targets", f.targets)
	if err != nil {
		return true, err
	}
	teacher, err := expandShards("teacher", f.teacher)
	if err != nil {
		return true, err
	}
	must := len(logits) > 1 || s.partial != "" || s.dtype != ""
	fallback := func(why error) (bool, error) {
		if must {
			return true, fmt.Errorf("%v (shards, --partial and --dtype need a loss evaluated row by row over [rows, cols] logits)", why)
		}
		return false, nil
	}
	if len(logits) == 0 {
		return true, usagef("--logits: no file")
	}
	// Shards are read at their offsets, by several goroutines: regular
	// files only. One file that is a pipe or a device, or one file with a
	// gradient or log-sum-exp to write (in the inputs' precision), takes
	// the in-memory path.
	for _, l := range [][]string{logits, targets, teacher} {
		for _, path := range l {
			if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
				if must {
					return true, fmt.Errorf("%s: not a regular file (shards, --partial and --dtype read their files at offsets)", path)
				}
				return false, nil
			}
		}
	}
	if !must && (f.grad != "" || f.lse != "") {
		return false, nil
	}
	for _, l := range []struct {
		name  string
		files []string
	}{{"targets", targets}, {"teacher", teacher}} {
		if len(l.files) != 0 && len(l.files) != len(logits) {
			return true, usagef("%d logits files but %d %s files; give one per shard, in the same order", len(logits), len(l.files), l.name)
		}
	}
	switch s.dtype {
	case "", "bf16":
	default:
		return true, usagef("--dtype %q: want bf16 (other dtypes are read from the file)", s.dtype)
	}
	if s.window < 1 {
		return true, usagef("--window %d KiB, want ≥ 1", s.window)
	}
	red, err := loss.ParseReduction(f.reduction)
	if err != nil {
		return true, usageError{err.Error()}
	}
	if s.partial != "" && (red == loss.None || f.grad != "" || f.lse != "") {
		return true, usagef("--partial holds the reduced evaluation: it does not go with --reduction none, --grad or --lse")
	}
	spec := f.lossName
	if f.temperature != 0 {
		if strings.Contains(spec, ":") {
			return true, usagef("give the temperature either in --loss or with --temperature, not both")
		}
		spec += fmt.Sprintf(":temperature=%g", f.temperature)
	}
	var rowOpts []npy.RowOption
	if s.dtype == "bf16" {
		rowOpts = append(rowOpts, npy.BFloat16())
	}

	// The headers of the first shard settle the configuration.
	first, err := npy.OpenRows(logits[0], rowOpts...)
	if err != nil {
		return true, fmt.Errorf("logits: %w", err)
	}
	lh := first.Header()
	isFloat := first.IsFloat()
	first.Close()
	if len(lh.Shape) != 2 || !isFloat {
		return fallback(fmt.Errorf("logits %s: shape %v, dtype %s", logits[0], lh.Shape, lh.DType))
	}
	cols := lh.Shape[1]
	canon, ls, err := evalacc.Canonical(spec)
	if err != nil {
		return fallback(err)
	}
	cfg := evalacc.DefaultConfig(canon)
	cfg.Reduction = red
	if red == loss.None {
		cfg.Reduction = loss.Sum
	}
	cfg.Cols, cfg.Wide = cols, lh.DType.Size == 8
	cfg.IgnoreIndex, cfg.LabelSmoothing, cfg.ZLoss, cfg.SoftCap = f.ignore, f.smoothing, f.zloss, f.softcap
	if f.weights != "" {
		if cfg.ClassWeights, err = readVector(f.weights, "weights", cols); err != nil {
			return true, err
		}
	}
	if f.posWeight != "" {
		if cfg.PosWeight, err = readVector(f.posWeight, "pos-weight", cols); err != nil {
			return true, err
		}
	}
	if len(targets) > 0 {
		th, err := npy.ReadFileHeader(targets[0])
		if err != nil {
			return true, fmt.Errorf("targets: %w", err)
		}
		switch {
		case th.DType.Kind != npy.Float:
			cfg.Targets = evalacc.Labels
		case len(th.Shape) == 1 && ls.Needs&loss.NeedsLabels != 0:
			return true, fmt.Errorf("targets %s: dtype %s, want integers (labels; soft targets have the logits' shape)", targets[0], th.DType)
		case ls.Needs&loss.NeedsScalarTargets != 0:
			cfg.Targets = evalacc.ScalarTargets
		default:
			cfg.Targets = evalacc.SoftTargets
		}
	}
	cfg.Teacher = len(teacher) > 0
	if cfg.Targets == evalacc.Labels && !ls.NotClassScores {
		cfg.Metrics = evalacc.EvalMetrics(cols)
	}

	// Shapes of every shard, checked before the long work.
	var totalRows int64
	for i, p := range logits {
		h, err := npy.ReadFileHeader(p)
		if err != nil {
			return true, fmt.Errorf("logits: %w", err)
		}
		if len(h.Shape) != 2 || h.Shape[1] != cols {
			return true, fmt.Errorf("logits %s: shape %v, want [rows, %d] as %s", p, h.Shape, cols, logits[0])
		}
		totalRows += int64(h.Shape[0])
		for _, o := range []struct{ what, path string }{{"targets", at(targets, i)}, {"teacher", at(teacher, i)}} {
			if o.path == "" {
				continue
			}
			oh, err := npy.ReadFileHeader(o.path)
			if err != nil {
				return true, fmt.Errorf("%s: %w", o.what, err)
			}
			if len(oh.Shape) == 0 || oh.Shape[0] != h.Shape[0] {
				want := fmt.Sprintf("[%d]", h.Shape[0])
				if len(oh.Shape) > 1 {
					want = fmt.Sprintf("[%d, %d]", h.Shape[0], cols)
				}
				return true, fmt.Errorf("%s %s: shape %v, want %s (one row per row of logits %s)", o.what, o.path, oh.Shape, want, p)
			}
		}
	}

	bar := newRowBar(stderr, totalRows, f.asJSON)
	var opts []evalacc.Option
	opts = append(opts, evalacc.Threads(f.threads), evalacc.Window(s.window<<10),
		evalacc.Progress(func(n int) { bar.add(int64(n)) }))
	var perRow []float64
	if red == loss.None {
		opts = append(opts, evalacc.PerRow(func(v []float64) error { perRow = append(perRow, v...); return nil }))
	}
	var lse []float32
	if f.lse != "" {
		if ls.Name != "cross-entropy" {
			return true, usagef("--lse is available for cross-entropy only")
		}
		opts = append(opts, evalacc.LSE(func(v []float64) error {
			for _, x := range v {
				lse = append(lse, float32(x))
			}
			return nil
		}))
	}
	ev, err := evalacc.NewEvaluator(cfg, opts...)
	if err != nil {
		if errors.Is(err, evalacc.ErrNotSplittable) || !must {
			return fallback(err)
		}
		return true, err
	}
	run := func(gradOpt []evalacc.Option) error {
		if gradOpt != nil {
			var err error
			if ev, err = evalacc.NewEvaluator(cfg, append(opts, gradOpt...)...); err != nil {
				return err
			}
		}
		for i := range logits {
			if err := addShard(ev, logits[i], at(targets, i), at(teacher, i), rowOpts); err != nil {
				return err
			}
		}
		return nil
	}
	if f.grad != "" {
		err = writeGrad(f.grad, ev, totalRows, cols, logits, targets, func(o evalacc.Option) error { return run([]evalacc.Option{o}) })
	} else {
		err = run(nil)
	}
	bar.done()
	if err != nil {
		return true, err
	}
	p := ev.Partial()
	if f.lse != "" {
		if err := npy.WriteFile(f.lse, lse, len(lse)); err != nil {
			return true, err
		}
	}
	if s.partial != "" {
		b, err := p.MarshalBinary()
		if err != nil {
			return true, err
		}
		if err := atomicfile.Write(s.partial, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return true, err
		}
		if f.asJSON {
			return true, writeJSON(stdout, map[string]any{"partial": s.partial, "rows": p.Rows(), "cols": cols, "bytes": len(b)})
		}
		fmt.Fprintf(stdout, "partial evaluation of %d rows × %d columns written to %s (%d bytes)\n", p.Rows(), cols, s.partial, len(b))
		return true, nil
	}
	if err := nothingToEvaluate(p, f.logits); err != nil {
		return true, err
	}
	r, err := p.Report()
	if err != nil {
		return true, err
	}
	if red == loss.None {
		return true, printPerRow(stdout, f.asJSON, r, perRow, ls.Name)
	}
	if f.asJSON {
		return true, writeJSON(stdout, r.JSON())
	}
	return true, r.WriteText(stdout)
}

func at(list []string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return ""
}

// addShard opens the files of one shard and evaluates it.
func addShard(ev *evalacc.Evaluator, logits, targets, teacher string, opts []npy.RowOption) error {
	sh := evalacc.Shard{LogitsName: logits, TargetsName: targets, TeacherName: teacher}
	var err error
	if sh.Logits, err = npy.OpenRows(logits, opts...); err != nil {
		return fmt.Errorf("logits: %w", err)
	}
	defer sh.Logits.Close()
	if targets != "" {
		if sh.Targets, err = npy.OpenRows(targets); err != nil {
			return fmt.Errorf("targets: %w", err)
		}
		defer sh.Targets.Close()
	}
	if teacher != "" {
		if sh.Teacher, err = npy.OpenRows(teacher, opts...); err != nil {
			return fmt.Errorf("teacher: %w", err)
		}
		defer sh.Teacher.Close()
	}
	return ev.Add(sh)
}

// writeGrad runs the evaluation with a gradient hook that streams
// ∂loss/∂logits (float32, the logits' shape) into path, atomically; for a
// mean the gradient of the sum is scaled by 1/W, W read from the labels
// first.
func writeGrad(path string, ev *evalacc.Evaluator, rows int64, cols int, logits, targets []string, run func(evalacc.Option) error) error {
	scale := 1.0
	if ev.Config().Reduction == loss.Mean {
		var readers []*npy.RowReader
		defer func() {
			for _, r := range readers {
				r.Close()
			}
		}()
		if ev.WeightUsesLabels() {
			for _, t := range targets {
				r, err := npy.OpenRows(t)
				if err != nil {
					return fmt.Errorf("targets: %w", err)
				}
				readers = append(readers, r)
			}
		}
		w, err := ev.TotalWeight(rows, readers, targets)
		if err != nil {
			return err
		}
		scale = 0
		if w != 0 {
			scale = 1 / w
		}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		rw, err := npy.NewRowWriter[float32](bw, int(rows), cols)
		if err != nil {
			return err
		}
		var conv []float32
		hook := evalacc.Gradient(scale, func(g32 []float32, g64 []float64) error {
			if g64 != nil {
				conv = conv[:0]
				for _, v := range g64 {
					conv = append(conv, float32(v))
				}
				g32 = conv
			}
			return rw.Write(g32)
		})
		if err := run(hook); err != nil {
			return err
		}
		if err := rw.Close(); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// printPerRow prints the losses of --reduction none as the in-memory path
// does.
func printPerRow(w io.Writer, asJSON bool, r evalacc.Report, rows []float64, name string) error {
	if asJSON {
		res := r.JSON()
		res["loss"] = rows
		return writeJSON(w, res)
	}
	fmt.Fprintf(w, "loss (%s, per row):\n", name)
	for i, v := range rows {
		fmt.Fprintf(w, "  %d\t%.9g\n", i, v)
	}
	if m := r.Metrics; m != nil {
		fmt.Fprintf(w, "accuracy %.6f  top-5 %.6f\n", m.Accuracy, m.Top5)
		if m.Counted > 0 {
			fmt.Fprintf(w, "nll %.6f  brier %.6f\n", m.NLL, m.Brier)
			fmt.Fprintf(w, "ece %.6f  ece-adaptive %.6f  mce %.6f (%d bins)\n", m.ECE, m.ECEAdaptive, m.MCE, m.Bins)
		}
	}
	return nil
}

// rowBar shows the progress of a long evaluation on a terminal: a bar over
// the rows with their rate. Nil (and silent) with --json or when stderr is
// not a terminal.
type rowBar struct {
	bar *progressbar.ProgressBar
}

func newRowBar(w io.Writer, total int64, asJSON bool) *rowBar {
	if asJSON || !isTerminal(w) || total == 0 {
		return nil
	}
	return &rowBar{progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("eval"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

func (b *rowBar) add(n int64) {
	if b != nil {
		b.bar.Add64(n)
	}
}

func (b *rowBar) done() {
	if b != nil {
		b.bar.Finish()
		b.bar.Clear()
	}
}

// nothingToEvaluate applies the commands' rule for an evaluation with
// nothing in it (no rows, or every row's label the ignore index): an
// error, not a loss of 0. what names the input.
func nothingToEvaluate(p *evalacc.Partial, what string) error {
	cfg := p.Config()
	switch {
	case p.Rows() == 0:
		return fmt.Errorf("%s: no rows: nothing to evaluate", what)
	case cfg.Targets == evalacc.Labels && p.Weight() == 0 && cfg.ClassWeights == nil:
		return fmt.Errorf("%s: every row has the ignore index %d: nothing to evaluate", what, cfg.IgnoreIndex)
	}
	return nil
}
