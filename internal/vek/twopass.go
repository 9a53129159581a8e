package vek

import (
	"math"
	"unsafe"
)

// The two-pass softmax of catalog A14 (Dukhan and Ablavatski, "The
// Two-Pass Softmax Algorithm", 2020): every exponential is carried as a
// pair exp(x) = p·2ⁿ with n = round(x·log₂e) and p = exp(x − n·ln2) ∈
// [√½, √2] from a degree-5 polynomial, so a sum of exponentials
// accumulates as (M, E), Σ exp(x_i) = M·2ᴱ, without a max pass and
// without overflow:
//
//	(M, E) ⊕ (p, n) = (M·2^(E−E') + p·2^(n−E'), E'),  E' = max(E, n).
//
// Pass 1 (ExtExpSum32) reads x once and returns (M, E); pass 2
// (ExtExpScale32) writes c·p_i·2^(n_i−E), i.e. the softmax with c = 1/M,
// evaluating the exponentials again as the paper does. The stored form
// (ExtExpSumStore32, ExtRescale32) keeps each p_i·2^(n_i−r) from pass 1,
// r being the largest exponent of the element's group (64-element block)
// in its SIMD lane, so that pass 2 is one multiplication per element.
//
// # Domain
//
// Inputs above TwoPassLimit (2²¹) or NaN are reported (ok = false) rather
// than computed, and entries below −TwoPassLimit (−Inf masks among them)
// count as 0; a row whose largest entry is below about −2.08·10⁶ (an
// all-masked row among them) is reported too. The caller then takes the
// max-shift path, which has the defined results for those rows.
//
// # Accuracy
//
// p is the polynomial of the paper (XNNPACK's p5 coefficients) evaluated
// with FMA after a Cody–Waite reduction: within 2 ulp of exp(t). The
// assembly sums blocks of 64 elements per lane in float32 (terms scaled by
// exact powers of two) and the blocks in float64, so M has relative error
// ≤ 10·2⁻²⁴ + n·2⁻⁵³; a softmax value has relative error ≤ 16·2⁻²⁴
// (≈ 1e-6) wherever it is at least 2⁻¹²⁶, and values below 2⁻¹²⁶ flush to
// 0. The portable twin accumulates in float64 directly.

// TwoPassLimit bounds |x| for the two-pass kernels: larger inputs are
// reported, smaller ones (below −TwoPassLimit) count as −Inf.
const TwoPassLimit = 1 << 21

// twoPassMinE is the smallest exponent E that pass 1 accepts: rows whose
// maximum lies below about −2.08·10⁶ are reported, so that the entries
// clamped at −TwoPassLimit (exponent −3025551) are certain to scale to 0.
const twoPassMinE = -3.0e6

// twoPassMaxE is the exponent n of TwoPassLimit; a larger E means an
// entry above the limit (the assembly detects such entries this way).
const twoPassMaxE = 3025551

// The polynomial is the paper's p5, the one of the softmax kernels (f32p);
// ln 2 is split as −0xbf317218 and −0x3102e308 (tpNln2hi32, tpNln2lo32).

// kernelsTP is one tier's set of float32 two-pass kernels.
type kernelsTP struct {
	name     string
	sum      func(x []float32, m *[16]float64, e *[16]float32)
	sumStore func(dst, x []float32, m *[16]float64, e *[16]float32, refs *float32)
	scale    func(dst, x []float32, e, c float32)
	rescale  func(dst []float32, refs *float32, e, c float32)
}

var genericTP = &kernelsTP{"generic",
	func(x []float32, m *[16]float64, e *[16]float32) { extPass1Go(nil, x, nil, m, e) },
	func(dst, x []float32, m *[16]float64, e *[16]float32, refs *float32) {
		extPass1Go(dst, x, unsafe.Slice(refs, TwoPassRefs(len(x))), m, e)
	},
	extExpScale32Go,
	func(dst []float32, refs *float32, e, c float32) {
		extRescale32Go(dst, unsafe.Slice(refs, TwoPassRefs(len(dst))), e, c)
	},
}

// kTP is the two-pass tier in use; tiersTP lists every tier this machine
// runs.
var (
	kTP     = genericTP
	tiersTP = []*kernelsTP{genericTP}
)

// ExtExpSum32 returns (M, E) with Σ_i exp(x_i) = M·2ᴱ (E an integer), read
// in one pass, and ok = false when the row is outside the kernel's domain
// (a NaN, an entry above TwoPassLimit, or no entry above about −2.08·10⁶;
// see the package's two-pass notes). An empty x gives ok = false. When ok
// is false, m and e are unspecified: they may differ between tiers (the
// verdict does not).
func ExtExpSum32(x []float32) (m, e float64, ok bool) {
	if len(x) == 0 {
		return 0, 0, false
	}
	var lm [16]float64
	var le [16]float32
	kTP.sum(x, &lm, &le)
	m, e = mergeLanes(lm[:], le[:])
	return m, e, accept(m, e)
}

// accept reports whether a pass-1 result is in the kernels' domain: a
// finite positive sum and an exponent between twoPassMinE and
// twoPassMaxE (false for NaN).
func accept(m, e float64) bool {
	return m > 0 && m <= math.MaxFloat64 && e >= twoPassMinE && e <= twoPassMaxE
}

// ExtExpScale32 sets dst_i = c·p_i·2^(n_i − e) for exp(x_i) = p_i·2^(n_i),
// i.e. c·exp(x_i)/2ᵉ, flushing results whose power of two is below 2⁻¹²⁶
// to 0 (entries below −TwoPassLimit give 0). With (M, E) from ExtExpSum32
// and c = 1/M it writes the softmax of x. Preconditions: the row was
// accepted by ExtExpSum32 and e is its E. dst may be x; len(dst) ≥ len(x).
func ExtExpScale32(dst, x []float32, e, c float32) {
	kTP.scale(dst[:len(x)], x, e, c)
}

// ExtExpSum64 is ExtExpSum32 for float64 (portable Go, float64 throughout:
// p = exp(t) from math.Exp on the reduced argument). Its domain bound is
// also TwoPassLimit.
func ExtExpSum64(x []float64) (m, e float64, ok bool) {
	if len(x) == 0 {
		return 0, 0, false
	}
	m, e, bad := extExpSum64Go(x)
	return m, e, !bad && accept(m, e)
}

// ExtExpScale64 is ExtExpScale32 for float64 (results below 2⁻¹⁰²² flush
// to 0).
func ExtExpScale64(dst, x []float64, e, c float64) {
	extExpScale64Go(dst[:len(x)], x, e, c)
}

// mergeLanes combines per-lane (M, E) states in lane order.
func mergeLanes(lm []float64, le []float32) (float64, float64) {
	e := float64(le[0])
	for _, v := range le[1:] {
		e = max(e, float64(v))
	}
	var m float64
	for i, v := range lm {
		switch {
		case v != v:
			return v, e // a NaN entry: the row is outside the domain
		case v != 0:
			m += ldexp(v, float64(le[i])-e)
		}
	}
	return m, e
}

// TwoPassRefs returns how many reference exponents ExtExpSumStore32
// writes for a row of n elements: 16 per 64-element block (the last
// block may be partial).
func TwoPassRefs(n int) int {
	return 16 * ((n + 63) / 64)
}

// ExtExpSumStore32 is pass 1 of the stored form of the two-pass softmax:
// it returns (M, E, ok) as ExtExpSum32 does and also writes
// dst_i = p_i·2^(n_i − r), r the largest exponent in i's 64-element block
// and lane (the references, written to refs), so that pass 2
// (ExtRescale32) only multiplies instead of evaluating exp again.
// Mantissas below 2⁻¹²⁶ of their reference flush to 0. len(dst) ≥ len(x),
// len(refs) ≥ TwoPassRefs(len(x)); dst may be x. When ok is false, m, e
// and what it wrote to dst and refs are unspecified (they may differ
// between tiers; the verdict does not).
func ExtExpSumStore32(dst, x, refs []float32) (m, e float64, ok bool) {
	if len(x) == 0 {
		return 0, 0, false
	}
	dst, refs = dst[:len(x)], refs[:TwoPassRefs(len(x))]
	var lm [16]float64
	var le [16]float32
	kTP.sumStore(dst, x, &lm, &le, &refs[0])
	m, e = mergeLanes(lm[:], le[:])
	return m, e, accept(m, e)
}

// ExtRescale32 is pass 2 of the stored form: dst_i ·= c·2^(r − e) with the
// references refs of ExtExpSumStore32 (the factor flushes to 0 below
// 2⁻¹²⁶). With (M, E) from ExtExpSumStore32 and c = 1/M, dst becomes the
// softmax of the row. Preconditions: dst and refs as ExtExpSumStore32 left
// them, and the row was accepted.
func ExtRescale32(dst, refs []float32, e, c float32) {
	if len(dst) == 0 {
		return
	}
	refs = refs[:TwoPassRefs(len(dst))]
	kTP.rescale(dst, &refs[0], e, c)
}
