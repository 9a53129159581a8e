// Package loss holds xent's loss functions: cross-entropy with PyTorch's
// options and no Softmax Collapse, binary cross-entropy with logits,
// distillation KL, and the research catalog built on the same pattern.
//
// # The pattern
//
// Every loss implements Loss: it reads an Input (logits row-major with a
// column count, and whatever targets it needs) and returns the reduced
// value; when Output.Grad is set it writes ∂loss/∂logits there in the same
// pass over memory (Grad may be Input.Logits itself, to save memory), and
// when Output.Rows is set, one value per row. float32 and float64 go
// through Eval32 and Eval64.
//
// Options common to many losses — reduction, ignore index, class weights,
// threads — are functional Options with PyTorch's defaults; row weights
// are part of the Input. Settings that belong to one loss are options of
// that loss only: label smoothing, z-loss and soft-capping of
// cross-entropy (CrossEntropyOption), pos_weight of BCE (BCEOption); the
// compiler rejects them elsewhere.
//
// # Errors
//
// Shapes, labels out of range and non-finite values where they make the
// result undefined are reported as errors naming the row (and column) and
// wrapping ErrShape or ErrValue (the same values as every other package's);
// no loss panics on bad input or returns NaN as if it were a value.
//
// # Adding a loss
//
// Touch these files, and only these:
//
//  1. loss/NAME.go, one file per loss (or per family): the type, its doc
//     comment (formula, paper, defaults, the stable form, the accuracy
//     bound, and where it differs from the paper's code), its registry
//     name written once as a constant, a constructor that validates its
//     parameters (valueErr) and the common Options (build; buildHard,
//     tsrBuild or buildElem when one of the shared drivers fits), Name,
//     Eval32 and Eval64 — through evalHardRows (hardrows.go: one label
//     per row), tsrEval (tsrows.go: teacher and student rows) or the
//     elementwise driver (elementwise.go) where the loss fits one — and an
//     init that calls Register with its Spec: the name, the catalog id it
//     implements (listed in docs/CATALOG.md), a one-line summary, what it
//     reads (Needs) and its parameters with their defaults.
//  2. loss/NAME_test.go: a float64 reference written from the formula
//     (not from the code), gradients against central finite differences
//     (internal/gradcheck), float32 against float64, edge cases (one
//     class, ties, −Inf masks, ignored rows, huge logits) and a fuzz test
//     with a seed corpus. internal/finitecheck and the registry tests pick
//     a registered loss up by themselves.
//  3. The docs: a row in the matching page of docs/losses (the test of
//     docs_test.go fails until the row names the loss, its catalog id and
//     its parameters' defaults), then go test ./loss -run
//     TestLossesTableUpToDate -update-docs to rewrite docs/LOSSES.md's
//     table from the registry.
//  4. internal/tiercheck's wantCore: registering a loss changes the hash;
//     check that the new value is the same on AVX-512, AVX2
//     (GODEBUG=cpu.avx512f=off) and pure Go (-tags purego), then update it.
//
// Do not touch: internal/vek, internal/gemm, internal/rowpipe,
// internal/par and internal/asmgen (finished and verified kernels: reach
// them through internal/rowstat's tables, its chunked ExpSum and its
// no-Softmax-Collapse Tail); the shared drivers' semantics and Options
// (every loss depends on them — a setting that belongs to one loss is a
// parameter or an option of that loss, as CrossEntropyOption is); the
// registry machinery (internal/registry).
package loss

import (
	"fmt"
	"math"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
	"github.com/xentlab/xent/internal/xerr"
)

// Float is the element type of logits and targets: float32 or float64, or
// a type defined on them.
type Float = rowstat.Float

// Input is one batch of a loss's inputs. Which fields a loss reads is
// stated in its documentation; the others must be nil.
type Input[T Float] struct {
	// Logits is the [rows, Cols] matrix of scores, row-major.
	Logits []T
	Cols   int
	// Labels holds one class index per row (or Labels64; not both).
	Labels   []int32
	Labels64 []int64
	// Targets holds soft targets of the logits' shape (probabilities), or
	// one scalar per row for losses that say so.
	Targets []T
	// Teacher holds a teacher's logits of the logits' shape.
	Teacher []T
	// RowWeights scales each row's loss (one per row; nil means 1).
	RowWeights []T
}

// Output receives what a loss computes besides its value. Nil fields are
// not computed.
type Output[T Float] struct {
	// Grad receives ∂loss/∂logits, the shape of the logits; it may be
	// Input.Logits itself. It is overwritten, not accumulated.
	Grad []T
	// Rows receives each row's loss (before reduction; 0 for ignored rows).
	Rows []T
	// LSE receives each row's log-sum-exp of the (soft-capped) logits,
	// where the loss computes one.
	LSE []T
}

// Loss is implemented by every loss of the package.
type Loss interface {
	// Name is the loss's registry name.
	Name() string
	// Eval32 evaluates the loss on float32 inputs.
	Eval32(in Input[float32], out Output[float32]) (float64, error)
	// Eval64 evaluates the loss on float64 inputs.
	Eval64(in Input[float64], out Output[float64]) (float64, error)
}

func convertInput[T Float, E exact](in Input[T]) Input[E] {
	return Input[E]{
		Logits: rowstat.AsExact[T, E](in.Logits), Cols: in.Cols,
		Labels: in.Labels, Labels64: in.Labels64,
		Targets: rowstat.AsExact[T, E](in.Targets), Teacher: rowstat.AsExact[T, E](in.Teacher),
		RowWeights: rowstat.AsExact[T, E](in.RowWeights),
	}
}

func convertOutput[T Float, E exact](out Output[T]) Output[E] {
	return Output[E]{Grad: rowstat.AsExact[T, E](out.Grad), Rows: rowstat.AsExact[T, E](out.Rows), LSE: rowstat.AsExact[T, E](out.LSE)}
}

type exact = rowstat.Exact

// Reduction says how per-row losses combine into the returned value.
type Reduction int

const (
	// Mean divides the weighted sum by the total weight of the rows that
	// count (PyTorch's "mean"; with class weights, their sum over the
	// non-ignored targets). A batch with no weight gives 0.
	Mean Reduction = iota
	// Sum adds the per-row losses.
	Sum
	// None also adds them for the returned value, and requires
	// Output.Rows, which receives the per-row losses; the gradient is that
	// of the sum.
	None
)

func (r Reduction) String() string {
	switch r {
	case Mean:
		return "mean"
	case Sum:
		return "sum"
	case None:
		return "none"
	}
	return fmt.Sprintf("Reduction(%d)", int(r))
}

// ParseReduction reads "mean", "sum" or "none".
func ParseReduction(s string) (Reduction, error) {
	switch s {
	case "mean":
		return Mean, nil
	case "sum":
		return Sum, nil
	case "none":
		return None, nil
	}
	return 0, fmt.Errorf("loss: unknown reduction %q (want mean, sum or none)", s)
}

// Options holds the settings shared by the losses. Build it with
// functional Options; the zero Options is not the default (see Defaults).
// Settings that belong to one loss are options of that loss
// (CrossEntropyOptions, BCEOptions).
type Options struct {
	Reduction    Reduction
	IgnoreIndex  int64     // rows whose label equals it are skipped (default −100)
	ClassWeights []float64 // one weight per class (nil: all 1)
	Threads      int       // goroutines (≤ 0: GOMAXPROCS); results do not depend on it
}

// Defaults returns PyTorch's defaults: mean reduction, ignore index −100,
// no weights.
func Defaults() Options { return Options{IgnoreIndex: -100} }

// Option changes one setting.
type Option func(*Options)

// WithReduction sets the reduction (default Mean).
func WithReduction(r Reduction) Option { return func(o *Options) { o.Reduction = r } }

// WithIgnoreIndex sets the label whose rows are skipped (default −100).
func WithIgnoreIndex(i int64) Option { return func(o *Options) { o.IgnoreIndex = i } }

// WithClassWeights sets one weight per class (PyTorch's weight argument).
func WithClassWeights(w []float64) Option { return func(o *Options) { o.ClassWeights = w } }

// WithThreads sets the number of goroutines (≤ 0: GOMAXPROCS).
func WithThreads(n int) Option { return func(o *Options) { o.Threads = n } }

// build applies opts to the defaults and validates them.
func build(name string, opts []Option) (Options, error) {
	o := Defaults()
	for _, f := range opts {
		f(&o)
	}
	return o, o.check(name)
}

// check validates the shared settings.
func (o Options) check(name string) error {
	if o.Reduction < Mean || o.Reduction > None {
		return valueErr(name, "unknown reduction %d", o.Reduction)
	}
	for c, w := range o.ClassWeights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return valueErr(name, "class weight %v at class %d, want a finite number ≥ 0", w, c)
		}
	}
	return nil
}

// ErrShape is wrapped by every error about the shape of the arguments.
// It is the same value in every package of the module, so errors.Is
// matches it whichever package the error came from.
var ErrShape = xerr.ErrShape

// ErrValue is wrapped by every error about a value (a label out of range,
// a NaN or infinite logit where the loss is undefined).
// It is the same value in every package of the module, so errors.Is
// matches it whichever package the error came from.
var ErrValue = xerr.ErrValue

func shapeErr(name, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", name, fmt.Sprintf(format, args...), ErrShape)
}

func valueErr(name, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", name, fmt.Sprintf(format, args...), ErrValue)
}

// checkMatrix validates Logits/Cols and the Output buffers shared by every
// row-wise loss and returns the number of rows.
func checkMatrix[E exact](name string, in Input[E], out Output[E], red Reduction) (int, error) {
	if in.Cols <= 0 {
		return 0, shapeErr(name, "Cols = %d, want ≥ 1", in.Cols)
	}
	if len(in.Logits)%in.Cols != 0 {
		return 0, shapeErr(name, "len(Logits) = %d is not a multiple of Cols = %d", len(in.Logits), in.Cols)
	}
	rows := len(in.Logits) / in.Cols
	if out.Grad != nil && len(out.Grad) != len(in.Logits) {
		return 0, shapeErr(name, "len(Grad) = %d, want %d (the shape of Logits)", len(out.Grad), len(in.Logits))
	}
	if out.Grad != nil && rowstat.OverlapPartially(out.Grad, in.Logits) {
		return 0, shapeErr(name, "Grad overlaps Logits without being Logits")
	}
	if out.Rows != nil && len(out.Rows) != rows {
		return 0, shapeErr(name, "len(Rows) = %d, want %d (one per row)", len(out.Rows), rows)
	}
	if red == None && out.Rows == nil {
		return 0, shapeErr(name, "reduction none needs Output.Rows (one value per row)")
	}
	if out.LSE != nil && len(out.LSE) != rows {
		return 0, shapeErr(name, "len(LSE) = %d, want %d (one per row)", len(out.LSE), rows)
	}
	if in.RowWeights != nil {
		if len(in.RowWeights) != rows {
			return 0, shapeErr(name, "len(RowWeights) = %d, want %d (one per row)", len(in.RowWeights), rows)
		}
		for i, w := range in.RowWeights {
			if !(w >= 0) || math.IsInf(float64(w), 0) {
				return 0, valueErr(name, "row weight %v at row %d, want a finite number ≥ 0", w, i)
			}
		}
	}
	return rows, nil
}

// labelAt returns row i's label from whichever label slice is set.
func labelAt[E exact](in Input[E], i int) int64 {
	if in.Labels != nil {
		return int64(in.Labels[i])
	}
	return in.Labels64[i]
}

func checkLabels[E exact](name string, in Input[E], rows int) error {
	switch {
	case in.Labels != nil && in.Labels64 != nil:
		return shapeErr(name, "both Labels and Labels64 are set")
	case in.Labels == nil && in.Labels64 == nil:
		return shapeErr(name, "no labels (Labels or Labels64)")
	case in.Labels != nil && len(in.Labels) != rows:
		return shapeErr(name, "len(Labels) = %d, want %d (one per row)", len(in.Labels), rows)
	case in.Labels64 != nil && len(in.Labels64) != rows:
		return shapeErr(name, "len(Labels64) = %d, want %d (one per row)", len(in.Labels64), rows)
	}
	return nil
}

func rowWeight[E exact](in Input[E], i int) float64 {
	if in.RowWeights == nil {
		return 1
	}
	return float64(in.RowWeights[i])
}

// firstNonFinite returns the column of the first NaN or +Inf in x (−Inf
// is allowed), or −1.
func firstNonFinite[E exact](x []E) int {
	for j, v := range x {
		if v != v || math.IsInf(float64(v), 1) {
			return j
		}
	}
	return -1
}

// sumBlocks evaluates f on the fixed blocks of [0, n) (grain indices
// each) on up to threads goroutines and returns the blocks' values added
// in block order — the same bits for any thread count — or the error of
// the first failing block in block order.
func sumBlocks(n, grain, threads int, f func(lo, hi int) (float64, error)) (float64, error) {
	nb := par.Blocks(n, grain)
	parts := make([]float64, nb)
	errs := make([]error, nb)
	par.For(n, grain, threads, func(b, lo, hi int) { parts[b], errs[b] = f(lo, hi) })
	var total float64
	for b := range parts {
		if errs[b] != nil {
			return 0, errs[b]
		}
		total += parts[b]
	}
	return total, nil
}
