package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// tiers returns every implementation this machine can run.
func tiers() []*tier {
	t := []*tier{tierGo}
	if hasAVX2 {
		t = append(t, tierAVX2)
	}
	if hasAVX512 {
		t = append(t, tierAVX512)
	}
	return t
}

// guardBits marks memory that must not change: a signalling-looking NaN
// payload that no arithmetic produces.
const guardBits = 0x7fa5a5a5

// problem is one Gemm call with its operands laid out in buffers whose
// unused elements (gaps between rows, past the last row) hold NaN in A and
// B — so reading them would poison the result — and guard values in C.
type problem struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b           []float32
	lda, ldb, ldc  int
	c              []float32 // C's buffer: guards, then the rows
	cOff           int       // offset of C(0, 0) in c
	c0             []float32 // a copy of c before the call
}

func newProblem(rng *rand.Rand, transA, transB bool, m, n, k, pad int, alpha, beta float32) *problem {
	p := &problem{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	nan := float32(math.NaN())
	fill := func(rows, cols, ld int) []float32 {
		if rows == 0 || cols == 0 {
			return nil
		}
		x := make([]float32, (rows-1)*ld+cols)
		for i := range x {
			x[i] = nan
		}
		for i := range rows {
			for j := range cols {
				x[i*ld+j] = randVal(rng)
			}
		}
		return x
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	p.lda = max(1, ac) + rng.IntN(pad+1)
	p.ldb = max(1, bc) + rng.IntN(pad+1)
	p.ldc = max(1, n) + rng.IntN(pad+1)
	p.a = fill(ar, ac, p.lda)
	p.b = fill(br, bc, p.ldb)
	p.cOff = rng.IntN(3)
	size := p.cOff
	if m > 0 && n > 0 {
		size += (m-1)*p.ldc + n
	}
	size += rng.IntN(3)
	p.c = make([]float32, size)
	for i := range p.c {
		p.c[i] = math.Float32frombits(guardBits)
	}
	for i := range m {
		for j := range n {
			v := randVal(rng)
			if beta == 0 {
				v = nan // must be ignored
			}
			p.c[p.cOff+i*p.ldc+j] = v
		}
	}
	p.c0 = append([]float32(nil), p.c...)
	return p
}

// randVal returns a value in [−2, 2], sometimes a small integer (exact
// products) and sometimes zero.
func randVal(rng *rand.Rand) float32 {
	switch rng.IntN(8) {
	case 0:
		return float32(rng.IntN(5) - 2)
	case 1:
		return 0
	}
	return float32(rng.Float64()*4 - 2)
}

func (p *problem) opA(i, q int) float32 {
	if p.transA {
		return p.a[q*p.lda+i]
	}
	return p.a[i*p.lda+q]
}

func (p *problem) opB(q, j int) float32 {
	if p.transB {
		return p.b[j*p.ldb+q]
	}
	return p.b[q*p.ldb+j]
}

func (p *problem) cs() []float32 { return p.c[p.cOff:] }

// run computes the product with tier t.
func (p *problem) run(t *tier, threads int) {
	t.gemm(new(Workspace), p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.cs(), p.ldc, threads)
}

// errBound is the documented bound (2k+4)·2⁻²⁴ relative to
// |alpha|·Σ|a||b| + |beta|·|c₀|, with a margin for second-order terms
// and an absolute floor for subnormal results.
func errBound(k int, s float64) float64 {
	return float64(2*k+4)*0x1p-24*s*1.001 + 1e-37
}

// check compares C with a float64 reference within errBound and verifies
// that nothing outside C's logical elements changed.
func (p *problem) check(t *testing.T, ctx string) {
	t.Helper()
	cs, c0 := p.cs(), p.c0[p.cOff:]
	// op(A) by rows and op(B) by columns, contiguous, in float64.
	a := make([]float64, p.m*p.k)
	for i := range p.m {
		for q := range p.k {
			a[i*p.k+q] = float64(p.opA(i, q))
		}
	}
	bt := make([]float64, p.n*p.k)
	for j := range p.n {
		for q := range p.k {
			bt[j*p.k+q] = float64(p.opB(q, j))
		}
	}
	bad := 0
	for i := range p.m {
		ai := a[i*p.k : (i+1)*p.k]
		for j := range p.n {
			var sum, abs float64
			if p.alpha != 0 {
				bj := bt[j*p.k : (j+1)*p.k]
				for q, x := range ai {
					y := x * bj[q]
					sum += y
					abs += math.Abs(y)
				}
			}
			want := float64(p.alpha) * sum
			s := math.Abs(float64(p.alpha)) * abs
			if p.beta != 0 {
				want += float64(p.beta) * float64(c0[i*p.ldc+j])
				s += math.Abs(float64(p.beta) * float64(c0[i*p.ldc+j]))
			}
			got := float64(cs[i*p.ldc+j])
			if !(math.Abs(got-want) <= errBound(p.k, s)) {
				if bad++; bad <= 3 {
					t.Errorf("%s: C[%d,%d] = %v, want %v ± %.3g", ctx, i, j, got, want, errBound(p.k, s))
				}
			}
		}
	}
	p.checkGuards(t, ctx)
}

// checkGuards verifies that every element of C's buffer outside its m×n
// logical elements still holds its original bits.
func (p *problem) checkGuards(t *testing.T, ctx string) {
	t.Helper()
	for x := range p.c {
		o := x - p.cOff
		if o >= 0 && o/p.ldc < p.m && o%p.ldc < p.n {
			continue
		}
		if math.Float32bits(p.c[x]) != math.Float32bits(p.c0[x]) {
			t.Fatalf("%s: wrote outside C at buffer offset %d (row %d, col %d)", ctx, x, o/p.ldc, o%p.ldc)
		}
	}
}

var alphaBetas = [][2]float32{{1, 0}, {1, 1}, {-0.5, 2}, {0.75, 0}, {2, -1}, {1, 0.5}}

var transCombos = [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}}

// TestGemmShapes runs every tier on ragged shapes — no size a multiple of
// any tile or block — with all four transpositions, padded strides and
// several alpha, beta.
func TestGemmShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dims := []int{1, 2, 5, 7, 13, 17, 33, 67}
	ks := []int{1, 2, 5, 17, 257, 520}
	for _, tr := range tiers() {
		for ti, tc := range transCombos {
			for mi, m := range dims {
				for ni, n := range dims {
					// Two k per (m, n), cycling so that every k meets every shape class.
					for _, k := range []int{ks[(mi+ni+ti)%len(ks)], ks[(mi+2*ni+ti+3)%len(ks)]} {
						ab := alphaBetas[(mi*7+ni*3+k)%len(alphaBetas)]
						p := newProblem(rng, tc[0], tc[1], m, n, k, 3, ab[0], ab[1])
						p.run(tr, 1+rng.IntN(3))
						p.check(t, fmt.Sprintf("%s transA=%v transB=%v %dx%dx%d alpha=%v beta=%v", tr.name, tc[0], tc[1], m, n, k, ab[0], ab[1]))
					}
				}
			}
		}
	}
}

// TestGemmLarge covers shapes that cross every blocking boundary: k over
// several k blocks, m over several row blocks, n over a column block.
func TestGemmLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	type shape struct{ m, n, k int }
	for _, tr := range tiers() {
		shapes := []shape{{257, 67, 5003}, {2*tr.mc + 5, 19, 3}, {7, tr.nc + 21, 300}, {150, 145, 513}}
		if raceEnabled {
			// The race detector slows the portable kernel and the reference
			// twentyfold: keep the boundary crossings, shrink the long k.
			shapes[0].k = 777
		}
		for ti, tc := range transCombos {
			for si, s := range shapes {
				if raceEnabled && (si+ti)%2 == 1 {
					continue // half the combinations, each transposition still met
				}
				ab := alphaBetas[(si+ti)%len(alphaBetas)]
				p := newProblem(rng, tc[0], tc[1], s.m, s.n, s.k, 2, ab[0], ab[1])
				p.run(tr, 2)
				p.check(t, fmt.Sprintf("%s transA=%v transB=%v %dx%dx%d", tr.name, tc[0], tc[1], s.m, s.n, s.k))
			}
		}
	}
}

// TestGemmSpecial covers k = 0, alpha = 0 (A and B not read, even if NaN)
// and empty shapes.
func TestGemmSpecial(t *testing.T) {
	nan := float32(math.NaN())
	for _, tr := range tiers() {
		for _, beta := range []float32{0, 1, -2} {
			c := []float32{1, 2, 3, 4, 5, 6}
			a := []float32{nan, nan, nan, nan}
			b := []float32{nan, nan, nan, nan, nan, nan}
			tr.gemm(new(Workspace), false, false, 2, 3, 2, 0, a, 2, b, 3, beta, c, 3, 1)
			tr.gemm(new(Workspace), false, false, 2, 3, 0, 1, nil, 1, nil, 3, 1, c, 3, 1)
			for i, v := range c {
				if want := beta * float32(i+1); v != want {
					t.Errorf("%s beta=%v: c[%d] = %v, want %v", tr.name, beta, i, v, want)
				}
			}
		}
		tr.gemm(new(Workspace), true, true, 0, 5, 3, 1, nil, 1, make([]float32, 15), 3, 0, nil, 5, 1)
		tr.gemm(new(Workspace), false, false, 4, 0, 3, 1, make([]float32, 12), 3, nil, 1, 0, nil, 1, 1)
	}
}

// TestDeterminism checks that the result has the same bits for every
// thread count, and that MulPacked on packed operands gives the same bits
// as Gemm.
func TestDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tr := range tiers() {
		for _, tc := range transCombos {
			m, n, k := 301, 531, 600
			if tr == tierGo || raceEnabled {
				m, n = 97, 301 // the same blocking logic at a fraction of the cost
			}
			p := newProblem(rng, tc[0], tc[1], m, n, k, 1, 1.5, 0.5)
			var want []float32
			for _, threads := range []int{1, 2, 3, 4, 8} {
				copy(p.c, p.c0)
				p.run(tr, threads)
				if want == nil {
					want = append([]float32(nil), p.c...)
					continue
				}
				for i := range want {
					if math.Float32bits(want[i]) != math.Float32bits(p.c[i]) {
						t.Fatalf("%s %v threads=%d: element %d = %v, threads=1 gave %v", tr.name, tc, threads, i, p.c[i], want[i])
					}
				}
			}
			if tr != best {
				continue
			}
			pa := make([]float32, PackASize(m, k))
			pb := make([]float32, PackBSize(k, n))
			PackA(tc[0], m, k, p.a, p.lda, pa)
			PackB(tc[1], k, n, p.b, p.ldb, pb)
			for _, threads := range []int{1, 2, 3} {
				copy(p.c, p.c0)
				MulPacked(m, n, k, p.alpha, pa, pb, p.beta, p.cs(), p.ldc, threads)
				for i := range want {
					if math.Float32bits(want[i]) != math.Float32bits(p.c[i]) {
						t.Fatalf("%s %v: MulPacked threads=%d element %d = %v, Gemm gave %v", tr.name, tc, threads, i, p.c[i], want[i])
					}
				}
			}
		}
	}
}

// TestPackedSubBlocks multiplies row and column ranges of packed operands
// (packed whole, and packed range by range) and compares with Gemm on the
// same ranges.
func TestPackedSubBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	tmr, tnr := Tile()
	m, n, k := 50, 70, 300
	p := newProblem(rng, false, true, m, n, k, 0, 1, 0)
	pa := make([]float32, PackASize(m, k))
	pb := make([]float32, PackBSize(k, n))
	PackA(false, m, k, p.a, p.lda, pa)
	// Pack B in two column ranges, split at a multiple of nr.
	split := 2 * tnr
	PackB(true, k, split, p.b, p.ldb, pb)
	PackB(true, k, n-split, p.b[split*p.ldb:], p.ldb, pb[split*k:])
	i0, i1, j0, j1 := 2*tmr, 37, tnr, n
	got := make([]float32, (i1-i0)*(j1-j0))
	MulPacked(i1-i0, j1-j0, k, 1, pa[i0*k:], pb[j0*k:], 0, got, j1-j0, 1)
	want := make([]float32, len(got))
	Gemm(false, true, i1-i0, j1-j0, k, 1, p.a[i0*p.lda:], p.lda, p.b[j0*p.ldb:], p.ldb, 0, want, j1-j0, 1)
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			t.Fatalf("element %d: MulPacked on sub-block = %v, Gemm = %v", i, got[i], want[i])
		}
	}
}

// TestAllocs checks that MulPacked and (once its buffers are pooled) Gemm
// allocate nothing on one thread.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	m, n, k := 64, 256, 512
	a := make([]float32, m*k)
	b := make([]float32, n*k)
	c := make([]float32, m*n)
	pa := make([]float32, PackASize(m, k))
	pb := make([]float32, PackBSize(k, n))
	PackA(false, m, k, a, k, pa)
	PackB(true, k, n, b, k, pb)
	if got := testing.AllocsPerRun(5, func() { MulPacked(m, n, k, 1, pa, pb, 0, c, n, 1) }); got != 0 {
		t.Errorf("MulPacked: %v allocations per call, want 0", got)
	}
	if got := testing.AllocsPerRun(5, func() { PackB(true, k, n, b, k, pb) }); got != 0 {
		t.Errorf("PackB: %v allocations per call, want 0", got)
	}
	if got := testing.AllocsPerRun(5, func() { Gemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n, 1) }); got != 0 {
		t.Errorf("Gemm: %v allocations per call, want 0", got)
	}
}

// TestPanics checks that invalid shapes, strides and lengths are rejected.
func TestPanics(t *testing.T) {
	x := make([]float32, 100)
	cases := map[string]func(){
		"negative m":  func() { Gemm(false, false, -1, 2, 2, 1, x, 2, x, 2, 0, x, 2, 1) },
		"small lda":   func() { Gemm(false, false, 2, 2, 3, 1, x, 2, x, 2, 0, x, 2, 1) },
		"small ldb^T": func() { Gemm(false, true, 2, 2, 3, 1, x, 3, x, 2, 0, x, 2, 1) },
		"short a":     func() { Gemm(false, false, 10, 2, 11, 1, x, 11, x, 2, 0, x, 2, 1) },
		"short c":     func() { Gemm(false, false, 2, 51, 1, 1, x, 1, x, 51, 0, x, 51, 1) },
		"short dst":   func() { PackA(false, 7, 10, x, 10, make([]float32, 10)) },
		"short pb":    func() { MulPacked(1, 17, 1, 1, x, make([]float32, 16), 0, x, 17, 1) },
	}
	for name, f := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// FuzzGemm compares every tier with the float64 reference on fuzzed
// shapes, strides, transpositions and scalars.
func FuzzGemm(f *testing.F) {
	f.Add(uint8(0), uint8(1), uint8(1), uint16(1), uint8(0), uint8(0), uint64(1))
	f.Add(uint8(1), uint8(6), uint8(16), uint16(256), uint8(1), uint8(1), uint64(2))
	f.Add(uint8(2), uint8(7), uint8(17), uint16(257), uint8(2), uint8(2), uint64(3))
	f.Add(uint8(3), uint8(13), uint8(33), uint16(513), uint8(3), uint8(3), uint64(4))
	f.Add(uint8(1), uint8(40), uint8(3), uint16(5), uint8(4), uint8(4), uint64(5))
	f.Add(uint8(2), uint8(2), uint8(50), uint16(31), uint8(5), uint8(5), uint64(6))
	f.Fuzz(func(t *testing.T, trans, m, n uint8, k uint16, pad, ab uint8, seed uint64) {
		mm, nn, kk := int(m%50), int(n%50), int(k%700)
		rng := rand.New(rand.NewPCG(seed, 11))
		s := alphaBetas[int(ab)%len(alphaBetas)]
		for _, tr := range tiers() {
			p := newProblem(rng, trans&1 != 0, trans&2 != 0, mm, nn, kk, int(pad%5), s[0], s[1])
			p.run(tr, 1+int(seed%3))
			p.check(t, fmt.Sprintf("%s trans=%d %dx%dx%d", tr.name, trans&3, mm, nn, kk))
		}
	})
}

// TestSpan checks that span cuts a size into parts that cover it exactly,
// in order, each starting on a panel boundary.
func TestSpan(t *testing.T) {
	for _, w := range []int{6, 12, 16, 32} {
		for _, size := range []int{1, 5, 6, 7, 31, 32, 33, 1000, 4097} {
			for _, nb := range []int{1, 2, 3, 8, 50} {
				next := 0
				for b := range nb {
					lo, hi := span(b, nb, size, w)
					if lo != next || lo%w != 0 && lo != size || hi < lo {
						t.Fatalf("w=%d size=%d nb=%d: part %d = [%d, %d), want start %d aligned to %d", w, size, nb, b, lo, hi, next, w)
					}
					next = hi
				}
				if next != size {
					t.Fatalf("w=%d size=%d nb=%d: parts end at %d", w, size, nb, next)
				}
			}
		}
	}
}

// TestPack checks every tier's packing against the layout's definition,
// element by element (zero padding included), for all tail lengths.
func TestPack(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	nan := float32(math.NaN())
	for _, tr := range tiers() {
		for _, trans := range []bool{false, true} {
			for _, rows := range []int{1, 5, 6, 7, 11, 12, 13, 16, 17, 31, 32, 33, 50, 97} {
				for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 255, 257} {
					// A: rows×k (stored k×rows when trans), B: k×rows (stored rows×k when trans).
					sr, sc := rows, k
					if trans {
						sr, sc = k, rows
					}
					ld := sc + rng.IntN(3)
					src := make([]float32, (sr-1)*ld+sc)
					for i := range src {
						src[i] = randVal(rng)
					}
					at := func(i, p int) float32 { // op(A)(i, p) = op(B)(p, i) for the transposed flag
						if trans {
							return src[p*ld+i]
						}
						return src[i*ld+p]
					}
					mr, nr := tr.mr, tr.nr
					sizeA, sizeB := roundUp(rows, mr)*k, roundUp(rows, nr)*k
					pa := make([]float32, sizeA+5)
					for i := range pa {
						pa[i] = nan
					}
					tr.packA(pa, mr*k, trans, src, ld, 0, rows, 0, k)
					for i := range roundUp(rows, mr) {
						for p := range k {
							want := float32(0)
							if i < rows {
								want = at(i, p)
							}
							if got := pa[(i/mr)*mr*k+p*mr+i%mr]; math.Float32bits(got) != math.Float32bits(want) {
								t.Fatalf("%s packA trans=%v %dx%d: (%d, %d) = %v, want %v", tr.name, trans, rows, k, i, p, got, want)
							}
						}
					}
					for i := sizeA; i < len(pa); i++ {
						if !math.IsNaN(float64(pa[i])) {
							t.Fatalf("%s packA trans=%v %dx%d: wrote past the end", tr.name, trans, rows, k)
						}
					}
					// The same source read as B: op(B)(p, j) with j < rows is
					// src[j·ld+p] when !trans (transB layout) and src[p·ld+j] when trans.
					pb := make([]float32, sizeB+5)
					for i := range pb {
						pb[i] = nan
					}
					tr.packB(pb, nr*k, !trans, src, ld, 0, k, 0, rows)
					for j := range roundUp(rows, nr) {
						for p := range k {
							want := float32(0)
							if j < rows {
								want = at(j, p)
							}
							if got := pb[(j/nr)*nr*k+p*nr+j%nr]; math.Float32bits(got) != math.Float32bits(want) {
								t.Fatalf("%s packB transB=%v %dx%d: (%d, %d) = %v, want %v", tr.name, !trans, k, rows, p, j, got, want)
							}
						}
					}
					for i := sizeB; i < len(pb); i++ {
						if !math.IsNaN(float64(pb[i])) {
							t.Fatalf("%s packB transB=%v %dx%d: wrote past the end", tr.name, !trans, k, rows)
						}
					}
				}
			}
		}
	}
}

// TestPipeline checks the threaded Gemm, which packs the next A block
// while multiplying the current one and splits the B panels between the
// threads, on shapes with several row blocks, column blocks and k blocks:
// every thread count gives the bits of one thread, and those are within
// the error bound.
func TestPipeline(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	type shape struct{ m, n, k int }
	for _, s := range []shape{{2*best.mc + 8, 40, 600}, {50, 2*best.nc + 3, 300}, {best.mc + 1, 3*best.nr + 5, 513}} {
		for _, tc := range [][2]bool{{false, true}, {true, false}} {
			p := newProblem(rng, tc[0], tc[1], s.m, s.n, s.k, 1, 1, 0.5)
			p.run(best, 1)
			p.check(t, fmt.Sprintf("%v %v threads=1", s, tc))
			want := append([]float32(nil), p.c...)
			for _, threads := range []int{2, 3} {
				copy(p.c, p.c0)
				p.run(best, threads)
				for i := range want {
					if math.Float32bits(want[i]) != math.Float32bits(p.c[i]) {
						t.Fatalf("%v %v threads=%d: element %d = %v, one thread gave %v", s, tc, threads, i, p.c[i], want[i])
					}
				}
			}
		}
	}
}

// TestWorkspace: one Workspace reused over shapes that grow and shrink, on
// one and two threads, gives the bits of Gemm, and once it has seen every
// shape it allocates nothing.
func TestWorkspace(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	shapes := [][3]int{{64, 2048, 16}, {64, 16, 2048}, {2048, 16, 64}, {7, 33, 300}, {300, 5, 1}}
	var ws Workspace
	var probs []*problem
	for _, s := range shapes {
		probs = append(probs, newProblem(rng, rng.IntN(2) == 0, rng.IntN(2) == 0, s[0], s[1], s[2], 2, 1, 0.5))
	}
	for round := range 2 {
		for i, p := range probs {
			for _, th := range []int{1, 2} {
				want := append([]float32(nil), p.c0...)
				Gemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, want[p.cOff:], p.ldc, th)
				got := append([]float32(nil), p.c0...)
				ws.Gemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, got[p.cOff:], p.ldc, th)
				for j := range want {
					if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
						t.Fatalf("round %d shape %v threads %d: element %d is %v, Gemm gives %v", round, shapes[i], th, j, got[j], want[j])
					}
				}
			}
		}
	}
	if raceEnabled {
		return
	}
	outs := make([][]float32, len(probs))
	for i, p := range probs {
		outs[i] = append([]float32(nil), p.c0...)
	}
	allocs := testing.AllocsPerRun(3, func() {
		for i, p := range probs {
			ws.Gemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, outs[i][p.cOff:], p.ldc, 1)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per round of shapes with a warm Workspace, want 0", allocs)
	}
}
