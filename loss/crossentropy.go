package loss

import (
	"math"

	"github.com/xentlab/xent/internal/par"
	"github.com/xentlab/xent/internal/rowpipe"
	"github.com/xentlab/xent/internal/rowstat"
)

// nameCrossEntropy is the registry name of this file's loss.
const nameCrossEntropy = "cross-entropy"

// CrossEntropy is the softmax cross-entropy of logits against hard labels
// or soft targets, with PyTorch's semantics for reduction, ignore index,
// class weights and label smoothing, plus per-row weights, the z-loss
// regulariser and logit soft-capping.
//
// For a row with logits x, soft-capped to z = c·tanh(x/c) when SoftCap c
// is set, lse = log Σ_j exp(z_j), class weights w (default 1), C classes,
// smoothing ε and row weight r:
//
//	hard label y:  ℓ = r·[(1−ε)·w_y·(lse − z_y) + (ε/C)·Σ_c w_c·(lse − z_c) + Z·lse²]
//	soft target q: ℓ = r·[Σ_c w_c·q'_c·(lse − z_c) + Z·lse²],  q' = (1−ε)·q + ε/C
//
// Mean divides Σℓ by Σ_i r_i·w_{y_i} over the rows that are not ignored
// (PyTorch's weighted mean; the row count without weights); with soft
// targets by Σ_i r_i (PyTorch divides by the number of rows). A batch
// whose rows are all ignored has loss 0 and gradient 0. The z-loss term is
// scaled by the row weight but not by the class weight.
//
// The gradient is ∂ℓ/∂z_j = r·[(A + 2Z·lse)·p_j − a_j] with a the weighted
// (smoothed) target, A = Σ_c a_c and p = softmax(z), times 1 − (z_j/c)²
// under soft-capping; it is written in the same pass that reads the
// logits a second time, and may overwrite them.
//
// No Softmax Collapse (catalog B16): lse − z_y is computed as
// (max − z_y) + log1p(Σ_{j≠argmax} exp(z_j − max)), the tail sum kept to
// full precision, and the target's gradient as minus the other classes'
// probability mass, so a confidently right row keeps its tiny but nonzero
// loss and gradient (PyTorch's float32 path returns exactly 0 once the
// logit gap passes about 16.6).
//
// Accuracy (float32 logits): every row's loss has relative error ≤ 1e-5
// down to losses of 1e-30; gradients have absolute error ≤ 1e-6 + 1e-5·|g|
// (about 2e-7 relative to the largest term, typically). Sums are in
// float64.
//
// Soft-capping maps −Inf to −c, so masks do not survive it (as in Gemma 2).
//
// Errors: labels out of range (other than the ignore index), NaN or +Inf
// logits in a counted row, a −Inf logit on a row's target (its loss would
// be +Inf), −Inf logits with label smoothing, and soft targets that are
// negative, NaN or +Inf are errors naming the row and column. A −Inf logit elsewhere is a mask:
// probability 0. Ignored rows are not inspected.
type CrossEntropy struct{ o CrossEntropyOptions }

// CrossEntropyOptions holds cross-entropy's settings: the shared Options
// and its own.
type CrossEntropyOptions struct {
	Options
	LabelSmoothing float64 // ε in [0, 1]
	ZLoss          float64 // coefficient of lse² per counted row (≥ 0)
	SoftCap        float64 // c > 0 applies c·tanh(z/c) to the logits first; 0 disables
}

// A CrossEntropyOption sets one of cross-entropy's settings: any Option,
// or WithLabelSmoothing, WithZLoss and WithSoftCap, which apply to
// cross-entropy only.
type CrossEntropyOption interface{ applyCE(*CrossEntropyOptions) }

func (f Option) applyCE(o *CrossEntropyOptions) { f(&o.Options) }

type ceOnly func(*CrossEntropyOptions)

func (f ceOnly) applyCE(o *CrossEntropyOptions) { f(o) }

// WithLabelSmoothing sets ε: the target becomes (1−ε)·target + ε/C.
func WithLabelSmoothing(eps float64) CrossEntropyOption {
	return ceOnly(func(o *CrossEntropyOptions) { o.LabelSmoothing = eps })
}

// WithZLoss adds s·lse² per counted row (PaLM's z-loss regulariser).
func WithZLoss(s float64) CrossEntropyOption {
	return ceOnly(func(o *CrossEntropyOptions) { o.ZLoss = s })
}

// WithSoftCap applies c·tanh(z/c) to the logits before the loss (c > 0).
func WithSoftCap(c float64) CrossEntropyOption {
	return ceOnly(func(o *CrossEntropyOptions) { o.SoftCap = c })
}

// CrossEntropySettings returns WithLabelSmoothing, WithZLoss and
// WithSoftCap for those of the three settings that are not zero (zero is
// each one's default), in that order: cross-entropy's own options from
// plain values, as flags or a configuration hold them.
func CrossEntropySettings(labelSmoothing, zLoss, softCap float64) []CrossEntropyOption {
	var ce []CrossEntropyOption
	if labelSmoothing != 0 {
		ce = append(ce, WithLabelSmoothing(labelSmoothing))
	}
	if zLoss != 0 {
		ce = append(ce, WithZLoss(zLoss))
	}
	if softCap != 0 {
		ce = append(ce, WithSoftCap(softCap))
	}
	return ce
}

// ForCrossEntropy widens shared Options to cross-entropy options, for a
// caller that holds them in a []Option.
func ForCrossEntropy(opts ...Option) []CrossEntropyOption {
	out := make([]CrossEntropyOption, len(opts))
	for i, o := range opts {
		out[i] = o
	}
	return out
}

// NewCrossEntropy returns the cross-entropy loss with the given options
// (defaults: mean, ignore index −100, no smoothing, no z-loss, no
// soft-capping).
func NewCrossEntropy(opts ...CrossEntropyOption) (*CrossEntropy, error) {
	o := CrossEntropyOptions{Options: Defaults()}
	for _, f := range opts {
		f.applyCE(&o)
	}
	if err := o.check(nameCrossEntropy); err != nil {
		return nil, err
	}
	switch {
	case !(o.LabelSmoothing >= 0 && o.LabelSmoothing <= 1):
		return nil, valueErr(nameCrossEntropy, "label smoothing %v outside [0, 1]", o.LabelSmoothing)
	case !(o.ZLoss >= 0) || math.IsInf(o.ZLoss, 0):
		return nil, valueErr(nameCrossEntropy, "z-loss coefficient %v, want a finite number ≥ 0", o.ZLoss)
	case !(o.SoftCap >= 0) || math.IsInf(o.SoftCap, 0):
		return nil, valueErr(nameCrossEntropy, "soft cap %v, want a finite number > 0 (or 0 to disable)", o.SoftCap)
	}
	return &CrossEntropy{o}, nil
}

// Name returns "cross-entropy".
func (*CrossEntropy) Name() string { return nameCrossEntropy }

// Options returns the loss's settings.
func (c *CrossEntropy) Options() CrossEntropyOptions { return c.o }

// Eval32 evaluates the loss on float32 logits (Labels, Labels64 or
// Targets; optional RowWeights).
func (c *CrossEntropy) Eval32(in Input[float32], out Output[float32]) (float64, error) {
	return evalCE(k32, c.o, in, out)
}

// Eval64 evaluates the loss on float64 logits.
func (c *CrossEntropy) Eval64(in Input[float64], out Output[float64]) (float64, error) {
	return evalCE(k64, c.o, in, out)
}

func evalCE[E exact](k *kernels[E], o CrossEntropyOptions, in Input[E], out Output[E]) (float64, error) {
	rows, err := checkMatrix(nameCrossEntropy, in, out, o.Reduction)
	if err != nil {
		return 0, err
	}
	cols := in.Cols
	if in.Teacher != nil {
		return 0, shapeErr(nameCrossEntropy, "Teacher is not used by this loss")
	}
	if o.ClassWeights != nil && len(o.ClassWeights) != cols {
		return 0, shapeErr(nameCrossEntropy, "%d class weights for %d classes", len(o.ClassWeights), cols)
	}
	soft := in.Targets != nil
	if soft {
		if in.Labels != nil || in.Labels64 != nil {
			return 0, shapeErr(nameCrossEntropy, "both labels and soft Targets are set")
		}
		if len(in.Targets) != len(in.Logits) {
			return 0, shapeErr(nameCrossEntropy, "len(Targets) = %d, want %d (the shape of Logits)", len(in.Targets), len(in.Logits))
		}
	} else if err := checkLabels(nameCrossEntropy, in, rows); err != nil {
		return 0, err
	}

	// Validate the labels and find the mean's denominator before any work.
	var den float64
	for i := 0; i < rows; i++ {
		r := rowWeight(in, i)
		if soft {
			den += r
			continue
		}
		y := labelAt(in, i)
		if y == o.IgnoreIndex {
			continue
		}
		if y < 0 || y >= int64(cols) {
			return 0, valueErr(nameCrossEntropy, "label %d at row %d outside [0, %d)", y, i, cols)
		}
		den += r * classWeight(o.Options, int(y))
	}
	sc := 1.0
	if o.Reduction == Mean {
		if den == 0 {
			sc = 0
		} else {
			sc = 1 / den
		}
	}

	c := ceCall[E]{k: k, o: o, in: in, out: out, sc: sc, cols: cols}
	c.prepare()
	if ceFast(o, in) {
		// The row pipeline: blocks of at least 1/64 of the rows keep it
		// full; they depend on the shape only.
		c32 := any(&c).(*ceCall[float32])
		grain := max(1, blockElems/cols, (rows+63)/64)
		g, x := c32.out.Grad, c32.in.Logits
		nt := g != nil && !sameStart(g, x) && rowpipe.UseNT(4*len(x), par.Threads(o.Threads))
		total, err := sumBlocks(rows, grain, par.Threads(o.Threads), func(lo, hi int) (float64, error) {
			h := &cePipe{c: c32, eInGrad: g != nil && !sameStart(g, x) && !nt}
			rowpipe.Run(x, cols, lo, hi, h, nt)
			return h.total, h.err
		})
		return finiteTotal(nameCrossEntropy, total, sc, err)
	}
	total, err := sumBlocks(rows, max(1, blockElems/cols), par.Threads(o.Threads), c.block)
	return finiteTotal(nameCrossEntropy, total, sc, err)
}

// sameStart reports whether two non-empty slices start at the same element.
func sameStart(a, b []float32) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

// blockElems is about how many logits one parallel block of rows holds.
const blockElems = rowstat.BlockElems

func classWeight(o Options, c int) float64 {
	if o.ClassWeights == nil {
		return 1
	}
	return o.ClassWeights[c]
}

// ceCall is one evaluation: the settings and buffers shared by its rows.
type ceCall[E exact] struct {
	k    *kernels[E]
	o    CrossEntropyOptions
	in   Input[E]
	out  Output[E]
	sc   float64 // the reduction's scale (1/den for Mean)
	cols int

	wsum float64 // Σ_c w_c
	wE   []E     // class weights in E, for the gradient's axpy
}

func (c *ceCall[E]) prepare() {
	c.wsum = float64(c.cols)
	if c.o.ClassWeights != nil {
		c.wsum = 0
		c.wE = make([]E, c.cols)
		for j, w := range c.o.ClassWeights {
			c.wsum += w
			c.wE[j] = E(w)
		}
	}
}

// block evaluates rows [lo, hi) and returns their summed loss.
func (c *ceCall[E]) block(lo, hi int) (float64, error) {
	cols := c.cols
	var scratch, deriv []E
	if c.o.SoftCap > 0 {
		scratch, deriv = make([]E, cols), make([]E, cols)
	}
	var total float64
	for i := lo; i < hi; i++ {
		x := c.in.Logits[i*cols : (i+1)*cols]
		var g []E
		if c.out.Grad != nil {
			g = c.out.Grad[i*cols : (i+1)*cols]
		}
		if c.in.Targets == nil && labelAt(c.in, i) == c.o.IgnoreIndex {
			// The log-sum-exp first: g may be x itself.
			if c.out.LSE != nil {
				c.out.LSE[i] = E(c.plainLSE(x, scratch, deriv))
			}
			if g != nil {
				clear(g)
			}
			if c.out.Rows != nil {
				c.out.Rows[i] = 0
			}
			continue
		}
		z := x
		if scratch != nil {
			softCap(scratch, deriv, x, c.o.SoftCap)
			z = scratch
		}
		l, lse, err := c.row(i, x, z, g, deriv)
		if err != nil {
			return 0, err
		}
		if c.out.Rows != nil {
			c.out.Rows[i] = E(l)
		}
		if c.out.LSE != nil {
			c.out.LSE[i] = E(lse)
		}
		total += l
	}
	return total, nil
}

// plainLSE is the log-sum-exp of an ignored row, with the special values
// of package softmax (masked −Inf, NaN, +Inf) instead of errors.
func (c *ceCall[E]) plainLSE(x, scratch, deriv []E) float64 {
	z := x
	if scratch != nil {
		softCap(scratch, deriv, x, c.o.SoftCap)
		z = scratch
	}
	m, nan := c.k.MaxNaN(z)
	switch {
	case nan:
		return math.NaN()
	case math.IsInf(float64(m), 0):
		return float64(m)
	}
	return float64(m) + math.Log(c.k.ExpSum(z, m, 1))
}

// row evaluates one counted row: x the raw logits (for error positions),
// z the (soft-capped) logits, g the gradient row or nil, deriv the
// soft-cap derivative dz/dx (nil without soft-capping). It returns the
// row's loss r·(CE + Z·lse²) and its lse.
func (c *ceCall[E]) row(i int, x, z, g, deriv []E) (float64, float64, error) {
	o := c.o
	m, nan := c.k.MaxNaN(z)
	if nan || math.IsInf(float64(m), 1) {
		j := firstNonFinite(x)
		return 0, 0, valueErr(nameCrossEntropy, "logit %v at row %d, column %d", x[j], i, j)
	}
	r := rowWeight(c.in, i)
	eps := o.LabelSmoothing
	C := float64(c.cols)
	var sumWZ float64 // Σ_c w_c·z_c, for label smoothing
	if eps > 0 && c.in.Targets == nil {
		if c.wE == nil {
			sumWZ = c.k.Sum(z)
		} else {
			for j, v := range z {
				sumWZ += c.o.ClassWeights[j] * float64(v)
			}
		}
		if math.IsInf(sumWZ, -1) || math.IsInf(float64(m), -1) {
			return 0, 0, valueErr(nameCrossEntropy, "a −Inf logit at row %d, column %d with label smoothing (every class gets target mass)", i, firstNegInf(x))
		}
	}
	if c.in.Targets != nil {
		return c.softRow(i, z, g, deriv, m, r)
	}
	y := int(labelAt(c.in, i))
	zy := float64(z[y])
	if math.IsInf(zy, -1) {
		return 0, 0, valueErr(nameCrossEntropy, "the target logit is −Inf at row %d, column %d (a masked target has infinite loss)", i, y)
	}
	var st rowStats[E]
	if g != nil {
		st = statsStore(c.k, g, z, m) // g holds exp(z − m) from here on
	} else {
		st = stats(c.k, z, m)
	}
	lse := st.lse()
	wy := classWeight(o.Options, y)
	ce := (1 - eps) * wy * ((float64(m) - zy) + st.logS)
	if eps > 0 {
		ce += eps / C * (c.wsum*(float64(m)+st.logS) - sumWZ)
	}
	loss := r * (ce + o.ZLoss*lse*lse)
	A := (1-eps)*wy + eps/C*c.wsum
	coefA := c.sc * r * (A + 2*o.ZLoss*lse)
	if err := overflow[E](i, loss, coefA, lse); err != nil {
		return 0, 0, err
	}
	if g == nil {
		return loss, lse, nil
	}
	kk := coefA / st.s
	bb := c.sc * r * eps / C
	// g = kk·exp(z − m) − bb (− bb·w_j with class weights), from the
	// exponentials statsStore left in g.
	if c.wE != nil {
		c.k.ShiftScale(g, g, 0, E(kk), 0)
		if bb != 0 {
			c.k.Axpy(g, c.wE, E(-bb))
		}
	} else {
		c.k.ShiftScale(g, g, 0, E(kk), E(bb))
	}
	ay := c.sc * r * ((1-eps)*wy + eps/C*wy)
	if zy == float64(m) {
		// The target holds the maximum: its gradient is minus the other
		// classes' share, computed without cancellation.
		g[y] = E(-coefA*st.t/st.s + (coefA - ay))
	} else {
		g[y] = E(kk*math.Exp(zy-float64(m)) - ay)
	}
	if deriv != nil {
		mulInto(g, deriv)
	}
	return loss, lse, nil
}

// softRow evaluates a row against soft targets q.
func (c *ceCall[E]) softRow(i int, z, g, deriv []E, m E, r float64) (float64, float64, error) {
	o := c.o
	eps := o.LabelSmoothing
	C := float64(c.cols)
	q := c.in.Targets[i*c.cols : (i+1)*c.cols]
	st := stats(c.k, z, m)
	lse := st.lse()
	var ce, A float64
	for j, v := range q {
		qv := float64(v)
		if !(qv >= 0) || math.IsInf(qv, 1) {
			return 0, 0, valueErr(nameCrossEntropy, "soft target %v at row %d, column %d (want a finite number ≥ 0)", v, i, j)
		}
		a := classWeight(o.Options, j) * ((1-eps)*qv + eps/C)
		if a == 0 {
			continue
		}
		if math.IsInf(float64(z[j]), -1) {
			return 0, 0, valueErr(nameCrossEntropy, "target mass on a −Inf logit at row %d, column %d", i, j)
		}
		A += a
		ce += a * ((float64(m) - float64(z[j])) + st.logS)
	}
	loss := r * (ce + o.ZLoss*lse*lse)
	coefA := c.sc * r * (A + 2*o.ZLoss*lse)
	if err := overflow[E](i, loss, coefA, lse); err != nil {
		return 0, 0, err
	}
	if g == nil {
		return loss, lse, nil
	}
	kk := coefA / st.s
	if c.wE == nil {
		c.k.ExpAffine(g, z, m, 1, E(kk), E(c.sc*r*eps/C))
		c.k.Axpy(g, q, E(-c.sc*r*(1-eps)))
	} else {
		c.k.ExpAffine(g, z, m, 1, E(kk), 0)
		for j, v := range q {
			g[j] -= E(c.sc * r * o.ClassWeights[j] * ((1-eps)*float64(v) + eps/C))
		}
	}
	if st.t < rowstat.TailThreshold {
		// A confident row: recompute the argmax's gradient without
		// cancellation, −coefA·T/S + (coefA − a_k).
		a := st.argmax
		ak := c.sc * r * classWeight(o.Options, a) * ((1-eps)*float64(q[a]) + eps/C)
		g[a] = E(-coefA*st.t/st.s + (coefA - ak))
	}
	if deriv != nil {
		mulInto(g, deriv)
	}
	return loss, lse, nil
}

// overflow reports a row whose loss or gradient scale is not a finite
// number of the element type (logits near the float32 range with a
// z-loss, say).
func overflow[E exact](i int, loss, coef, lse float64) error {
	for _, v := range []float64{loss, coef} {
		if f := float64(E(v)); math.IsInf(f, 0) || math.IsNaN(f) {
			return valueErr(nameCrossEntropy, "the loss overflows at row %d (log-sum-exp %g)", i, lse)
		}
	}
	return nil
}

func firstNegInf[E exact](x []E) int {
	for j, v := range x {
		if math.IsInf(float64(v), -1) {
			return j
		}
	}
	return 0
}

// softCap sets z = c·tanh(x/c) and d = dz/dx = 1/cosh²(x/c) (computed
// from x, accurate also where tanh saturates); ±Inf map to ±c and NaN
// stays NaN.
func softCap[E exact](z, d, x []E, c float64) {
	for j, v := range x {
		u := float64(v) / c
		z[j] = E(c * math.Tanh(u))
		ch := math.Cosh(u)
		d[j] = E(1 / (ch * ch))
	}
}

// mulInto sets g_j *= d_j.
func mulInto[E exact](g, d []E) {
	for j := range g {
		g[j] *= d[j]
	}
}

func init() {
	Register(Spec{
		Name:    nameCrossEntropy,
		Summary: "softmax cross-entropy (PyTorch semantics, z-loss, soft-cap, no Softmax Collapse)",
		Needs:   NeedsLabels | AcceptsSoftTargets,
		Params: []Param{{"label_smoothing", 0, "ε in [0, 1]: the target becomes (1−ε)·target + ε/C"},
			{"z_loss", 0, "coefficient s ≥ 0 of s·lse² per row"}, {"soft_cap", 0, "c > 0: logits become c·tanh(z/c); 0: off"}},
		New: func(p map[string]float64, opts []Option) (Loss, error) {
			return NewCrossEntropy(append(ForCrossEntropy(opts...),
				WithLabelSmoothing(p["label_smoothing"]), WithZLoss(p["z_loss"]), WithSoftCap(p["soft_cap"]))...)
		},
	})
}
