package main

import (
	"fmt"
	"io"
	"math"

	"github.com/xentlab/xent/loss"
	"github.com/xentlab/xent/npy"
)

// The sequence path of "xent eval": a loss that reads sequences (CTC)
// takes --logits [T, N, C] (time-major, PyTorch's layout; [T, C] is one
// sequence), --targets as integers [N, S] (padded) or [ΣS] (concatenated),
// and optional --input-lengths [N] and --target-lengths [N] (defaults:
// every frame; S for padded targets, all the targets for one sequence).
// --grad writes ∂loss/∂logits in the logits' shape (float32 .npy). A
// sequence without an alignment has loss +Inf, printed as "+Inf" (a JSON
// string with --json).

func evalSequences(f evalFlags, stdout io.Writer, l loss.Loss, s loss.Spec, red loss.Reduction) error {
	for _, unused := range []struct {
		set  bool
		flag string
	}{
		{f.teacher != "", "--teacher"}, {f.weights != "", "--weights"}, {f.posWeight != "", "--pos-weight"},
		{f.lse != "", "--lse"}, {f.smoothing != 0, "--label-smoothing"}, {f.zloss != 0, "--z-loss"},
		{f.softcap != 0, "--softcap"}, {f.temperature != 0, "--temperature"}, {f.ignore != -100, "--ignore-index"},
		{f.negatives != "", "--negatives"},
	} {
		if unused.set {
			return usagef("%s does not apply to loss %s", unused.flag, s.Name)
		}
	}
	c, ok := l.(*loss.CTC)
	if !ok {
		return fmt.Errorf("loss %s reads sequences, but only ctc is supported here", s.Name)
	}
	if f.targets == "" {
		return usagef("loss %s needs --targets (integer targets [N, S] or [ΣS])", s.Name)
	}
	var tt, n, cls int
	la, err := loadArray(f.logits, "logits", both(wantFloat("logits", f.logits), func(h npy.Header) error {
		switch len(h.Shape) {
		case 3:
			tt, n, cls = h.Shape[0], h.Shape[1], h.Shape[2]
		case 2:
			tt, n, cls = h.Shape[0], 1, h.Shape[1]
		default:
			return fmt.Errorf("logits %s: shape %v, want [T, N, C] (or [T, C] for one sequence)", f.logits, h.Shape)
		}
		if n == 0 || cls == 0 {
			return fmt.Errorf("logits %s: shape %v has no sequence or no class", f.logits, h.Shape)
		}
		return nil
	}))
	if err != nil {
		return err
	}
	x, h := la.f, la.h
	in := loss.CTCInput[float64]{Logits: x, Batch: n, Classes: cls}

	ta, err := loadArray(f.targets, "targets", both(wantInts("targets", f.targets), func(th npy.Header) error {
		switch {
		case len(th.Shape) == 2 && th.Shape[0] == n:
			in.TargetCols = th.Shape[1]
		case len(th.Shape) == 2:
			return fmt.Errorf("targets %s: shape %v, want [%d, S] (one padded row per sequence)", f.targets, th.Shape, n)
		case len(th.Shape) != 1:
			return fmt.Errorf("targets %s: shape %v, want [N, S] (padded) or [ΣS] (concatenated)", f.targets, th.Shape)
		}
		return nil
	}))
	if err != nil {
		return err
	}
	in.Targets64 = ta.i
	if in.TargetCols > 0 && len(in.Targets64) == 0 {
		in.TargetCols = 0 // [N, 0]: every target is empty
	}
	if in.InputLengths, err = readLengths(f.inputLengths, "input-lengths", n); err != nil {
		return err
	}
	if in.TargetLengths, err = readLengths(f.targetLengths, "target-lengths", n); err != nil {
		return err
	}
	if in.TargetLengths == nil && in.TargetCols == 0 && n > 1 {
		if len(in.Targets64) > 0 {
			return usagef("concatenated targets of %d sequences need --target-lengths", n)
		}
		in.TargetLengths = make([]int64, n)
	}

	out := loss.CTCOutput[float64]{Rows: make([]float64, n)}
	if f.grad != "" {
		out.Grad = make([]float64, len(x))
	}
	var value float64
	if h.DType.Size == 8 {
		value, err = c.EvalBatch64(in, out)
	} else {
		// float32 logits: evaluate in float32, as a float32 program would.
		in32 := loss.CTCInput[float32]{Logits: toF32(x), Batch: n, Classes: cls, Targets64: in.Targets64,
			TargetCols: in.TargetCols, InputLengths: in.InputLengths, TargetLengths: in.TargetLengths}
		out32 := loss.CTCOutput[float32]{Grad: toF32(out.Grad), Rows: make([]float32, n)}
		value, err = c.EvalBatch32(in32, out32)
		copyF64(out.Grad, out32.Grad)
		copyF64(out.Rows, out32.Rows)
	}
	if err != nil {
		return err
	}
	if f.grad != "" {
		wide, err := outputWide(f.gradDType, h.DType.Size == 8)
		if err != nil {
			return err
		}
		if err := writeFloats(f.grad, out.Grad, wide, h.Shape...); err != nil {
			return err
		}
	}
	res := map[string]any{"loss": jsonFloat(value), "frames": tt, "batch": n, "classes": cls}
	if red == loss.None {
		rows := make([]any, n)
		for i, v := range out.Rows {
			rows[i] = jsonFloat(v)
		}
		res["loss"] = rows
	}
	if f.asJSON {
		return writeJSON(stdout, res)
	}
	if red == loss.None {
		fmt.Fprintf(stdout, "loss (%s, per sequence):\n", s.Name)
		for i, v := range out.Rows {
			fmt.Fprintf(stdout, "  %d\t%.9g\n", i, v)
		}
		return nil
	}
	_, err = fmt.Fprintf(stdout, "loss %.9g (%s, %s over %d sequences of up to %d frames, %d classes)\n", value, s.Name, red, n, tt, cls)
	return err
}

// jsonFloat returns v, or the string "+Inf" (JSON has no infinity).
func jsonFloat(v float64) any {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return v
}

// readLengths reads an optional integer vector of n lengths.
func readLengths(path, what string, n int) ([]int64, error) {
	if path == "" {
		return nil, nil
	}
	a, err := loadArray(path, what, both(wantInts(what, path), func(h npy.Header) error {
		if len(h.Shape) != 1 || h.Shape[0] != n {
			return fmt.Errorf("%s %s: shape %v, want [%d] (one per sequence)", what, path, h.Shape, n)
		}
		return nil
	}))
	if err != nil {
		return nil, err
	}
	return a.i, nil
}
