package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"

	"github.com/xentlab/xent/internal/atomicfile"
	"github.com/xentlab/xent/linear"
	"github.com/xentlab/xent/loss"
	"github.com/xentlab/xent/npy"
)

// evalHead evaluates the fused classifier head on .npy files.
func evalHead(f evalFlags, stdout io.Writer) error {
	if f.hidden == "" || f.classifier == "" {
		return usagef("the fused head needs both --hidden and --classifier")
	}
	if f.targets == "" {
		return usagef("the fused head needs --targets (integer labels [N])")
	}
	if f.lossName != "cross-entropy" || f.teacher != "" {
		return usagef("the fused head computes cross-entropy only")
	}
	if f.stream.partial != "" || f.stream.dtype != "" {
		return usagef("--partial and --dtype apply to the evaluation of --logits, not to the fused head")
	}
	// The hidden states stream through the head a token block at a time;
	// the classifier, the targets and the per-row results are in memory.
	hr, err := npy.OpenRows(f.hidden)
	if err != nil {
		return fmt.Errorf("hidden: %w", err)
	}
	defer hr.Close()
	if err := wantMatrix("hidden", f.hidden)(hr.Header()); err != nil {
		return err
	}
	n, d := hr.Rows(), hr.Cols()
	wideH := hr.Header().DType.Size == 8
	w32, v, dw, wideW, err := readMatrix32(f.classifier, "classifier")
	if err != nil {
		return err
	}
	if f.shift < 0 || n > 0 && f.shift >= n {
		return usagef("--shift %d, want 0 ≤ shift < %d (the rows of --hidden)", f.shift, n)
	}
	if dw != d {
		return fmt.Errorf("classifier %s: %d columns, but the hidden states have D = %d", f.classifier, dw, d)
	}
	in := linear.Input{N: n, D: d, Weight: w32, V: v}
	wideB := false
	if f.bias != "" {
		a, err := loadArray(f.bias, "bias", both(wantFloat("bias", f.bias), wantVector("bias", f.bias, v)))
		if err != nil {
			return err
		}
		in.Bias, wideB = toF32(a.f), a.wide()
	}
	t, err := loadArray(f.targets, "targets", func(h npy.Header) error {
		if h.DType.Kind == npy.Float || len(h.Shape) != 1 || h.Shape[0] != n {
			return fmt.Errorf("targets %s: %s %v, want integer labels of shape [%d]", f.targets, h.DType, h.Shape, n)
		}
		return nil
	})
	if err != nil {
		return err
	}
	in.Targets64 = t.i
	if n == 0 {
		return noRows("hidden", f.hidden)
	}
	if !slices.ContainsFunc(in.Targets64[f.shift:], func(y int64) bool { return y != f.ignore }) {
		return allIgnored(f.targets, f.ignore)
	}
	red, opts, ceOpts, err := lossOptions(f, v)
	if err != nil {
		return err
	}
	head := linear.Head{Loss: append(loss.ForCrossEntropy(opts...), ceOpts...), Shift: f.shift, FilterEps: f.filterEps, Threads: f.threads}
	out := linear.Output{Rows: make([]float32, n), TargetRank: make([]int32, n)}
	if f.gradClassifier != "" {
		out.GradWeight = make([]float32, v*d)
	}
	if f.gradBias != "" {
		if in.Bias == nil {
			return usagef("--grad-bias needs --bias")
		}
		out.GradBias = make([]float32, v)
	}
	if f.lse != "" {
		out.LSE = make([]float32, n)
	}
	hs := linear.HiddenStream{Read: func(dst []float32, row int) error {
		k, err := npy.ReadRows(hr, dst)
		if err == nil && k*d != len(dst) {
			err = fmt.Errorf("read %d rows from row %d, want %d", k, row, len(dst)/d)
		}
		if err != nil {
			return fmt.Errorf("hidden %s: %w", f.hidden, err)
		}
		return nil
	}}
	var st linear.Stats
	run := func() (err error) {
		st, err = head.EvalStream(in, hs, out)
		return err
	}
	if f.gradHidden != "" {
		// ∂H is written as it is computed, a token block at a time, to a
		// file that takes its name only when the evaluation succeeds.
		wide, err := outputWide(f.gradDType, wideH)
		if err != nil {
			return err
		}
		err = atomicfile.Write(f.gradHidden, func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 1<<20)
			write, closeRows, err := rowSink(bw, wide, n, d)
			if err != nil {
				return err
			}
			hs.Grad = func(g []float32, _ int) error { return write(g) }
			if err := run(); err != nil {
				return err
			}
			if err := closeRows(); err != nil {
				return err
			}
			return bw.Flush()
		})
		if err != nil {
			return err
		}
	} else if err := run(); err != nil {
		return err
	}
	// The head computes in float32; each output is written in the
	// precision of the input it belongs to (--grad-dtype input), widened
	// exactly when that is float64.
	for _, w := range []struct {
		path  string
		x     []float32
		wide  bool
		shape []int
	}{{f.gradClassifier, out.GradWeight, wideW, []int{v, d}},
		{f.gradBias, out.GradBias, wideB, []int{v}}, {f.lse, out.LSE, wideH, []int{n}}} {
		if w.path == "" {
			continue
		}
		wide, err := outputWide(f.gradDType, w.wide)
		if err != nil {
			return err
		}
		if wide {
			err = npy.WriteFile(w.path, toF64(w.x), w.shape...)
		} else {
			err = npy.WriteFile(w.path, w.x, w.shape...)
		}
		if err != nil {
			return err
		}
	}
	var counted, top1, top5 int
	for _, r := range out.TargetRank {
		if r < 0 {
			continue
		}
		counted++
		if r == 0 {
			top1++
		}
		if r < 5 {
			top5++
		}
	}
	acc, acc5 := 0.0, 0.0
	if counted > 0 {
		acc, acc5 = float64(top1)/float64(counted), float64(top5)/float64(counted)
	}
	res := map[string]any{"loss": st.Loss, "rows": n, "cols": v, "accuracy": acc, "top5": acc5}
	if red == loss.None {
		res["loss"] = out.Rows
	}
	if f.asJSON {
		return writeJSON(stdout, res)
	}
	if red == loss.None {
		fmt.Fprintln(stdout, "loss (fused head, per row):")
		for i, l := range out.Rows {
			fmt.Fprintf(stdout, "  %d\t%.9g\n", i, l)
		}
	} else {
		fmt.Fprintf(stdout, "loss %.9g (fused head, %s over %d rows, D = %d, V = %d)\n", st.Loss, red, n, d, v)
	}
	fmt.Fprintf(stdout, "accuracy %.6f  top-5 %.6f\n", acc, acc5)
	if f.filterEps > 0 {
		fmt.Fprintf(stdout, "gradient filtering skipped %d of %d tiles\n", st.SkippedTiles, st.Tiles)
	}
	return nil
}

// readMatrix32 reads a 2-D float .npy straight into float32 (the fused
// head computes in float32): one copy of the data in memory, float64 files
// rounded element by element as they are read. It says whether the file
// holds float64.
func readMatrix32(path, what string) ([]float32, int, int, bool, error) {
	f, err := npy.Open(path)
	if err != nil {
		return nil, 0, 0, false, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	if err := wantMatrix(what, path)(f.Header); err != nil {
		return nil, 0, 0, false, err
	}
	if err := checkArrayBytes(what, path, f.Header, 4); err != nil {
		return nil, 0, 0, false, err
	}
	x, err := npy.ReadAll[float32](f)
	if err != nil {
		return nil, 0, 0, false, fmt.Errorf("%s: %w", what, err)
	}
	return x, f.Header.Shape[0], f.Header.Shape[1], f.Header.DType.Size == 8, nil
}

// rowSink writes an array of rows×cols float32 rows to w a block at a
// time, widened exactly to float64 when wide: it returns the block writer
// and the check that every row was written.
func rowSink(w io.Writer, wide bool, rows, cols int) (func([]float32) error, func() error, error) {
	if !wide {
		rw, err := npy.NewRowWriter[float32](w, rows, cols)
		if err != nil {
			return nil, nil, err
		}
		return rw.Write, rw.Close, nil
	}
	rw, err := npy.NewRowWriter[float64](w, rows, cols)
	if err != nil {
		return nil, nil, err
	}
	var buf []float64
	return func(x []float32) error {
		buf = buf[:0]
		for _, v := range x {
			buf = append(buf, float64(v))
		}
		return rw.Write(buf)
	}, rw.Close, nil
}
