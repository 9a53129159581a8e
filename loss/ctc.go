package loss

import (
	"math"
	"sync"
	"unsafe"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/vek"
)

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
// with a separate binary exponent (log α = e·ln 2 + log m), so no
// probability underflows whatever the logits (logits of ±1e4 and
// sequences of thousands of frames are exact) and no exp or log is
// evaluated per state. States that cannot be reached from the start or
// cannot reach the end in time are skipped.
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
	const name = "ctc"
	if blank < 0 {
		return nil, valueErr(name, "blank = %d, want ≥ 0", blank)
	}
	o, err := build(name, opts)
	if err != nil {
		return nil, err
	}
	switch {
	case o.LabelSmoothing != 0 || o.ZLoss != 0 || o.SoftCap != 0:
		return nil, valueErr(name, "label smoothing, z-loss and soft-capping do not apply")
	case o.ClassWeights != nil || o.PosWeight != nil:
		return nil, valueErr(name, "class weights and pos_weight do not apply")
	case o.IgnoreIndex != -100:
		return nil, valueErr(name, "the ignore index does not apply (use the target lengths)")
	}
	return &CTC{o: o, blank: blank, zeroInf: zeroInfinity}, nil
}

// Name returns "ctc".
func (*CTC) Name() string { return "ctc" }

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
		in32 := CTCInput[float32]{Logits: asExact[T, float32](in.Logits), Batch: in.Batch, Classes: in.Classes,
			Targets: in.Targets, Targets64: in.Targets64, TargetCols: in.TargetCols,
			InputLengths: in.InputLengths, TargetLengths: in.TargetLengths}
		return c.EvalBatch32(in32, CTCOutput[float32]{Grad: asExact[T, float32](out.Grad), Rows: asExact[T, float32](out.Rows)})
	}
	in64 := CTCInput[float64]{Logits: asExact[T, float64](in.Logits), Batch: in.Batch, Classes: in.Classes,
		Targets: in.Targets, Targets64: in.Targets64, TargetCols: in.TargetCols,
		InputLengths: in.InputLengths, TargetLengths: in.TargetLengths}
	return c.EvalBatch64(in64, CTCOutput[float64]{Grad: asExact[T, float64](out.Grad), Rows: asExact[T, float64](out.Rows)})
}

func evalCTCOne[E exact](k *kernels[E], c *CTC, in Input[E], out Output[E]) (float64, error) {
	const name = "ctc"
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
// length, target offset and length, and its gradient scale.
type ctcBatch struct {
	t, n, c       int
	blank         int
	il, off, tlen []int
	scale         []float64 // reduction's factor per sequence
	target        func(i int) int
}

func (c *CTC) check(logits, grad, rows int, in ctcShape) (*ctcBatch, error) {
	const name = "ctc"
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
	b := &ctcBatch{t: logits / (n * cls), n: n, c: cls, blank: c.blank, target: in.target,
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
	for i := 0; i < n; i++ {
		for j := 0; j < b.tlen[i]; j++ {
			y := in.target(b.off[i] + j)
			switch {
			case y < 0 || y >= cls:
				return nil, valueErr(name, "target %d at sequence %d, position %d outside [0, %d)", y, i, j, cls)
			case y == c.blank:
				return nil, valueErr(name, "target at sequence %d, position %d is the blank (%d)", i, j, y)
			}
		}
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
		if overlapPartially(out.Grad, in.Logits) {
			return 0, shapeErr("ctc", "Grad overlaps Logits without being Logits")
		}
	}
	if out.Rows != nil {
		rows = len(out.Rows)
	}
	b, err := c.check(len(in.Logits), grad, rows, shapeOf(in))
	if err != nil {
		return 0, err
	}
	return sumBlocks(b.n, 1, par.Threads(c.o.Threads), func(lo, hi int) (float64, error) {
		sc := ctcPool.Get().(*ctcScratch)
		defer ctcPool.Put(sc)
		var part float64
		for n := lo; n < hi; n++ {
			l, err := ctcSequence(k, b, c.zeroInf, in.Logits, out.Grad, n, sc)
			if err != nil {
				return 0, err
			}
			if out.Rows != nil {
				out.Rows[n] = E(l)
			}
			part += l * b.scale[n]
		}
		return part, nil
	})
}

// The recursions hold each probability as m·2^e with m in [1, 2) (or 0)
// and e an integer-valued float64: the exponent never overflows and the
// mantissa never underflows, so the arithmetic is that of log space
// without an exp or a log per state. A zero has m = 0 and e = xfZero.
const xfZero = -1e300

const (
	mantMask = 1<<52 - 1
	oneBits  = 1023 << 52
)

// pow2 returns 2^d for an integer-valued d ≤ 1023 (0 below −1022).
func pow2(d float64) float64 {
	if d < -1023 {
		return 0
	}
	return math.Float64frombits(uint64(int64(d)+1023) << 52)
}

// xfNorm splits v ≥ 0 (a normal number or 0) into mantissa and exponent.
func xfNorm(v float64) (m, e float64) {
	if v == 0 {
		return 0, xfZero
	}
	bits := math.Float64bits(v)
	return math.Float64frombits(bits&mantMask | oneBits), float64(int64(bits>>52) - 1023)
}

// Cody–Waite split of ln 2 for the reduction of very negative logs.
const (
	ln2Hi = 6.93147180369123816490e-01
	ln2Lo = 1.90821492927058770002e-10
)

// xfFromLog returns exp(lp) as mantissa and exponent, for lp ≤ 0 or so;
// it needs e (the vector exponential of lp, when lp ≥ −700).
func xfFromLog(lp, e float64) (m, x float64) {
	switch {
	case lp >= -700:
		return xfNorm(e)
	case math.IsInf(lp, -1):
		return 0, xfZero
	}
	k := math.Floor(lp * (1 / math.Ln2))
	r := (lp - k*ln2Hi) - k*ln2Lo // in about [0, ln 2)
	mm, ee := xfNorm(math.Exp(r))
	return mm, ee + k
}

type ctcScratch struct {
	lab        []int     // the target's labels
	cls        []int     // class of each state of l'
	skip       []bool    // the state may be entered from s−2
	ym, ye     []float64 // emissions [T_n, S+1]: blank, then each label
	lp         []float64 // scratch of S+1 log-probabilities
	rowM, rowS []float64 // each frame's max and Σ exp(x − max)
	am, ae     []float64 // alpha [T_n, L+2], padded by two leading zeros
	wm, we     []float64 // two rows of β·y, [2, L+2], padded at the end
	acc        []float64 // occupancy per class [C]
}

var ctcPool = sync.Pool{New: func() any { return new(ctcScratch) }}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// ctcSequence evaluates sequence n: its loss (after zero_infinity) and,
// when g is not nil, its gradient scaled by b.scale[n].
func ctcSequence[E exact](k *kernels[E], b *ctcBatch, zeroInf bool, x, g []E, n int, sc *ctcScratch) (float64, error) {
	ti, s := b.il[n], b.tlen[n]
	cls, nn, blank := b.c, b.n, b.blank
	row := func(buf []E, t int) []E { return buf[(t*nn+n)*cls : (t*nn+n+1)*cls] }
	L := 2*s + 1
	K := s + 1
	if g != nil {
		for t := ti; t < b.t; t++ {
			clear(row(g, t))
		}
	}
	// The target, the classes of the states and the allowed skips.
	sc.lab = grow(sc.lab, s)
	for j := range sc.lab {
		sc.lab[j] = b.target(b.off[n] + j)
	}
	sc.cls = grow(sc.cls, L)
	sc.skip = grow(sc.skip, L)
	for st := 0; st < L; st++ {
		sc.cls[st], sc.skip[st] = blank, false
		if st&1 == 1 {
			j := st >> 1
			sc.cls[st] = sc.lab[j]
			sc.skip[st] = j > 0 && sc.lab[j] != sc.lab[j-1]
		}
	}
	if ti == 0 {
		if s == 0 {
			return 0, nil
		}
		return infLoss(zeroInf), nil
	}
	// Pass over the frames: validate, reduce, and gather the emissions
	// of the blank and the target's labels.
	sc.ym, sc.ye = grow(sc.ym, ti*K), grow(sc.ye, ti*K)
	sc.lp = grow(sc.lp, K)
	sc.rowM, sc.rowS = grow(sc.rowM, ti), grow(sc.rowS, ti)
	for t := 0; t < ti; t++ {
		xr := row(x, t)
		m, nan := k.maxNaN(xr)
		if nan || math.IsInf(float64(m), 0) {
			return 0, ctcFrameErr(xr, t, n)
		}
		st := k.stats(xr, m)
		sc.rowM[t], sc.rowS[t] = float64(m), st.s
		lp := sc.lp
		lp[0] = (float64(xr[blank]) - float64(m)) - st.logS
		for j, y := range sc.lab {
			lp[j+1] = (float64(xr[y]) - float64(m)) - st.logS
		}
		ym, ye := sc.ym[t*K:(t+1)*K], sc.ye[t*K:(t+1)*K]
		vek.Exp64(ym, lp)
		for j, v := range lp {
			ym[j], ye[j] = xfFromLog(v, ym[j])
		}
	}
	// Forward.
	W := L + 2
	sc.am, sc.ae = grow(sc.am, ti*W), grow(sc.ae, ti*W)
	am, ae := sc.am, sc.ae
	band := func(t int) (int, int) { return max(0, L-2*(ti-t)), min(L-1, 2*t+1) }
	for t := 0; t < ti; t++ {
		cm, ce := am[t*W:(t+1)*W], ae[t*W:(t+1)*W]
		lo, hi := band(t)
		cm[0], ce[0], cm[1], ce[1] = 0, xfZero, 0, xfZero
		for p := hi + 3; p < min(W, hi+5); p++ {
			cm[p], ce[p] = 0, xfZero
		}
		ym, ye := sc.ym[t*K:(t+1)*K], sc.ye[t*K:(t+1)*K]
		if t == 0 {
			for st := lo; st <= hi; st++ {
				kk := (st & 1) * ((st + 1) >> 1)
				cm[st+2], ce[st+2] = ym[kk], ye[kk]
			}
			continue
		}
		pm, pe := am[(t-1)*W:t*W], ae[(t-1)*W:t*W]
		ctcForwardRow(cm, ce, pm, pe, ym, ye, sc.skip, lo, hi)
	}
	// P = α_{T−1}(L−2) + α_{T−1}(L−1), over the states in the last band.
	pm, pe := 0.0, xfZero
	if lo, hi := band(ti - 1); lo <= hi {
		last := (ti-1)*W + 2
		for st := max(lo, L-2); st <= hi; st++ {
			pm, pe = sumXF(pm, pe, am[last+st], ae[last+st])
		}
	}
	if pm == 0 {
		// No alignment: the loss is infinite and its gradient is 0.
		if g != nil {
			for t := 0; t < ti; t++ {
				clear(row(g, t))
			}
		}
		return infLoss(zeroInf), nil
	}
	nll := -(pe*math.Ln2 + math.Log(pm))
	if g == nil {
		return nll, nil
	}
	// Backward, with the occupancies and the gradient frame by frame.
	sc.wm, sc.we = grow(sc.wm, 2*W), grow(sc.we, 2*W)
	for i := range sc.wm {
		sc.wm[i], sc.we[i] = 0, xfZero
	}
	sc.acc = grow(sc.acc, cls)
	acc := sc.acc
	clear(acc)
	scale := b.scale[n]
	invPm := 1 / pm
	for t := ti - 1; t >= 0; t-- {
		lo, hi := band(t)
		nm, ne := sc.wm[(t&1)*W:(t&1+1)*W], sc.we[(t&1)*W:(t&1+1)*W]
		om, oe := sc.wm[(1-t&1)*W:(2-t&1)*W], sc.we[(1-t&1)*W:(2-t&1)*W]
		ym, ye := sc.ym[t*K:(t+1)*K], sc.ye[t*K:(t+1)*K]
		cm, ce := am[t*W+2:(t+1)*W], ae[t*W+2:(t+1)*W]
		if t == ti-1 {
			for st := max(lo, L-2); st <= hi; st++ {
				ctcOccupancy(acc, sc.cls[st], cm[st], ce[st], 1, 0, invPm, pe)
				kk := (st & 1) * ((st + 1) >> 1)
				nm[st], ne[st] = ym[kk], ye[kk]
			}
		} else {
			ctcBackwardRow(acc, nm, ne, om, oe, cm, ce, ym, ye, sc.skip, sc.cls, lo, hi, L, invPm, pe)
		}
		// The next row reads s, s+1, s+2 from this one: clear the two
		// entries below the band (the rest of the padding stays 0).
		for p := max(0, lo-2); p < lo; p++ {
			nm[p], ne[p] = 0, xfZero
		}
		gr, xr := row(g, t), row(x, t)
		k.expAffine(gr, xr, E(sc.rowM[t]), 1, E(scale/sc.rowS[t]), 0)
		if a := acc[blank]; a != 0 {
			gr[blank] = E(float64(gr[blank]) - scale*a)
			acc[blank] = 0
		}
		for _, y := range sc.lab {
			if a := acc[y]; a != 0 {
				gr[y] = E(float64(gr[y]) - scale*a)
				acc[y] = 0
			}
		}
	}
	return nll, nil
}

func infLoss(zeroInf bool) float64 {
	if zeroInf {
		return 0
	}
	return math.Inf(1)
}

// ctcFrameErr names the first NaN or +Inf of a frame, or reports a frame
// whose logits are all −Inf.
func ctcFrameErr[E exact](xr []E, t, n int) error {
	for j, v := range xr {
		if v != v || math.IsInf(float64(v), 1) {
			return valueErr("ctc", "logit %v at frame %d, sequence %d, class %d", v, t, n, j)
		}
	}
	return valueErr("ctc", "every logit is −Inf at frame %d, sequence %d (no distribution)", t, n)
}

// sumXF adds two mantissa–exponent numbers.
func sumXF(m0, e0, m1, e1 float64) (float64, float64) {
	em := max(e0, e1)
	m, e := xfNorm(m0*pow2(e0-em) + m1*pow2(e1-em))
	if m == 0 {
		return 0, xfZero
	}
	return m, e + em
}

// ctcForwardRow computes α_t on states [lo, hi] from α_{t−1} (padded
// rows: state s at index s+2).
func ctcForwardRow(cm, ce, pm, pe, ym, ye []float64, skip []bool, lo, hi int) {
	for st := lo; st <= hi; st++ {
		p := st + 2
		e0, e1 := pe[p], pe[p-1]
		m0, m1 := pm[p], pm[p-1]
		e2, m2 := xfZero, 0.0
		if skip[st] {
			e2, m2 = pe[p-2], pm[p-2]
		}
		em := e0
		if e1 > em {
			em = e1
		}
		if e2 > em {
			em = e2
		}
		sum := m0*pow2(e0-em) + m1*pow2(e1-em) + m2*pow2(e2-em)
		kk := (st & 1) * ((st + 1) >> 1)
		v := sum * ym[kk]
		if v == 0 {
			cm[p], ce[p] = 0, xfZero
			continue
		}
		bits := math.Float64bits(v)
		cm[p] = math.Float64frombits(bits&mantMask | oneBits)
		ce[p] = em + ye[kk] + float64(int64(bits>>52)-1023)
	}
}

// ctcBackwardRow computes β_t on states [lo, hi] from w_{t+1} = β_{t+1}·y_{t+1}
// (om, oe), adds the occupancies α_t·β_t/P to acc, and stores
// w_t = β_t·y_t in (nm, ne). cm, ce hold α_t (unpadded).
func ctcBackwardRow(acc, nm, ne, om, oe, cm, ce, ym, ye []float64, skip []bool, cls []int, lo, hi, L int, invPm, pe float64) {
	for st := lo; st <= hi; st++ {
		e0, e1 := oe[st], oe[st+1]
		m0, m1 := om[st], om[st+1]
		e2, m2 := xfZero, 0.0
		if st+2 < L && skip[st+2] {
			e2, m2 = oe[st+2], om[st+2]
		}
		em := e0
		if e1 > em {
			em = e1
		}
		if e2 > em {
			em = e2
		}
		bm := m0*pow2(e0-em) + m1*pow2(e1-em) + m2*pow2(e2-em)
		if bm == 0 {
			nm[st], ne[st] = 0, xfZero
			continue
		}
		// β_t(s) = bm·2^em; occupancy α·β/P.
		if am := cm[st]; am != 0 {
			acc[cls[st]] += am * bm * invPm * pow2(ce[st]+em-pe)
		}
		kk := (st & 1) * ((st + 1) >> 1)
		v := bm * ym[kk]
		if v == 0 {
			nm[st], ne[st] = 0, xfZero
			continue
		}
		bits := math.Float64bits(v)
		nm[st] = math.Float64frombits(bits&mantMask | oneBits)
		ne[st] = em + ye[kk] + float64(int64(bits>>52)-1023)
	}
}

// ctcOccupancy adds α·β/P to acc[c] (β = bm·2^be).
func ctcOccupancy(acc []float64, c int, am, ae, bm, be, invPm, pe float64) {
	if am != 0 {
		acc[c] += am * bm * invPm * pow2(ae+be-pe)
	}
}

func init() {
	Register(Spec{
		Name:    "ctc",
		Summary: "connectionist temporal classification on logits [T, N, C] (PyTorch's F.ctc_loss after log_softmax)",
		Needs:   NeedsSequences,
		Params: []Param{{"blank", 0, "index of the blank class"},
			{"zero_infinity", 0, "1: impossible alignments give loss 0 and gradient 0 instead of +Inf"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			b := p["blank"]
			if b != math.Trunc(b) || b < 0 || b > math.MaxInt32 {
				return nil, valueErr("ctc", "blank = %v, want an integer ≥ 0", b)
			}
			z := p["zero_infinity"]
			if z != 0 && z != 1 {
				return nil, valueErr("ctc", "zero_infinity = %v, want 0 or 1", z)
			}
			return NewCTC(int(b), z == 1, opts...)
		},
	})
}
