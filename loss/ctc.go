package loss

import (
	"math"
	"sync"
	"unsafe"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowstat"
	"github.com/xentlab/xent/internal/vek"
)

// nameCtc is the registry name of this file's loss.
const nameCtc = "ctc"

// CTC is the connectionist temporal classification loss of Graves,
// Fernández, Gomez and Schmidhuber, "Connectionist Temporal
// Classification: Labelling Unsegmented Sequence Data with Recurrent
// Neural Networks" (ICML 2006), with the semantics of PyTorch's
// F.ctc_loss — except that it reads logits and applies the log-softmax
// itself (PyTorch's F.ctc_loss(F.log_softmax(x, 2), ...)).
//
// For one sequence with logits x_t (t < T_n, the sequence's input length)
// over C classes, target l of length S_n and blank b, let l' be l with a
// blank before, between and after its labels (length L = 2S_n + 1) and
// y_t = softmax(x_t). The loss is
//
//	ℓ_n = −log P,   P = Σ over paths π ∈ B⁻¹(l) of Π_t y_t(π_t),
//
// where B removes repeated symbols, then blanks. P comes from the
// forward (alpha) recursion
//
//	α_0(0) = y_0(b),  α_0(1) = y_0(l'_1),
//	α_t(s) = y_t(l'_s)·[α_{t−1}(s) + α_{t−1}(s−1) + [l'_s ≠ b, l'_s ≠ l'_{s−2}]·α_{t−1}(s−2)],
//	P = α_{T−1}(L−1) + α_{T−1}(L−2),
//
// so two equal labels in a row need a blank between them. The gradient
// with respect to the logits is, by the forward–backward (alpha–beta)
// occupancies γ_t(c) = Σ_{s: l'_s = c} α_t(s)·β_t(s)/P,
//
//	∂ℓ_n/∂x_t(c) = y_t(c) − γ_t(c)   (t < T_n; 0 for t ≥ T_n).
//
// An alignment that cannot exist (a target needing more frames than the
// input has: S_n plus the number of repeated neighbours) gives
// ℓ_n = +Inf and gradient 0 (PyTorch's gradient is NaN there); with
// zero_infinity the loss is 0 as well, as in PyTorch. An empty target
// gives −Σ_t log y_t(b); T_n = 0 gives 0 for an empty target, +Inf
// otherwise.
//
// Reductions, as PyTorch: Sum adds the ℓ_n; Mean divides each ℓ_n by
// max(S_n, 1) and averages over the batch (zeroed infinite losses count);
// None writes the ℓ_n to CTCOutput.Rows and returns their sum. Threads
// split the batch by sequence and the per-sequence values are added in
// order, so the result is the same for any number of threads.
//
// Stable form: the log-softmax is x − max − log Σ exp(x − max) from the
// package's kernels (the small-tail form of cross-entropy), and the
// recursions run in log space, each α and β held as a float64 mantissa
// with a separate int64 binary exponent (log α = e·ln 2 + log m), branch-
// free, so no probability underflows (logits of ±1e4 and sequences of
// thousands of frames are exact) and no exp or log is evaluated per
// state. States that cannot be reached from the start or cannot reach
// the end in time are skipped. Limits of the representation: the blank
// and the target's classes must have log-probabilities ≥ −1e12 (or −Inf)
// at every frame read, and a sequence at most 2¹⁹ frames; beyond either
// the evaluation is an error.
//
// The logits are read in memory order twice (once to reduce each frame
// and gather the blank's and the targets' log-probabilities, once to
// write the gradient) and the recursions touch only those gathered
// values, so the cost is that of a log-softmax pass plus O(T·S) per
// sequence; Grad may be Logits itself.
//
// Accuracy: float64 logits give ℓ_n within about 1e-13·(T_n + ℓ_n) and
// gradients within 1e-13 absolute of the exact values; float32 logits
// give ℓ_n within 2e-6·(T_n + ℓ_n) and gradients within 1e-6 absolute
// (times the reduction's scale) of the float64 values for the same
// inputs. Sums are in float64.
//
// Inputs (EvalBatch32 / EvalBatch64, CTCInput): logits [T, N, C]
// time-major as PyTorch's log_probs, targets padded [N, S] or
// concatenated, input and target lengths. Targets must lie in [0, C)
// and differ from the blank (PyTorch does not check); padding past a
// target's length and frames past an input's length are not read. Frames
// that are read must not hold NaN or +Inf; −Inf logits are masked
// classes (a frame whose logits are all −Inf is an error).
//
// Through the Loss interface (Eval32 / Eval64) a CTC evaluates one
// sequence: Input.Logits [T, Cols] are its frames, Input.Labels (or
// Labels64) its whole target sequence (any length, not one per row), and
// Output.Rows, when set, has one element.
//
// Options: reduction and threads; the others are rejected.
type CTC struct {
	o       Options
	blank   int
	zeroInf bool
}

// NewCTC returns the CTC loss with the given blank class (PyTorch's
// default is 0) and zero_infinity setting.
func NewCTC(blank int, zeroInfinity bool, opts ...Option) (*CTC, error) {
	const name = nameCtc
	if blank < 0 {
		return nil, valueErr(name, "blank = %d, want ≥ 0", blank)
	}
	o, err := build(name, opts)
	if err != nil {
		return nil, err
	}
	switch {
	case o.ClassWeights != nil:
		return nil, valueErr(name, "class weights do not apply")
	case o.IgnoreIndex != -100:
		return nil, valueErr(name, "the ignore index does not apply (use the target lengths)")
	}
	return &CTC{o: o, blank: blank, zeroInf: zeroInfinity}, nil
}

// Name returns "ctc".
func (*CTC) Name() string { return nameCtc }

// Blank returns the blank class.
func (c *CTC) Blank() int { return c.blank }

// ZeroInfinity reports whether infinite losses are replaced by 0.
func (c *CTC) ZeroInfinity() bool { return c.zeroInf }

// CTCInput is one batch of CTC inputs, in PyTorch's layout.
type CTCInput[T Float] struct {
	// Logits is the [T, Batch, Classes] array of scores, time-major:
	// frame t of sequence n is Logits[(t·Batch+n)·Classes:][:Classes].
	Logits  []T
	Batch   int // N ≥ 1
	Classes int // C ≥ 1, the blank included
	// Targets (or Targets64; not both) holds the target sequences:
	// padded [Batch, TargetCols] when TargetCols > 0, else concatenated
	// (sequence n follows sequence n−1, its length TargetLengths[n]).
	Targets    []int32
	Targets64  []int64
	TargetCols int
	// InputLengths holds each sequence's number of frames T_n ≤ T (nil:
	// all T).
	InputLengths []int64
	// TargetLengths holds each target's length S_n (nil: TargetCols for
	// padded targets; for concatenated ones, len(Targets) with Batch 1).
	TargetLengths []int64
}

// CTCOutput receives what CTC computes besides its value.
type CTCOutput[T Float] struct {
	// Grad receives ∂loss/∂Logits, the shape of the logits (0 at frames
	// t ≥ T_n); it may be CTCInput.Logits itself.
	Grad []T
	// Rows receives each sequence's loss ℓ_n, before reduction.
	Rows []T
}

// Eval32 evaluates the loss of one sequence (see the type's
// documentation) on float32 logits.
func (c *CTC) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalCTCOne(k32, c, in, out)
}

// Eval64 evaluates the loss of one sequence on float64 logits.
func (c *CTC) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalCTCOne(k64, c, in, out)
}

// EvalBatch32 evaluates the loss of a batch of sequences on float32
// logits.
func (c *CTC) EvalBatch32(in CTCInput[float32], out CTCOutput[float32]) (float64, error) {
	return evalCTC(k32, c, in, out)
}

// EvalBatch64 evaluates the loss of a batch of sequences on float64
// logits.
func (c *CTC) EvalBatch64(in CTCInput[float64], out CTCOutput[float64]) (float64, error) {
	return evalCTC(k64, c, in, out)
}

// EvalCTC evaluates c on a batch of either precision.
func EvalCTC[T Float](c *CTC, in CTCInput[T], out CTCOutput[T]) (float64, error) {
	var z T
	if unsafe.Sizeof(z) == 4 {
		in32 := CTCInput[float32]{Logits: rowstat.AsExact[T, float32](in.Logits), Batch: in.Batch, Classes: in.Classes,
			Targets: in.Targets, Targets64: in.Targets64, TargetCols: in.TargetCols,
			InputLengths: in.InputLengths, TargetLengths: in.TargetLengths}
		return c.EvalBatch32(in32, CTCOutput[float32]{Grad: rowstat.AsExact[T, float32](out.Grad), Rows: rowstat.AsExact[T, float32](out.Rows)})
	}
	in64 := CTCInput[float64]{Logits: rowstat.AsExact[T, float64](in.Logits), Batch: in.Batch, Classes: in.Classes,
		Targets: in.Targets, Targets64: in.Targets64, TargetCols: in.TargetCols,
		InputLengths: in.InputLengths, TargetLengths: in.TargetLengths}
	return c.EvalBatch64(in64, CTCOutput[float64]{Grad: rowstat.AsExact[T, float64](out.Grad), Rows: rowstat.AsExact[T, float64](out.Rows)})
}

func evalCTCOne[E exact](k *kernels[E], c *CTC, in Input[E], out Output[E]) (float64, error) {
	const name = nameCtc
	switch {
	case in.Cols <= 0:
		return 0, shapeErr(name, "Cols = %d, want ≥ 1", in.Cols)
	case len(in.Logits)%in.Cols != 0:
		return 0, shapeErr(name, "len(Logits) = %d is not a multiple of Cols = %d", len(in.Logits), in.Cols)
	case in.Targets != nil || in.Teacher != nil || in.RowWeights != nil:
		return 0, shapeErr(name, "takes Logits [T, C] and Labels (the target sequence) only")
	case in.Labels != nil && in.Labels64 != nil:
		return 0, shapeErr(name, "both Labels and Labels64 are set")
	case out.LSE != nil:
		return 0, shapeErr(name, "Output.LSE is not computed by this loss")
	case out.Rows != nil && len(out.Rows) != 1:
		return 0, shapeErr(name, "len(Rows) = %d, want 1 (one sequence)", len(out.Rows))
	}
	return evalCTC(k, c, CTCInput[E]{Logits: in.Logits, Batch: 1, Classes: in.Cols,
		Targets: in.Labels, Targets64: in.Labels64}, CTCOutput[E]{Grad: out.Grad, Rows: out.Rows})
}

// ctcBatch is a validated batch: the frame count, each sequence's input
// length, target offset and length, its reduction factor, and the targets.
type ctcBatch struct {
	t, n, c       int
	blank         int
	il, off, tlen []int
	scale         []float64 // reduction's factor per sequence
	tg            []int     // the targets, concatenated (sequence n at off[n])
}

func (c *CTC) check(logits, grad, rows int, in ctcShape) (*ctcBatch, error) {
	const name = nameCtc
	n, cls := in.batch, in.classes
	switch {
	case n <= 0:
		return nil, shapeErr(name, "Batch = %d, want ≥ 1", n)
	case cls <= 0:
		return nil, shapeErr(name, "Classes = %d, want ≥ 1", cls)
	case logits%(n*cls) != 0:
		return nil, shapeErr(name, "len(Logits) = %d is not a multiple of Batch·Classes = %d", logits, n*cls)
	case c.blank >= cls:
		return nil, valueErr(name, "blank = %d outside [0, %d) (the classes)", c.blank, cls)
	case grad >= 0 && grad != logits:
		return nil, shapeErr(name, "len(Grad) = %d, want %d (the shape of Logits)", grad, logits)
	case rows >= 0 && rows != n:
		return nil, shapeErr(name, "len(Rows) = %d, want %d (one per sequence)", rows, n)
	case rows < 0 && c.o.Reduction == None:
		return nil, shapeErr(name, "reduction none needs Rows (one value per sequence)")
	case in.t32 && in.t64:
		return nil, shapeErr(name, "both Targets and Targets64 are set")
	case in.cols < 0:
		return nil, shapeErr(name, "TargetCols = %d, want ≥ 0", in.cols)
	case in.il != nil && len(in.il) != n:
		return nil, shapeErr(name, "len(InputLengths) = %d, want %d (one per sequence)", len(in.il), n)
	case in.tl != nil && len(in.tl) != n:
		return nil, shapeErr(name, "len(TargetLengths) = %d, want %d (one per sequence)", len(in.tl), n)
	}
	b := &ctcBatch{t: logits / (n * cls), n: n, c: cls, blank: c.blank,
		il: make([]int, n), off: make([]int, n), tlen: make([]int, n), scale: make([]float64, n)}
	for i := 0; i < n; i++ {
		b.il[i] = b.t
		if in.il != nil {
			v := in.il[i]
			if v < 0 || v > int64(b.t) {
				return nil, valueErr(name, "input length %d of sequence %d outside [0, %d] (the frames)", v, i, b.t)
			}
			b.il[i] = int(v)
		}
		if b.il[i] > ctcMaxFrames {
			return nil, valueErr(name, "input length %d of sequence %d is beyond the %d frames CTC handles", b.il[i], i, ctcMaxFrames)
		}
	}
	if in.cols > 0 {
		if in.ntargets != n*in.cols {
			return nil, shapeErr(name, "%d padded targets, want Batch·TargetCols = %d", in.ntargets, n*in.cols)
		}
		for i := 0; i < n; i++ {
			b.off[i], b.tlen[i] = i*in.cols, in.cols
			if in.tl != nil {
				v := in.tl[i]
				if v < 0 || v > int64(in.cols) {
					return nil, valueErr(name, "target length %d of sequence %d outside [0, %d] (TargetCols)", v, i, in.cols)
				}
				b.tlen[i] = int(v)
			}
		}
	} else {
		if in.tl == nil {
			if n != 1 {
				return nil, shapeErr(name, "concatenated targets need TargetLengths (one per sequence)")
			}
			b.tlen[0] = in.ntargets
		} else {
			sum := 0
			for i := 0; i < n; i++ {
				v := in.tl[i]
				if v < 0 || v > int64(in.ntargets) {
					return nil, valueErr(name, "target length %d of sequence %d outside [0, %d] (the targets)", v, i, in.ntargets)
				}
				b.off[i], b.tlen[i] = sum, int(v)
				sum += int(v)
			}
			if sum != in.ntargets {
				return nil, shapeErr(name, "the target lengths add up to %d, but there are %d concatenated targets", sum, in.ntargets)
			}
		}
	}
	total := 0
	for _, l := range b.tlen {
		total += l
	}
	b.tg = make([]int, 0, total)
	for i := 0; i < n; i++ {
		off := len(b.tg)
		for j := 0; j < b.tlen[i]; j++ {
			y := in.target(b.off[i] + j)
			b.tg = append(b.tg, y)
			switch {
			case y < 0 || y >= cls:
				return nil, valueErr(name, "target %d at sequence %d, position %d outside [0, %d)", y, i, j, cls)
			case y == c.blank:
				return nil, valueErr(name, "target at sequence %d, position %d is the blank (%d)", i, j, y)
			}
		}
		b.off[i] = off
		switch c.o.Reduction {
		case Mean:
			b.scale[i] = 1 / (float64(n) * float64(max(b.tlen[i], 1)))
		default:
			b.scale[i] = 1
		}
	}
	return b, nil
}

// ctcShape is what check needs to know of a CTCInput, whatever its
// element type.
type ctcShape struct {
	batch, classes, cols int
	t32, t64             bool
	ntargets             int
	il, tl               []int64
	target               func(i int) int
}

func shapeOf[E exact](in CTCInput[E]) ctcShape {
	s := ctcShape{batch: in.Batch, classes: in.Classes, cols: in.TargetCols,
		t32: in.Targets != nil, t64: in.Targets64 != nil, il: in.InputLengths, tl: in.TargetLengths}
	if in.Targets64 != nil {
		s.ntargets = len(in.Targets64)
		s.target = func(i int) int {
			v := in.Targets64[i]
			if v < math.MinInt32 || v > math.MaxInt32 {
				return -1 // reported as out of range
			}
			return int(v)
		}
	} else {
		s.ntargets = len(in.Targets)
		s.target = func(i int) int { return int(in.Targets[i]) }
	}
	return s
}

func evalCTC[E exact](k *kernels[E], c *CTC, in CTCInput[E], out CTCOutput[E]) (float64, error) {
	grad, rows := -1, -1
	if out.Grad != nil {
		grad = len(out.Grad)
		if rowstat.OverlapPartially(out.Grad, in.Logits) {
			return 0, shapeErr(nameCtc, "Grad overlaps Logits without being Logits")
		}
	}
	if out.Rows != nil {
		rows = len(out.Rows)
	}
	b, err := c.check(len(in.Logits), grad, rows, shapeOf(in))
	if err != nil {
		return 0, err
	}
	th := par.Threads(c.o.Threads)
	w := ctcWorkPool.Get().(*ctcWork)
	defer ctcWorkPool.Put(w)
	w.size(b)
	frames := b.t * b.n
	grain := max(1, blockElems/b.c)
	// Pass 1, over the frames in memory order: validate, reduce, and
	// gather the log-probabilities of each sequence's blank and labels.
	err = forBlocks(frames, grain, th, func(lo, hi int) error {
		for r := lo; r < hi; r++ {
			t, n := r/b.n, r%b.n
			if t >= b.il[n] {
				if out.Grad != nil {
					clear(out.Grad[r*b.c : (r+1)*b.c])
				}
				continue
			}
			xr := in.Logits[r*b.c : (r+1)*b.c]
			m, nan := k.MaxNaN(xr)
			if nan || math.IsInf(float64(m), 0) {
				return ctcFrameErr(xr, t, n)
			}
			st := stats(k, xr, m)
			w.rowM[r], w.rowS[r] = float64(m), st.s
			lp := w.tab[r*w.kmax : r*w.kmax+b.tlen[n]+1]
			lp[0] = (float64(xr[b.blank]) - float64(m)) - st.logS
			for j, y := range b.tg[b.off[n] : b.off[n]+b.tlen[n]] {
				lp[j+1] = (float64(xr[y]) - float64(m)) - st.logS
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// Pass 2, by sequence: the recursions, the loss, and the occupancies
	// (written over the log-probabilities).
	total, err := sumBlocks(b.n, 1, th, func(lo, hi int) (float64, error) {
		sc := ctcPool.Get().(*ctcScratch)
		defer ctcPool.Put(sc)
		var part float64
		for n := lo; n < hi; n++ {
			l, err := ctcRecursions(b, n, w, sc, out.Grad != nil)
			if err != nil {
				return 0, err
			}
			w.inf[n] = math.IsInf(l, 1)
			if w.inf[n] && c.zeroInf {
				l = 0
			}
			if out.Rows != nil {
				out.Rows[n] = E(l)
			}
			part += l * b.scale[n]
		}
		return part, nil
	})
	if err != nil || out.Grad == nil {
		return total, err
	}
	// Pass 3, over the frames in memory order: the gradient
	// scale·(softmax − γ), 0 for sequences without an alignment.
	err = forBlocks(frames, grain, th, func(lo, hi int) error {
		for r := lo; r < hi; r++ {
			t, n := r/b.n, r%b.n
			if t >= b.il[n] {
				continue
			}
			gr := out.Grad[r*b.c : (r+1)*b.c]
			if w.inf[n] {
				clear(gr)
				continue
			}
			gs := b.scale[n]
			k.ExpAffine(gr, in.Logits[r*b.c:(r+1)*b.c], E(w.rowM[r]), 1, E(gs/w.rowS[r]), 0)
			occ := w.tab[r*w.kmax : r*w.kmax+b.tlen[n]+1]
			gr[b.blank] = E(float64(gr[b.blank]) - gs*occ[0])
			for j, y := range b.tg[b.off[n] : b.off[n]+b.tlen[n]] {
				gr[y] = E(float64(gr[y]) - gs*occ[j+1])
			}
		}
		return nil
	})
	return total, err
}

// forBlocks runs f on the fixed blocks of [0, n) and returns the error of
// the first failing block in block order.
func forBlocks(n, grain, threads int, f func(lo, hi int) error) error {
	_, err := sumBlocks(n, grain, threads, func(lo, hi int) (float64, error) { return 0, f(lo, hi) })
	return err
}

// ctcWork holds one evaluation's tables: per frame (t, n), the
// log-probabilities of the blank and the target's labels (then their
// occupancies), the frame's max and Σ exp(x − max); per sequence,
// whether it has no alignment.
type ctcWork struct {
	kmax       int
	tab        []float64
	rowM, rowS []float64
	inf        []bool
}

var ctcWorkPool = sync.Pool{New: func() any { return new(ctcWork) }}

func (w *ctcWork) size(b *ctcBatch) {
	w.kmax = 1
	for _, s := range b.tlen {
		w.kmax = max(w.kmax, s+1)
	}
	w.tab = grow(w.tab, b.t*b.n*w.kmax)
	w.rowM, w.rowS = grow(w.rowM, b.t*b.n), grow(w.rowS, b.t*b.n)
	w.inf = grow(w.inf, b.n)
}

// The recursions hold each probability as m·2^e with m in [1, 2) and e
// an int64, so the mantissa never underflows and the arithmetic is that
// of log space without an exp or a log per state. Zero is any number
// whose exponent is below xfZeroBelow: exactly 0 (a masked class, an
// unreachable state) is written with e = xfZero, sums of such numbers
// stay below the bound (each frame moves an exponent up by at most 3),
// and every exponent is clamped at xfZero so that it cannot overflow.
// Nonzero numbers stay above −ctcMaxFrames·(−ctcMinLog/ln 2 + 3) ≈ −8e17,
// far from the bound, and every step is branch-free.
const (
	xfZero      int64 = -1 << 61
	xfZeroBelow int64 = -1 << 60
)

// The limits of that representation: a blank or target class used by
// the recursion must have log-probability ≥ ctcMinLog (or −Inf, a masked
// class) at every frame, and a sequence has at most ctcMaxFrames frames.
const (
	ctcMinLog    = -1e12
	ctcMaxFrames = 1 << 19
)

const (
	mantMask = 1<<52 - 1
	oneBits  = 1023 << 52
)

// pow2 returns 2^d for d ≤ 1023 (0 below −1022).
func pow2(d int64) float64 {
	return math.Float64frombits(uint64(max(d, -1023)+1023) << 52)
}

// xfNorm splits v ≥ 1 (finite) into its mantissa in [1, 2) and exponent.
func xfNorm(v float64) (m float64, e int64) {
	bits := math.Float64bits(v)
	return math.Float64frombits(bits&mantMask | oneBits), int64(bits>>52) - 1023
}

// Cody–Waite split of ln 2 for the reduction of very negative logs.
const (
	ln2Hi = 6.93147180369123816490e-01
	ln2Lo = 1.90821492927058770002e-10
)

// xfFromLog returns exp(lp) as mantissa and exponent, for −Inf or
// ctcMinLog ≤ lp ≤ 0; it needs e, the vector exponential of lp (used when
// lp ≥ −700).
func xfFromLog(lp, e float64) (m float64, x int64) {
	switch {
	case lp >= -700:
		bits := math.Float64bits(e)
		return math.Float64frombits(bits&mantMask | oneBits), int64(bits>>52) - 1023
	case math.IsInf(lp, -1):
		return 1, xfZero
	}
	k := math.Floor(lp * (1 / math.Ln2))
	r := (lp - k*ln2Hi) - k*ln2Lo // in about [0, ln 2)
	mm, ee := xfNorm(math.Exp(r))
	return mm, ee + int64(k)
}

type ctcScratch struct {
	skip []int64   // per state: 0 if it may be entered from s−2, else xfZero
	kidx []int32   // per state: its emission slot (0 blank, j+1 label j)
	ym   []float64 // emission of each state at each frame [T_n, L]
	ye   []int64
	km   []float64 // one frame's emissions of the blank, then each label
	ke   []int64
	am   []float64 // alpha [T_n, L+2], padded by two leading zeros
	ae   []int64
	wm   []float64 // two rows of β·y, [2, L+2], padded at the end
	we   []int64
	occ  []float64 // occupancy of each state at one frame
	exps []float64 // scratch for the vector exponential
}

var ctcPool = sync.Pool{New: func() any { return new(ctcScratch) }}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// ctcRecursions runs the forward recursion of sequence n on the
// log-probabilities in w.tab and returns its loss (+Inf without an
// alignment); with grad, it also runs the backward recursion and
// overwrites each frame's log-probabilities with the occupancies of the
// blank and of each target position.
func ctcRecursions(b *ctcBatch, n int, w *ctcWork, sc *ctcScratch, grad bool) (float64, error) {
	ti, s := b.il[n], b.tlen[n]
	lab := b.tg[b.off[n] : b.off[n]+s]
	L, K, W := 2*s+1, s+1, 2*s+3
	if ti == 0 {
		if s == 0 {
			return 0, nil
		}
		return math.Inf(1), nil
	}
	sc.skip, sc.kidx = grow(sc.skip, L+2), grow(sc.kidx, L)
	for st := 0; st < L+2; st++ {
		sc.skip[st] = xfZero
		if st < L && st&1 == 1 {
			j := st >> 1
			sc.kidx[st] = int32(j + 1)
			if j > 0 && lab[j] != lab[j-1] {
				sc.skip[st] = 0
			}
		} else if st < L {
			sc.kidx[st] = 0
		}
	}
	tabRow := func(t int) []float64 { r := t*b.n + n; return w.tab[r*w.kmax : r*w.kmax+K] }
	// The emissions as mantissa and exponent, per state.
	sc.ym, sc.ye = grow(sc.ym, ti*L), grow(sc.ye, ti*L)
	sc.km, sc.ke = grow(sc.km, K), grow(sc.ke, K)
	sc.exps = grow(sc.exps, K)
	for t := 0; t < ti; t++ {
		lp := tabRow(t)
		vek.Exp64(sc.exps, lp)
		for j, v := range lp {
			if v < ctcMinLog && !math.IsInf(v, -1) {
				y := b.blank
				if j > 0 {
					y = lab[j-1]
				}
				return 0, valueErr(nameCtc, "log-probability %g of class %d at frame %d, sequence %d is below %g (logit gaps beyond the range CTC handles)", v, y, t, n, ctcMinLog)
			}
			sc.km[j], sc.ke[j] = xfFromLog(v, sc.exps[j])
		}
		ym, ye := sc.ym[t*L:(t+1)*L], sc.ye[t*L:(t+1)*L]
		for st, k := range sc.kidx[:L] {
			ym[st], ye[st] = sc.km[k], sc.ke[k]
		}
	}
	emit := func(t int) ([]float64, []int64) { return sc.ym[t*L : (t+1)*L], sc.ye[t*L : (t+1)*L] }
	// Forward.
	sc.am, sc.ae = grow(sc.am, ti*W), grow(sc.ae, ti*W)
	am, ae := sc.am, sc.ae
	band := func(t int) (int, int) { return max(0, L-2*(ti-t)), min(L-1, 2*t+1) }
	for t := 0; t < ti; t++ {
		cm, ce := am[t*W:(t+1)*W], ae[t*W:(t+1)*W]
		lo, hi := band(t)
		cm[0], ce[0], cm[1], ce[1] = 1, xfZero, 1, xfZero
		// The next frame reads up to two states above this band.
		for p := hi + 3; p < min(W, hi+5); p++ {
			cm[p], ce[p] = 1, xfZero
		}
		if lo > hi {
			continue
		}
		sm, se := emit(t)
		if t == 0 {
			copy(cm[lo+2:hi+3], sm[lo:hi+1])
			copy(ce[lo+2:hi+3], se[lo:hi+1])
			continue
		}
		ctcForwardRow(cm[lo+2:hi+3], ce[lo+2:hi+3], am[(t-1)*W+lo:t*W], ae[(t-1)*W+lo:t*W],
			sm[lo:hi+1], se[lo:hi+1], sc.skip[lo:hi+1])
	}
	// P = α_{T−1}(L−2) + α_{T−1}(L−1), over the states in the last band.
	pm, pe := 1.0, xfZero
	if lo, hi := band(ti - 1); lo <= hi {
		last := (ti-1)*W + 2
		for st := max(lo, L-2); st <= hi; st++ {
			pm, pe = sumXF(pm, pe, am[last+st], ae[last+st])
		}
	}
	if pe < xfZeroBelow {
		return math.Inf(1), nil
	}
	nll := -(float64(pe)*math.Ln2 + math.Log(pm))
	if !grad {
		return nll, nil
	}
	// Backward, with the occupancies frame by frame.
	sc.wm, sc.we = grow(sc.wm, 2*W), grow(sc.we, 2*W)
	for i := range sc.wm {
		sc.wm[i], sc.we[i] = 1, xfZero
	}
	sc.occ = grow(sc.occ, L)
	invPm := 1 / pm
	for t := ti - 1; t >= 0; t-- {
		lo, hi := band(t)
		cur, old := (t&1)*W, (1-t&1)*W
		nm, ne := sc.wm[cur:cur+W], sc.we[cur:cur+W]
		cm, ce := am[t*W+2:(t+1)*W], ae[t*W+2:(t+1)*W]
		occ := sc.occ
		sm, se := emit(t)
		if t == ti-1 {
			for st := lo; st <= hi; st++ {
				// β_{T−1} is 1 on the last two states (the band holds no
				// others).
				occ[st] = cm[st] * invPm * pow2(ce[st]-pe)
				nm[st], ne[st] = sm[st], se[st]
			}
		} else if lo <= hi {
			ctcBackwardRow(occ[lo:hi+1], nm[lo:hi+1], ne[lo:hi+1], sc.wm[old+lo:old+W], sc.we[old+lo:old+W],
				cm[lo:hi+1], ce[lo:hi+1], sm[lo:hi+1], se[lo:hi+1], sc.skip[lo+2:hi+3], invPm, pe)
		}
		// The next row reads s, s+1, s+2 from this one: clear the two
		// entries below the band (the rest of the padding stays 0).
		for p := max(0, lo-2); p < lo; p++ {
			nm[p], ne[p] = 1, xfZero
		}
		out := tabRow(t)
		clear(out)
		var blank float64
		for st := lo + lo&1; st <= hi; st += 2 {
			blank += occ[st]
		}
		for st := lo | 1; st <= hi; st += 2 {
			out[(st+1)>>1] = occ[st]
		}
		out[0] = blank
	}
	return nll, nil
}

// ctcFrameErr names the first NaN or +Inf of a frame, or reports a frame
// whose logits are all −Inf.
func ctcFrameErr[E exact](xr []E, t, n int) error {
	for j, v := range xr {
		if v != v || math.IsInf(float64(v), 1) {
			return valueErr(nameCtc, "logit %v at frame %d, sequence %d, class %d", v, t, n, j)
		}
	}
	return valueErr(nameCtc, "every logit is −Inf at frame %d, sequence %d (no distribution)", t, n)
}

// sumXF adds two mantissa–exponent numbers.
func sumXF(m0 float64, e0 int64, m1 float64, e1 int64) (float64, int64) {
	em := max(e0, e1)
	m, e := xfNorm(m0*pow2(e0-em) + m1*pow2(e1-em))
	return m, max(e+em, xfZero)
}

// ctcForwardRow computes α_t(s) for the states of one band: cm, ce, sm,
// se and skip are indexed by s − lo; pm, pe hold α_{t−1} from state
// lo − 2 on (its padded row from index lo).
func ctcForwardRow(cm []float64, ce []int64, pm []float64, pe []int64, sm []float64, se []int64, skip []int64) {
	n := len(cm)
	ce, sm, se, skip = ce[:n], sm[:n], se[:n], skip[:n]
	p0m, p0e := pm[2:n+2], pe[2:n+2]
	p1m, p1e := pm[1:n+1], pe[1:n+1]
	p2m, p2e := pm[:n], pe[:n]
	for i := range cm {
		e0, e1, e2 := p0e[i], p1e[i], p2e[i]+skip[i]
		em := max(e0, e1, e2)
		v := (p0m[i]*pow2(e0-em) + p1m[i]*pow2(e1-em) + p2m[i]*pow2(e2-em)) * sm[i]
		bits := math.Float64bits(v)
		cm[i] = math.Float64frombits(bits&mantMask | oneBits)
		ce[i] = max(em+se[i]+int64(bits>>52)-1023, xfZero)
	}
}

// ctcBackwardRow computes β_t(s) for the states of one band from w_{t+1}
// = β_{t+1}·y_{t+1} (om, oe from state lo on), writes the occupancies
// α_t·β_t/P to occ, and stores w_t = β_t·y_t in (nm, ne). occ, nm, ne,
// cm, ce (α_t), sm, se (y_t) are indexed by s − lo; skip by s + 2 − lo.
func ctcBackwardRow(occ, nm []float64, ne []int64, om []float64, oe []int64, cm []float64, ce []int64,
	sm []float64, se []int64, skip []int64, invPm float64, pe int64) {
	n := len(occ)
	nm, ne, cm, ce, sm, se, skip = nm[:n], ne[:n], cm[:n], ce[:n], sm[:n], se[:n], skip[:n]
	o0m, o0e := om[:n], oe[:n]
	o1m, o1e := om[1:n+1], oe[1:n+1]
	o2m, o2e := om[2:n+2], oe[2:n+2]
	for i := range occ {
		e0, e1, e2 := o0e[i], o1e[i], o2e[i]+skip[i]
		em := max(e0, e1, e2)
		bm := o0m[i]*pow2(e0-em) + o1m[i]*pow2(e1-em) + o2m[i]*pow2(e2-em)
		// β_t(s) = bm·2^em; the occupancy α·β/P is 0 when either is.
		occ[i] = cm[i] * bm * invPm * pow2(ce[i]+em-pe)
		bits := math.Float64bits(bm * sm[i])
		nm[i] = math.Float64frombits(bits&mantMask | oneBits)
		ne[i] = max(em+se[i]+int64(bits>>52)-1023, xfZero)
	}
}

func init() {
	Register(Spec{
		Name:    nameCtc,
		Summary: "connectionist temporal classification on logits [T, N, C] (PyTorch's F.ctc_loss after log_softmax)",
		Needs:   NeedsSequences,
		Params: []Param{{"blank", 0, "index of the blank class"},
			{"zero_infinity", 0, "1: impossible alignments give loss 0 and gradient 0 instead of +Inf"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			b := p["blank"]
			if b != math.Trunc(b) || b < 0 || b > math.MaxInt32 {
				return nil, valueErr(nameCtc, "blank = %v, want an integer ≥ 0", b)
			}
			z := p["zero_infinity"]
			if z != 0 && z != 1 {
				return nil, valueErr(nameCtc, "zero_infinity = %v, want 0 or 1", z)
			}
			return NewCTC(int(b), z == 1, opts...)
		},
	})
}
