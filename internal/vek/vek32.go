package vek

import (
	"math"
	"unsafe"
)

// kernels32 is one tier's set of float32 kernels. The tiers return the
// same bits for the same arguments.
type kernels32 struct {
	name          string
	maxNaN        func(x []float32) (float32, bool)
	sum           func(x []float32) float64
	expShiftSum   func(x []float32, negc float32) float64
	expShiftStore func(dst, x []float32, negc float32) float64
	expSum        func(x []float32, negm, s float32) float64
	expStoreSum   func(dst, x []float32, negm, s float32) float64
	expAffine     func(dst, x []float32, negm, s, a, b float32)
	exp           func(dst, x []float32)
	sigmoidSum    func(dst, x []float32, b float32) float64
	scale         func(dst, x []float32, a float32)
	shiftScale    func(dst, x []float32, m, s, b float32)
	axpy          func(dst, x []float32, a float32)
	dots4         func(d0, d1, d2, d3, q0, q1, q2, q3, k *float32, n, d int, scale float32)
	axpy2         func(o0, o1, p0, p1, v *float32, n, dv int)
	step          func(n int, e, x *float32, negc float32, out, src *float32, a, b float32, mode int, next *float32, pfd int) (float64, float32, bool)
	fence         func()
}

var generic32 = &kernels32{"generic", maxNaN32Go, sum32Go, expShiftSum32Go, expShiftStore32Go,
	expSum32Go, expStoreSum32Go, expAffine32Go, exp32Go, sigmoidSum32Go, scale32Go, shiftScale32Go, axpy32Go, dots432Go, axpy232Go, step32Go, func() {}}

// k32 is the tier in use, chosen once at start-up; tiers32 lists every
// tier this machine runs (the tests compare them).
var (
	k32     = generic32
	tiers32 = []*kernels32{generic32}
)

// MaxNaN32 returns the largest non-NaN element of x (−Inf if there is none;
// +0 when the largest is a zero of either sign) and whether x holds a NaN.
func MaxNaN32(x []float32) (m float32, nan bool) {
	if len(x) == 0 {
		return float32(math.Inf(-1)), false
	}
	m, nan = k32.maxNaN(x)
	if m == 0 {
		m = 0 // one sign for zero, whatever the order of the lanes
	}
	return m, nan
}

// Sum32 returns Σ x_i, accumulated in the package's reduction shape
// (float32 partial sums of at most 16 terms per lane, then float64): a
// relative error below 5·2⁻²⁴ + n·2⁻⁵³ for terms of one sign. The bits do
// not depend on the tier.
func Sum32(x []float32) float64 {
	return k32.sum(x)
}

// Shift32 returns the shift c the fast softmax kernels subtract for a row
// whose maximum is m, and whether there is one: ok reports that x − c is
// exact in float32 for every x ≤ m with exp(x − m) ≥ 1e-30, so that the
// kernels need no correction term, and that exp(x − c) neither overflows
// nor loses an element whose probability is at least 1e-30 to underflow.
//
//   - 0 ≤ … : for −16 ≤ m ≤ 85, c = 0 (x − 0 is x itself; exp(x) ≤ e⁸⁵
//     and sums of 16 such terms stay finite; an element with x − m ≥ −69
//     has x ≥ −85, whose exponential is a normal number);
//   - for m ≥ 138 or m ≤ −69, c = m (every x in [m − 69, m] is within a
//     factor two of m, so x − m is exact by Sterbenz's lemma).
//
// Other maxima (and temperatures other than 1) take the exact kernels,
// which carry x − m as a pair.
func Shift32(m float32) (c float32, ok bool) {
	switch {
	case m >= -16 && m <= 85:
		return 0, true
	case m >= 138 && m <= math.MaxFloat32, m <= -69 && m >= -math.MaxFloat32:
		return m, true
	}
	return 0, false
}

// ExpShiftSum32 returns Σ exp(x_i − c) for a shift c from Shift32 and a
// slice whose elements are at most the maximum c was chosen for.
// Accuracy: each term within 2e-7 relative of exp(x_i − c) (0 below
// 2⁻¹²⁶), the sum as Sum32.
func ExpShiftSum32(x []float32, c float32) float64 {
	return k32.expShiftSum(x, -c)
}

// ExpShiftStore32 sets dst_i = exp(x_i − c) and returns their sum, as
// ExpShiftSum32. dst may be x; len(dst) ≥ len(x).
func ExpShiftStore32(dst, x []float32, c float32) float64 {
	return k32.expShiftStore(dst[:len(x)], x, -c)
}

// ExpSum32 returns Σ exp(s·(x_i − m)), x_i − m carried exactly as a pair
// (so any finite m works), accumulated as Sum32. Preconditions: m finite,
// no NaN in x, x_i ≤ m, s > 0. Accuracy: each term within 2e-7 relative
// plus |s·(x−m)|·2⁻²⁴ when s ≠ 1 (0 below 2⁻¹²⁶).
func ExpSum32(x []float32, m, s float32) float64 {
	return k32.expSum(x, -m, s)
}

// ExpStoreSum32 sets dst_i = exp(s·(x_i − m)) and returns their sum, as
// ExpSum32. dst may be x; len(dst) ≥ len(x).
func ExpStoreSum32(dst, x []float32, m, s float32) float64 {
	return k32.expStoreSum(dst[:len(x)], x, -m, s)
}

// ExpAffine32 sets dst_i = a·exp(s·(x_i − m)) − b, the product and the
// difference rounded once, with the exponential of ExpSum32. dst may be
// x; len(dst) ≥ len(x).
func ExpAffine32(dst, x []float32, m, s, a, b float32) {
	k32.expAffine(dst[:len(x)], x, -m, s, a, b)
}

// Exp32 sets dst_i = exp(x_i) for any input: NaN gives NaN, results below
// the smallest normal float32 give 0, above the largest float32 +Inf.
// Accuracy: within 1.1 ulp wherever the result is a normal number
// (checked over every float32 input). dst may be x.
func Exp32(dst, x []float32) {
	k32.exp(dst[:len(x)], x)
}

// Sigmoid32 sets dst_i = σ(x_i + b): with t = x_i + b rounded and
// e = exp(−|t|) by the softmax kernels' exponential (its argument is never
// positive, so it cannot overflow), dst_i = 1/(1 + e) for t ≥ 0 and
// e/(1 + e) for t < 0, the sum and the quotient each rounded in float32.
// Against σ of the exact x_i + b the relative error is below
// (1 − σ)·|x_i + b|·2⁻²⁴ (the rounding of the sum) + 6·2⁻²⁴ while σ is a
// normal float32 (x_i + b ≥ −87); below that it is 0. −Inf gives 0, +Inf
// gives 1, NaN gives NaN. The bits do not depend on the tier. dst may be
// x.
func Sigmoid32(dst, x []float32, b float32) {
	k32.sigmoidSum(dst[:len(x)], x, b)
}

// SigmoidSum32 is Sigmoid32 that also returns Σ dst_i, the bits of
// Sum32(dst) after the call (the weights are summed as they are made,
// not read again).
func SigmoidSum32(dst, x []float32, b float32) float64 {
	return k32.sigmoidSum(dst[:len(x)], x, b)
}

// Scale32 sets dst_i = a·x_i. dst may be x.
func Scale32(dst, x []float32, a float32) {
	k32.scale(dst[:len(x)], x, a)
}

// ShiftScale32 sets dst_i = ((x_i − m)·s) − b, each operation rounded in
// float32. dst may be x.
func ShiftScale32(dst, x []float32, m, s, b float32) {
	k32.shiftScale(dst[:len(x)], x, m, s, b)
}

// Axpy32 sets dst_i = a·x_i + dst_i, fused (one rounding). len(dst) ≥
// len(x).
func Axpy32(dst, x []float32, a float32) {
	k32.axpy(dst[:len(x)], x, a)
}

// DotRows32 sets dst[r·ldd + j] = scale·(q_r · k_j) for every row q_r of
// q (len(q)/d rows of d elements) and every row k_j of k (len(k)/d rows),
// reading both where they lie. Each dot product is summed in the
// package's 16-lane shape: element i goes to lane i mod 16, each lane
// accumulates its products fused, and the 16 lanes are added pairwise in
// float32 (l + l+8, l+4, l+2, l+1); the error is below
// (⌈d/16⌉ + 4)·2⁻²⁴·Σ_i |q_r[i]·k_j[i]|, plus one rounding for the scale.
// The bits do not depend on the tier. len(dst) must be at least
// (rows−1)·ldd + len(k)/d.
func DotRows32(dst []float32, ldd int, q []float32, k []float32, d int, scale float32) {
	if d <= 0 {
		return
	}
	m, n := len(q)/d, len(k)/d
	if m == 0 || n == 0 {
		return
	}
	if ldd < n || len(dst) < (m-1)*ldd+n {
		panic("vek: DotRows32: dst too short")
	}
	var qs, ds [4]*float32
	for r0 := 0; r0 < m; r0 += 4 {
		// Past the last row, the last row again: its dot products are
		// stored twice, with the same value.
		for i := range 4 {
			r := min(r0+i, m-1)
			qs[i], ds[i] = &q[r*d], &dst[r*ldd]
		}
		k32.dots4(ds[0], ds[1], ds[2], ds[3], qs[0], qs[1], qs[2], qs[3], &k[0], n, d, scale)
	}
}

// AxpyRows32 adds p·v to a few rows: for each row r < m of o (stride ldo)
// and of p (stride ldp), o_r[c] = p_r[j]·v_j[c] + o_r[c], fused, for
// every key j = 0, 1, …, n−1 in order (n = len(v)/dv rows of dv
// elements), skipping the keys whose weight is ±0. Each element gets the
// same operations as from the sequence of Axpy32 calls, so the bits do
// not depend on the tier or on how the keys are split into calls.
func AxpyRows32(o []float32, ldo int, p []float32, ldp, m int, v []float32, dv int) {
	if dv <= 0 || m <= 0 {
		return
	}
	n := len(v) / dv
	if n == 0 {
		return
	}
	if ldo < dv || len(o) < (m-1)*ldo+dv || ldp < n || len(p) < (m-1)*ldp+n {
		panic("vek: AxpyRows32: o or p too short")
	}
	for r := 0; r+1 < m; r += 2 {
		k32.axpy2(&o[r*ldo], &o[(r+1)*ldo], &p[r*ldp], &p[(r+1)*ldp], &v[0], n, dv)
	}
	if m%2 == 1 {
		// The odd row goes second, after a first row with the same output
		// and weights that are all zero (every key skipped, taken from a
		// static block): the kernel stores its second row last.
		r := m - 1
		for j0 := 0; j0 < n; j0 += len(zeros32) {
			j1 := min(n, j0+len(zeros32))
			k32.axpy2(&o[r*ldo], &o[r*ldo], &zeros32[0], &p[r*ldp+j0], &v[j0*dv], j1-j0, dv)
		}
	}
}

// zeros32 is a block of zero weights for AxpyRows32's odd row.
var zeros32 [1024]float32

// Step32 is one step of the row pipeline the softmax family streams a
// matrix through, three passes fused into one loop so that memory
// traffic overlaps arithmetic:
//
//   - Exp (X non-nil): Sum = Σ exp(X_i − C) (C from Shift32), stored to E
//     unless E is nil — the current row's exponentials, as
//     ExpShiftStore32.
//   - Out (Out non-nil): the previous row's output, by Mode: Out_i =
//     A·Src_i (StepScale, as Scale32), (Src_i − A) − B (StepShift, as
//     ShiftScale32 with s = 1) or (A·Src_i) − B (StepMulSub, as
//     ShiftScale32(Out, Src, 0, A, B)); with non-temporal stores when NT
//     is set (they bypass the cache; use them for outputs far larger than
//     the cache). Non-temporal stores are weakly ordered: call StoreFence
//     before storing to the same memory again or handing it to another
//     goroutine.
//   - Next (Next non-nil): Max and NaN of Next, as MaxNaN32 — a row's
//     maximum (the row pipeline passes X itself, so that the row is read
//     from memory once for both parts; the assembly tiers then find the
//     maximum in the Exp part's own loads, unless the step has an Out
//     part and no E); the loop also prefetches from Next + Prefetch
//     elements onwards.
//
// The AVX-512 tier also prefetches, 2 KiB ahead, the lines of E and of a
// plainly stored Out, so that a store finds its line in cache. Prefetches
// never fault and never change a result.
//
// All non-nil slices have the same length.
type Step32 struct {
	E, X     []float32
	C        float32
	Out, Src []float32
	A, B     float32
	Mode     StepMode
	NT       bool
	Next     []float32
	Prefetch int
}

// StepMode is how Step32 computes its output part.
type StepMode int

// The output modes of Step32.
const (
	StepScale  StepMode = stepScale
	StepShift  StepMode = stepShift
	StepMulSub StepMode = stepMulSub
)

// Step runs one pipeline step and returns the exponential sum and the
// maximum and NaN flag of Next (−Inf and false without Next).
func (p *Step32) Step() (sum float64, m float32, nan bool) {
	n := max(len(p.X), len(p.Out), len(p.Next))
	var e, x, out, src, next *float32
	if p.X != nil {
		x = unsafe.SliceData(p.X[:n])
		if p.E != nil {
			e = unsafe.SliceData(p.E[:n])
		}
	}
	if p.Out != nil {
		out, src = unsafe.SliceData(p.Out[:n]), unsafe.SliceData(p.Src[:n])
	}
	if p.Next != nil {
		next = unsafe.SliceData(p.Next[:n])
	}
	mode := int(p.Mode) & 3
	if p.NT {
		mode |= stepNT
	}

	if n == 0 {
		return 0, float32(math.Inf(-1)), false
	}
	sum, m, nan = k32.step(n, e, x, -p.C, out, src, p.A, p.B, mode, next, 4*p.Prefetch)
	if m == 0 {
		m = 0
	}
	return sum, m, nan
}

// Step modes of the step kernels.
const (
	stepScale  = 0
	stepShift  = 1
	stepMulSub = 2
	stepNT     = 4
)

// ExpShiftOne32 returns exp(z) for one z = x − c (c from Shift32, x ≤ the
// row maximum): the bits the shifted kernels compute for that element.
func ExpShiftOne32(z float32) float32 {
	return expShift32(z)
}

// StepPrefetchesStores reports whether Step32 on this CPU prefetches, a
// little ahead, the lines its plain stores will write, so that a store
// finds its line in cache instead of waiting for the read-for-ownership:
// the AVX-512 tier does, the AVX2 tier and the portable twin do not.
func StepPrefetchesStores() bool { return k32.name == "avx512" }

// StoreFence orders every earlier non-temporal store (Step32 with NT)
// before the stores that follow it.
func StoreFence() { k32.fence() }
