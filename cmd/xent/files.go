package main

import (
	"fmt"
	"strings"

	"github.com/xentlab/xent/internal/atomicfile"
	"github.com/xentlab/xent/loss"
	"github.com/xentlab/xent/npy"
)

// array is one .npy input, opened and read once (so that a pipe such as
// /dev/stdin works, and a file replaced meanwhile cannot be read half
// old, half new): its header, and its data as float64 for a
// floating-point dtype or as int64 for integers and bools.
type array struct {
	path string
	h    npy.Header
	f    []float64
	i    []int64
}

// loadArray opens path, hands its header to check (which may reject the
// dtype or the shape before any data is read; nil accepts anything) and
// reads the data. Errors start with what.
func loadArray(path, what string, check func(h npy.Header) error) (*array, error) {
	f, err := npy.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	if err := checkArraySize(what, path, f.Header); err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(f.Header); err != nil {
			return nil, err
		}
	}
	a := &array{path: path, h: f.Header}
	if f.Header.DType.Kind == npy.Float {
		a.f, err = npy.ReadAll[float64](f)
	} else {
		a.i, err = npy.ReadAll[int64](f)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return a, nil
}

// isFloat reports whether the array is stored in a floating-point dtype.
func (a *array) isFloat() bool { return a.h.DType.Kind == npy.Float }

// wide reports whether the array is stored in float64.
func (a *array) wide() bool { return a.isFloat() && a.h.DType.Size == 8 }

// floats returns the data as float64 (integers converted).
func (a *array) floats() []float64 {
	if a.f != nil || a.i == nil {
		return a.f
	}
	x := make([]float64, len(a.i))
	for k, v := range a.i {
		x[k] = float64(v)
	}
	return x
}

// wantFloat is a header check: a floating-point dtype.
func wantFloat(what, path string) func(npy.Header) error {
	return func(h npy.Header) error {
		if h.DType.Kind != npy.Float {
			return fmt.Errorf("%s %s: dtype %s, want float32 or float64", what, path, h.DType)
		}
		return nil
	}
}

// wantInts is a header check: an integer dtype.
func wantInts(what, path string) func(npy.Header) error {
	return func(h npy.Header) error {
		if h.DType.Kind != npy.Int && h.DType.Kind != npy.Uint {
			return fmt.Errorf("%s %s: dtype %s, want integers", what, path, h.DType)
		}
		return nil
	}
}

// both runs the header checks in turn.
func both(checks ...func(npy.Header) error) func(npy.Header) error {
	return func(h npy.Header) error {
		for _, c := range checks {
			if err := c(h); err != nil {
				return err
			}
		}
		return nil
	}
}

// checkFiles refuses, before any work, an output that is the same file as
// an input or as another output (compared by device and inode); see
// atomicfile.CheckDistinct.
func checkFiles(inputs, outputs []atomicfile.Named) error {
	if err := atomicfile.CheckDistinct(inputs, outputs); err != nil {
		return usageError{err.Error()}
	}
	return nil
}

// writeFloats writes x as an .npy array of the given shape, in float64
// when wide is set and in float32 otherwise.
func writeFloats(path string, x []float64, wide bool, shape ...int) error {
	if wide {
		return npy.WriteFile(path, x, shape...)
	}
	return npy.WriteFile(path, toF32(x), shape...)
}

// gradDTypes are the values of the --grad-dtype flag.
const gradDTypeUsage = "precision of the gradient and log-sum-exp outputs: input (the inputs' float32 or float64), float32 or float64"

// outputWide resolves --grad-dtype for inputs stored in float64 (wide) or
// not.
func outputWide(flag string, wide bool) (bool, error) {
	switch flag {
	case "", "input":
		return wide, nil
	case "float32":
		return false, nil
	case "float64":
		return true, nil
	}
	return false, usagef("--grad-dtype %q, want input, float32 or float64", flag)
}

// toF64 widens float32 values to float64 (exactly).
func toF64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// named pairs flag names with paths (flag, path, flag, path, ...),
// leaving out the empty paths.
func named(pairs ...string) []atomicfile.Named {
	var out []atomicfile.Named
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			out = append(out, atomicfile.Named{Flag: pairs[i], Path: pairs[i+1]})
		}
	}
	return out
}

// noRows is the error for an input without rows: there is nothing to
// average, and every command says so rather than print a 0 (xent eval,
// calibrate and the fused head alike).
func noRows(what, path string) error {
	return fmt.Errorf("%s %s: no rows: nothing to evaluate", what, path)
}

// allIgnored is the error for labels that all equal the ignore index:
// the mean loss, the accuracy and the calibration errors are undefined
// (PyTorch's mean is NaN); every command refuses, with this message.
func allIgnored(path string, ignore int64) error {
	return fmt.Errorf("targets %s: every row has the ignore index %d: nothing to evaluate", path, ignore)
}

// checkLossSpec builds the loss of --loss with the options the command
// line sets (the class weights left out: they are data, read later), so
// that a bad name, parameter or option value is a usage error (exit
// status 2) found before any file is read.
func checkLossSpec(f evalFlags, spec string) error {
	f.weights = ""
	_, opts, ce, err := lossOptions(f, 0)
	if err != nil {
		return err
	}
	_, s, err := loss.Parse(spec, opts...)
	if err != nil {
		return usageError{err.Error()}
	}
	if len(ce) > 0 {
		switch {
		case s.Name != "cross-entropy":
			return usagef("--label-smoothing, --z-loss and --softcap apply to cross-entropy only (loss %s)", s.Name)
		case strings.Contains(spec, ":"):
			return usagef("give cross-entropy's parameters either in --loss or with flags, not both")
		}
		if _, _, err := loss.ParseWith(spec, opts, ce, nil); err != nil {
			return usageError{err.Error()}
		}
	}
	if f.posWeight != "" && s.Name != "bce" {
		return usagef("--pos-weight applies to bce only (loss %s)", s.Name)
	}
	return nil
}

// floatLabels reports whether float targets of header h are shaped like
// labels — one per row ([rows], or [] and [1] for one example's logits
// [C]) — rather than like soft targets, so that the error can say the
// dtype is wrong.
func floatLabels(h npy.Header, rows, cols int, oneD, unbatched bool) bool {
	switch {
	case unbatched:
		return len(h.Shape) == 0 || len(h.Shape) == 1 && h.Shape[0] == 1 && cols != 1
	case oneD:
		return false // elementwise logits [N] take float targets [N]
	}
	return len(h.Shape) == 0 || len(h.Shape) == 1 && h.Shape[0] == rows
}

// readTeacher reads teacher logits: a matrix [rows, cols], or, for one
// example's logits [C] (unbatched), a vector [C] read as [1, C].
func readTeacher(path string, unbatched bool) ([]float64, int, int, bool, error) {
	if !unbatched {
		return readMatrix(path, "teacher")
	}
	a, err := loadArray(path, "teacher", func(h npy.Header) error {
		if len(h.Shape) != 1 {
			return fmt.Errorf("teacher %s: shape %v, want [C] like the logits", path, h.Shape)
		}
		return wantFloat("teacher", path)(h)
	})
	if err != nil {
		return nil, 0, 0, false, err
	}
	return a.f, 1, len(a.f), a.wide(), nil
}
