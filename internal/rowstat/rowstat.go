// Package rowstat is where every row-wise computation of xent reaches the
// vector kernels of internal/vek: the kernel table of each element type,
// the fixed chunks a row sum is accumulated in, and the softmax
// statistics of a row without Softmax Collapse.
//
// softmax, loss, linear, metrics and calibrate all go through it, so a
// reader (and go-to-definition) follows a call from a public package down
// to internal/vek in one step, and a row's sum has one definition: the
// in-order float64 sum of its chunks' sums (Chunk columns each), whatever
// the thread count.
package rowstat

import (
	"math"
	"unsafe"

	"github.com/xentlab/xent/internal/rowpipe"
	"github.com/xentlab/xent/internal/vek"
)

// Float is the element type the public packages accept: float32 or
// float64, or a type defined on them.
type Float interface{ ~float32 | ~float64 }

// Exact is the element type the kernels take: float32 or float64 itself.
type Exact interface{ float32 | float64 }

const (
	// Chunk is the fixed piece a row's sums are accumulated in (see
	// rowpipe.Chunk).
	Chunk = rowpipe.Chunk
	// BlockElems is about how many elements one parallel block of rows
	// holds; block boundaries depend only on the shape, never on the
	// thread count.
	BlockElems = rowpipe.BlockElems
	// TailThreshold is the size of Σ_{j≠argmax} exp(s(z_j − m)) below
	// which Tail recomputes it without the argmax's term: accumulated
	// beside the maximum's 1, such a tail keeps only its leading digits.
	TailThreshold = 0x1p-10
)

// Kernels is the set of vector kernels of one element type. The shifted
// ones (Shift, ExpShiftSum, ExpShiftStore, ExpShiftOne) exist for float32
// only: K64.Shift always reports false and the others are nil.
type Kernels[E Exact] struct {
	MaxNaN        func([]E) (E, bool)
	ExpSumFlat    func(x []E, m, s E) float64 // one call over x, not chunked
	ExpStoreSum   func(dst, x []E, m, s E) float64
	ExpAffine     func(dst, x []E, m, s, c, b E)
	ShiftScale    func(dst, x []E, m, s, c E)
	Scale         func(dst, x []E, c E)
	Axpy          func(dst, x []E, a E)
	Sum           func([]E) float64
	Shift         func(m E) (E, bool)
	ExpShiftSum   func(x []E, c E) float64
	ExpShiftStore func(dst, x []E, c E) float64
	ExpShiftOne   func(z E) E
}

var (
	// K32 holds the float32 kernels.
	K32 = &Kernels[float32]{vek.MaxNaN32, vek.ExpSum32, vek.ExpStoreSum32, vek.ExpAffine32, vek.ShiftScale32,
		vek.Scale32, vek.Axpy32, vek.Sum32, vek.Shift32, vek.ExpShiftSum32, vek.ExpShiftStore32, vek.ExpShiftOne32}
	// K64 holds the float64 kernels.
	K64 = &Kernels[float64]{vek.MaxNaN64, vek.ExpSum64, vek.ExpStoreSum64, vek.ExpAffine64, vek.ShiftScale64,
		vek.Scale64, vek.Axpy64, vek.Sum64, func(float64) (float64, bool) { return 0, false }, nil, nil, nil}
)

// For returns the kernels of E.
func For[E Exact]() *Kernels[E] {
	var z E
	if unsafe.Sizeof(z) == 4 {
		return any(K32).(*Kernels[E])
	}
	return any(K64).(*Kernels[E])
}

// ExpSum returns Σ_j exp(s·(x_j − m)) as the in-order float64 sum of the
// sums of x's Chunk-column pieces.
func (k *Kernels[E]) ExpSum(x []E, m, s E) float64 {
	var sum float64
	for c := 0; c < len(x); c += Chunk {
		sum += k.ExpSumFlat(x[c:min(len(x), c+Chunk)], m, s)
	}
	return sum
}

// Tail reduces a row z with a finite maximum m at scale s (the softmax of
// s·z): it returns S = Σ_j exp(s(z_j − m)) and the tail
// T = S − 1 = Σ_{j≠a} exp(s(z_j − m)), a the first maximal column. When T
// is below TailThreshold it is recomputed without the maximum's term (as
// ExpSum(z[:a]) + ExpSum(z[a+1:])) and S = 1 + T, so that a confidently
// right row keeps T ≈ 1e-30 to full relative precision (no Softmax
// Collapse); argmax is a then, and −1 when it was not looked up.
func (k *Kernels[E]) Tail(z []E, m, s E) (sum, tail float64, argmax int) {
	sum = k.ExpSum(z, m, s)
	tail = sum - 1
	if tail >= TailThreshold {
		return sum, tail, -1
	}
	a := ArgmaxOf(z, m)
	tail = k.ExpSum(z[:a], m, s) + k.ExpSum(z[a+1:], m, s)
	return 1 + tail, tail, a
}

// SumExcept returns Sum(x[:a]) + Sum(x[a+1:]): the tail of a row of
// stored exponentials whose maximum's term, at a, is exactly 1 (or the
// row's largest term), summed without it.
func (k *Kernels[E]) SumExcept(x []E, a int) float64 {
	return k.Sum(x[:a]) + k.Sum(x[a+1:])
}

// LogAddExp returns log(eᵃ + eᵇ) = max + log1p(exp(min − max)), exact in
// its larger argument; two −Inf give −Inf.
func LogAddExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(a, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// ArgmaxOf returns the first column of z equal to m (0 if none is).
func ArgmaxOf[E Exact](z []E, m E) int {
	for j, v := range z {
		if v == m {
			return j
		}
	}
	return 0
}

// AsExact reinterprets a slice of a type defined on float32 or float64 as
// a slice of that underlying type, without copying. nil stays nil and an
// empty slice stays empty and not nil.
func AsExact[T Float, E Exact](x []T) []E {
	if x == nil {
		return nil
	}
	if len(x) == 0 {
		return []E{}
	}
	return unsafe.Slice((*E)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}

// OverlapPartially reports whether a and b share memory without starting
// at the same element (an in-place call passes the same slice twice; a
// shifted one is an error).
func OverlapPartially[T any](a, b []T) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	var z T
	size := unsafe.Sizeof(z)
	pa, pb := uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&b[0]))
	if pa == pb {
		return false
	}
	return pa < pb+uintptr(len(b))*size && pb < pa+uintptr(len(a))*size
}
